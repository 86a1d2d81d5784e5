"""An experiment file: read with bounds, checked whole against its notebooks, expanded into runs.

Everything here happens before anything runs; every fault raises ``ExperimentSpecError`` with one
line naming the file, the place and the fix.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from recsys_study.paths import project_root
from recsys_study.runner.errors import ExperimentSpecError
from recsys_study.runner.parameters import (
    UNKNOWN_DEFAULT, Declared, check_models, notebook_declarations, range_violation, read_notebook, type_mismatch,
)

TOP_KEYS = {"name", "description", "runs"}
RUN_KEYS = {"name", "notebook", "parameters", "grid", "quick", "headline", "expected_seconds"}
#: experiment and run names become file and folder names: letters, digits and ``_ . = + -``, no leading dot
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=+-]{0,99}")
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9_.+-]{1,40}")
#: a failed attempt of run ``a`` is kept as ``a.failed.ipynb``: no run may be named so
FAILED_SUFFIX = ".failed"

#: bounds of what the reader accepts, checked before anything is expanded
MAX_FILE_BYTES = 64 * 1024
MAX_DEPTH = 16
DEFAULT_MAX_RUNS = 1000


@dataclass
class RunSpec:
    """One notebook execution of an experiment, after grid expansion."""

    name: str
    notebook: Path
    parameters: dict
    headline: list[str] = field(default_factory=list)
    #: about how long the run takes (the file's hint, used to start the longest first until a run was timed)
    expected_seconds: float | None = None


@dataclass
class Experiment:
    """A parsed, validated experiment file."""

    name: str
    description: str
    path: Path
    runs: list[RunSpec]


def _check_events(text: str, loader) -> None:
    """Refuse aliases (a "billion laughs" expands them) and nesting deeper than ``MAX_DEPTH``, reading the
    parser's events before anything is composed or constructed."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            raise ExperimentSpecError(f"line {event.start_mark.line + 1}: an alias (*{event.anchor}) repeats an "
                                      "anchored value; aliases are not accepted, write the values out.")
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ExperimentSpecError(f"line {event.start_mark.line + 1}: nested deeper than {MAX_DEPTH} "
                                          "levels; an experiment file needs a few.")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def read_yaml(path: Path):
    """Return the YAML document at ``path``, within the reader's bounds (size, aliases, depth), or raise."""
    import yaml

    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ExperimentSpecError(f"{path}: {size:,} bytes is more than an experiment file may hold "
                                  f"({MAX_FILE_BYTES:,}); split it into several files.")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: a second at most
    try:
        text = path.read_text(encoding="utf-8")
        _check_events(text, loader)
        return yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    except ExperimentSpecError as err:
        raise ExperimentSpecError(f"{path}: {err}") from None
    except UnicodeDecodeError:
        raise ExperimentSpecError(f"{path}: not valid YAML: the file is not UTF-8 text.") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = " ".join(str(getattr(err, "problem", None) or err).split())
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ExperimentSpecError(f"{path}: not valid YAML{where}: {problem}.") from None


