"""Write environment.yml from requirements.lock so conda users get the same pins."""

from pathlib import Path

root = Path(__file__).resolve().parents[1]
pins = [line.strip() for line in (root / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")]
lines = [
    "# Generated from requirements.lock by tools/write_environment_yml.py (make lock); do not edit by hand.",
    "name: recsys-study",
    "channels:",
    "  - conda-forge",
    "dependencies:",
    "  - python=3.11",
    "  - pip",
    "  - pip:",
    *[f"      - {pin}" for pin in pins],
    "      - -e .",
]
(root / "environment.yml").write_text("\n".join(lines) + "\n")
