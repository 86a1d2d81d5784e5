"""Run a peer library's side of a benchmark in the peer's own venv: the one way every peer script starts it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_peer(python: Path, script: Path, args: list[str], *, make_target: str, why: str = "",
             extra_path: Path | None = None, echo: bool = True) -> None:
    """Run ``python script args…`` from the project root, one BLAS/OpenMP thread, none of our PYTHONPATH.

    ``python`` is the peer venv's interpreter; when it is missing, stop with the ``make`` target that
    creates it (``why``: why the peer cannot live in .venv). ``extra_path`` becomes the peer's only
    PYTHONPATH (e.g. an older release of a package unpacked beside its venv). A failing peer raises
    ``CalledProcessError`` with its exit code; its own output goes to the terminal.
    """
    python = Path(python)
    if not python.exists():
        raise SystemExit(f"The peer venv is missing ({python} not found). Create it with `make {make_target}`"
                         + (f" ({why})" if why else "") + ".")
    env = {**os.environ, **ONE_THREAD}
    env.pop("PYTHONPATH", None)  # nothing of our venv may leak into the peer's
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    cmd = [str(python), str(script), *map(str, args)]
    if echo:
        print("$", " ".join(cmd[:2]), "...", flush=True)
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)