def _check_plain(path: Path, value, where: str = "") -> None:
    """Refuse keys that are not strings and values that are not plain data (bounded by ``MAX_DEPTH``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                place = f" in {where}" if where else " at the top level"
                raise ExperimentSpecError(
                    f"{path}: key {key!r}{place} is {type(key).__name__}, not a string; "
                    f"quote it ('{key}':) or rename it.")
            _check_plain(path, item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_plain(path, item, f"{where}[{i}]")
    elif not isinstance(value, (str, int, float, bool, type(None))):
        raise ExperimentSpecError(f"{path}: {where} = {str(value)[:40]!r} is a {type(value).__name__}; "
                                  "write it as a quoted string or a number.")


def _count_runs(runs: list) -> int:
    """Return how many runs ``runs`` expand to (grids multiplied out), without expanding them."""
    total = 0
    for run in runs:
        grid = run.get("grid") if isinstance(run, dict) else None
        axes = [len(v) for v in grid.values() if isinstance(v, list)] if isinstance(grid, dict) else []
        total += math.prod(axes)
    return total


def _value_token(value) -> str:
    """Return a file-name-safe token for a grid value: itself when safe, else a slug and a short hash."""
    text = str(value)
    if _SAFE_TOKEN.fullmatch(text) and not text.startswith("."):
        return text
    slug = re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-.")[:24].strip("-.")
    digest = hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else digest


def _check_name(where: str, what: str, value) -> str:
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value) or ".." in value:
        raise ExperimentSpecError(
            f"{where}: {what} {value!r} is not a safe file name; use letters, digits and _ . = + - "
            "(no '/', no '..', no leading dot, at most 100 characters)."
        )
    return value


def _resolve_notebook(where: str, raw, root: Path) -> Path:
    """Return the notebook path of a run, confined to the repository, or raise naming the fault."""
    if not isinstance(raw, str) or not raw.strip():
        raise ExperimentSpecError(
            f"{where}: 'notebook' must be a path string like notebooks/00_data_exploration.ipynb, got {raw!r}.")
    candidate = Path(raw) if Path(raw).is_absolute() else root / raw
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ExperimentSpecError(
            f"{where}: notebook {raw!r} is outside the repository {root}; notebooks must live inside it "
            "(e.g. notebooks/NAME.ipynb).")
    if resolved.suffix != ".ipynb":
        raise ExperimentSpecError(f"{where}: notebook {raw!r} is not a .ipynb file; name a Jupyter notebook.")
    if not resolved.is_file():
        raise ExperimentSpecError(f"{where}: notebook {raw!r} does not exist (looked at {resolved}).")
    return resolved


def _mapping(where: str, run: dict, key: str, example: str) -> dict:
    value = run.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ExperimentSpecError(
            f"{where}: {key!r} must be a mapping like {example}, got {type(value).__name__} {value!r}.")
    return dict(value)


def _check_values(where: str, label: str, declared: dict[str, Declared], candidates) -> None:
    for item_label, name, value in candidates:
        d = declared[name]
        expected = type_mismatch(d, value)
        if expected:
            like = f"like its default {d.default!r}" if d.default not in (None, UNKNOWN_DEFAULT) else "as declared"
            raise ExperimentSpecError(f"{where}: {item_label} = {value!r} should be {expected}, {like} in {label}.")
        outside = range_violation(d, value)
        if outside:
            raise ExperimentSpecError(
                f"{where}: {item_label} = {value!r} is outside its range {outside}; pick a value inside it.")
        check_models(where, item_label, name, value, d, label)


def load_experiment(path: str | Path, *, quick: bool = False, max_runs: int = DEFAULT_MAX_RUNS) -> Experiment:
    """Read and validate an experiment YAML file; return it with its grid expanded.

    Bounded before anything is expanded: the file's size (``MAX_FILE_BYTES``), no YAML aliases, nesting
    at most ``MAX_DEPTH``, string keys, plain values, at most ``max_runs`` runs once grids are multiplied
    out. Then rejected with a message naming the fault: unknown keys, wrong shapes (a list where a
    mapping belongs), unsafe experiment or run names (or a run name ending in ``.failed``, the suffix
    of failed attempts), a notebook outside the repository, missing, or not valid against the nbformat
    schema, a parameter (or grid key) not in the notebook's ``parameters`` cell, a value of the wrong type
    or outside its declared range, an unknown model name, duplicate run names, an empty grid axis. Grid
    values that are not safe in a file name appear in run names as a slug and a short hash; the run's
    parameters keep the full value.
    """
    path = Path(path)
    if not path.is_file():
        raise ExperimentSpecError(f"{path}: no such experiment file; `recsys-study list` shows the available ones.")
    spec = read_yaml(path)
    if not isinstance(spec, dict):
        raise ExperimentSpecError(f"{path}: the top level must be a mapping with keys {sorted(TOP_KEYS)}.")
    _check_plain(path, spec)
    unknown = set(spec) - TOP_KEYS
    if unknown:
        raise ExperimentSpecError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}.")
    if not spec.get("name") or not isinstance(spec.get("runs"), list) or not spec["runs"]:
        raise ExperimentSpecError(f"{path}: needs a 'name' and a non-empty list 'runs'.")
    exp_name = _check_name(str(path), "experiment name", spec["name"])
    if not isinstance(spec.get("description", ""), str):
        raise ExperimentSpecError(f"{path}: 'description' must be a string.")
    n_runs = _count_runs(spec["runs"])
    if n_runs > max_runs:
        raise ExperimentSpecError(f"{path}: the runs and grids expand to {n_runs:,} runs, more than the limit of "
                                  f"{max_runs:,}; shorten the grid or raise the limit with --max-runs.")
    root = project_root()
    notebooks: dict[Path, dict[str, Declared]] = {}
    runs: list[RunSpec] = []
    for i, run in enumerate(spec["runs"]):
        where = f"{path}: runs[{i}]"
        if not isinstance(run, dict):
            raise ExperimentSpecError(f"{where}: each run must be a mapping with keys {sorted(RUN_KEYS)}.")
        where = f"{path}: run {run.get('name', i)!r}"
        unknown = set(run) - RUN_KEYS
        if unknown:
            raise ExperimentSpecError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(RUN_KEYS)}.")
        for key in ("name", "notebook"):
            if run.get(key) in (None, ""):
                raise ExperimentSpecError(f"{where}: missing required key {key!r}.")
        run_name = _check_name(where, "run name", run["name"])
        notebook = _resolve_notebook(where, run["notebook"], root)
        label = run["notebook"]
        if notebook not in notebooks:
            notebooks[notebook] = notebook_declarations(read_notebook(notebook, where, label), label)
        declared = notebooks[notebook]
        params = _mapping(where, run, "parameters", "{seed: 42, k: 10}")
        grid = _mapping(where, run, "grid", "{seed: [1, 2]}")
        quick_params = _mapping(where, run, "quick", "{sample_frac: 0.2}")
        headline = run.get("headline") or []
        if not isinstance(headline, list) or not all(isinstance(h, str) for h in headline):
            raise ExperimentSpecError(f"{where}: 'headline' must be a list of recorded names, got {headline!r}.")
        hint = run.get("expected_seconds")
        if hint is not None and (isinstance(hint, bool) or not isinstance(hint, (int, float))
                                 or not 0 <= hint < math.inf):
            raise ExperimentSpecError(
                f"{where}: 'expected_seconds' must be a number of seconds >= 0 (a scheduling hint), got {hint!r}.")
        for section, names in (("parameters", params), ("grid", grid), ("quick", quick_params)):
            bad = [p for p in names if p not in declared]
            if bad:
                raise ExperimentSpecError(
                    f"{where}: {section} name(s) {bad} are not in the parameters cell of {label}; "
                    f"its parameters are {sorted(declared)}."
                )
        for axis, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ExperimentSpecError(f"{where}: grid axis {axis!r} must be a non-empty list, got {values!r}.")
        candidates = [(f"{section}.{k}", k, v) for section, values in (("parameters", params), ("quick", quick_params))
                      for k, v in values.items()]
        candidates += [(f"grid.{k}", k, v) for k, values in grid.items() for v in values]
        _check_values(where, label, declared, candidates)
        if quick:
            params.update(quick_params)
            if "quick" in declared:
                params["quick"] = True
        for combo in itertools.product(*grid.values()) if grid else [()]:
            values = dict(zip(grid, combo))
            suffix = "".join(f"__{k}={_value_token(v)}" for k, v in values.items())
            runs.append(RunSpec(name=f"{run_name}{suffix}", notebook=notebook,
                                parameters={**params, **values}, headline=list(headline),
                                expected_seconds=None if hint is None else float(hint)))
    _check_run_names(path, [r.name for r in runs])
    return Experiment(name=exp_name, description=str(spec.get("description", "")), path=path, runs=runs)


def _check_run_names(path: Path, names: list[str]) -> None:
    """Refuse duplicate names, names whose files would be another run's, and names too long for a file."""
    dups = sorted(n for n, count in Counter(names).items() if count > 1)
    if dups:
        raise ExperimentSpecError(f"{path}: duplicate run name(s) {dups[:10]}; give each run its own name.")
    reserved = [n for n in names if n.lower().endswith(FAILED_SUFFIX)]
    if reserved:
        raise ExperimentSpecError(
            f"{path}: run name(s) {reserved[:10]} end in {FAILED_SUFFIX!r}, the suffix the runner gives a failed "
            f"attempt ({reserved[0]}.ipynb would be run {reserved[0][:-len(FAILED_SUFFIX)]!r}'s); rename them.")
    too_long = [n for n in names if len(n) > 200]
    if too_long:
        raise ExperimentSpecError(f"{path}: run name(s) {too_long[:3]} are too long for a file name; shorten the grid.")


def list_experiments(directory: Path | None = None) -> list[Experiment]:
    """Return every parsable experiment under ``experiments/`` (errors propagate with the file's name)."""
    directory = Path(directory or project_root() / "experiments")
    return [load_experiment(p) for p in sorted(directory.glob("*.yaml"))]
