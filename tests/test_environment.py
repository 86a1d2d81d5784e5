"""The pins: environment.yml mirrors requirements.lock, and the lock covers pyproject's dependencies."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.strip().split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_environment_yml_mirrors_the_lock():
    text = (ROOT / "environment.yml").read_text()
    conda = dict(re.findall(r"^\s+- ([A-Za-z0-9_.\-]+)==(\S+)$", text, flags=re.M))
    conda = {k.lower().replace("_", "-"): v for k, v in conda.items()}
    assert conda == _lock()
    assert "python=3.11" in text


def test_every_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = list(project["dependencies"]) + extras["test"] + extras["lab"]  # what `make setup` installs
    names = {re.split(r"[<>=\[ ]", d)[0].lower().replace("_", "-") for d in wanted}
    missing = sorted(n for n in names if n not in _lock())
    assert not missing, f"add to requirements.lock with `make lock`: {missing}"
