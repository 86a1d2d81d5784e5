"""Execute notebooks with papermill, alone or as the runs of an experiment YAML file."""

from __future__ import annotations

import ast
import difflib
import hashlib
import itertools
import json
import math
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

from recsys_study.paths import project_root


class NotebookExecutionError(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""


def _kernel_manager(env: dict[str, str], cwd: Path, stop: threading.Event | None = None):
    """A kernel manager class that starts its kernel in ``cwd`` with ``env`` added to this process's environment.

    Both are given to the kernel alone, not set in ``os.environ`` or by ``os.chdir`` (papermill's
    ``cwd=`` changes the whole process's directory), so that notebooks run side by side (one
    thread each) get their own parent run ids and the right directory. With ``stop`` set, no
    kernel starts, and a kernel that started while ``stop`` was being set is shut down at once.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _Manager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            if stop is not None and stop.is_set():
                raise _Stopped()
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            kw["cwd"] = str(cwd)
            # the kernel's own log (its note that localhost TCP is not encrypted, once per notebook) is
            # not the study's: errors still print; a cell's warnings and output go to the notebook as ever
            kw["extra_arguments"] = [*(kw.get("extra_arguments") or []), "--IPKernelApp.log_level=ERROR"]
            await super().start_kernel(**kw)
            if stop is not None and stop.is_set():
                await self.shutdown_kernel(now=True)
                raise _Stopped()

    return _Manager


class _Stopped(RuntimeError):
    """The runner is being interrupted: no kernel may start any more."""


def execute_notebook(
    notebook: str | Path,
    output: str | Path,
    parameters: dict | None = None,
    *,
    env: dict[str, str] | None = None,
    progress: bool = False,
    stop: threading.Event | None = None,
) -> dict:
    """Execute ``notebook`` with papermill into ``output``; return its recorded results.

    The kernel runs with the project root as working directory and with ``env``
    added to its environment. On failure raises NotebookExecutionError naming the
    failing cell and its error; the partial output notebook is left at ``output``
    for inspection (the runner decides where that is). ``stop`` (set by an interrupted runner) keeps
    a kernel from starting.
    """
    import papermill as pm

    from recsys_study.notebook import read_records

    root = project_root()
    # inline figures whatever the caller's MPLBACKEND (an exported Agg would leave reports without plots)
    # no progress bars inside a kernel: they land in the executed notebook as stderr noise
    updates = {"OPENBLAS_NUM_THREADS": "1", "RECSYS_STUDY_ROOT": str(root), "RECSYS_STUDY_PROGRESS": "0",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline", **(env or {})}
    try:
        pm.execute_notebook(  # absolute paths, and no cwd= (an os.chdir): the kernel gets its directory
            str(Path(notebook).resolve()), str(Path(output).resolve()), parameters=parameters or {},
            progress_bar=progress, kernel_name="python3", log_output=False,
            kernel_manager_class=_kernel_manager(updates, root, stop),
        )
    except pm.PapermillExecutionError as err:
        raise NotebookExecutionError(
            f"{Path(notebook).name}: cell {err.exec_count} raised {err.ename}: {err.evalue}"
        ) from err
    return read_records(output)


# -- experiment YAML files ------------------------------------------------------------------------
TOP_KEYS = {"name", "description", "runs"}
RUN_KEYS = {"name", "notebook", "parameters", "grid", "quick", "headline", "expected_seconds"}
#: experiment and run names become file and folder names: letters, digits and ``_ . = + -``, no leading dot
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=+-]{0,99}")
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9_.+-]{1,40}")

#: types of parameters whose notebook default (None, or an expression) says nothing; written as annotations.
#: An annotation in the parameters cell (``sample_frac: float | None = None``) takes precedence.
PARAMETER_TYPES = {
    "sample_frac": "float | None",
    "relevance_threshold": "float | None",
}
#: admissible values of numeric parameters (every element, for a list of numbers), in interval notation.
#: A comment ``# range: [a, b)`` on the parameter's line in the parameters cell takes precedence.
PARAMETER_RANGES = {
    "seed": "[0, inf)",
    "sample_frac": "(0, 1]",
    "head_frac": "(0, 1)",
    "test_frac": "(0, 1)",
    "valid_frac": "(0, 1)",
    "k": "[1, inf)",
    "n_boot": "[1, inf)",
    "mc_boot": "[1, inf)",
    "replications": "[1, inf)",
    "recovery_n": "[2, inf)",
    "n": "[2, inf)",
    "sizes": "[2, inf)",
    "scale": "[2, inf)",
    "n_folds": "[2, inf)",
    "n_train_ratings": "[1, inf)",
    "n_min": "[0, inf)",
    "weight_step": "(0, 1]",
    "cut_points": "(0, 1)",
    "clv_months": "[1, inf)",
    "monthly_discount": "[0, 1)",
    "contact_cost": "[0, inf)",
    "retention_value": "[0, inf)",
    "offer_cost": "[0, inf)",
    "offer_value": "[0, inf)",
    "take_rate": "[0, 1]",
    "top_share": "(0, 1]",
    "smoothing": "[0, 1]",
    "seeds": "[0, inf)",
    "k_list": "[1, inf)",
    "tuning_budget": "[1, inf)",
    "n_customers": "[1, inf)",
    "rounds": "[1, inf)",
    "n_seeds": "[1, inf)",
    "refit_every": "[1, inf)",
    "survey_replications": "[1, inf)",
    "sensitivity_seeds": "[1, inf)",
}
#: parameters that name models: checked against a registry (strings and ``{algorithm: NAME}`` specs alike)
MODEL_PARAMETER = re.compile(r"(algorithms?|components|models)$")


class ExperimentSpecError(ValueError):
    """An experiment YAML file is malformed; raised before anything runs, naming the problem."""


class ExperimentBusyError(ExperimentSpecError):
    """Another process is running the same experiment (and the caller asked not to wait)."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while an experiment ran; ``signum`` says which (exit code 128 + signum)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


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


UNKNOWN_DEFAULT = object()  # a default that is not a literal (an expression): its type is not checked


@dataclass
class Declared:
    """A parameter of a notebook's ``parameters`` cell: its default, accepted types and range (if declared)."""

    default: object
    types: frozenset[str] | None = None   # names among int, float, str, bool, list, dict, None
    range: str | None = None


def _read_notebook(notebook: Path, where: str, label: str) -> dict:
    """Return the notebook's JSON (plain ``json``: nbformat's schema validator costs seconds to import)."""
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
        ok = isinstance(nb, dict) and isinstance(nb.get("cells"), list) and int(nb.get("nbformat", 0)) >= 4
    except (ValueError, TypeError, OSError):  # never quote the file back: it may not be a notebook at all
        ok = False
    if not ok:
        raise ExperimentSpecError(
            f"{where}: notebook {label!r} is not a readable Jupyter notebook (.ipynb JSON, format 4); "
            "point 'notebook' at a notebook saved by Jupyter."
        )
    return nb


def _annotation_types(node) -> frozenset[str] | None:
    """Return the type names an annotation admits (``float | None`` -> {float, None}); None if unknown."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        if node.value is None:
            return frozenset({"None"})
        if isinstance(node.value, str):
            try:
                return _annotation_types(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return None
        return None
    if isinstance(node, ast.Name):
        base = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list", "tuple": "list",
                "dict": "dict", "None": "None"}.get(node.id)
        return frozenset({base}) if base else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _annotation_types(node.left), _annotation_types(node.right)
        return left | right if left is not None and right is not None else None
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        if node.value.id in ("Optional", "Union"):
            parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            found = [_annotation_types(part) for part in parts]
            if any(f is None for f in found):
                return None
            out = frozenset().union(*found)
            return out | {"None"} if node.value.id == "Optional" else out
        return _annotation_types(node.value)
    return None


def _default_types(default) -> frozenset[str] | None:
    if default is UNKNOWN_DEFAULT or default is None:
        return None
    for python_type, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"),
                              ((list, tuple), "list"), (dict, "dict")):
        if isinstance(default, python_type):
            return frozenset({name})
    return None


_RANGE_COMMENT = re.compile(r"^(\w+)\s*(?::[^=]*)?=[^#]*#.*?\brange\s*[:=]?\s*([\[(][^\])]*[\])])")


def _notebook_declarations(nb, label: str) -> dict[str, Declared]:
    """Return ``{name: Declared}`` for the names assigned at top level in the cell tagged ``parameters``.

    Read with ``ast`` rather than papermill's line parser, which misses assignments whose
    comment holds an ``=`` or whose value spans several lines (a list of model specs).
    Defaults that are not literals map to ``UNKNOWN_DEFAULT``. Accepted types come from the
    annotation, else ``PARAMETER_TYPES``, else the default's type; ranges from a ``# range: [a, b]``
    comment, else ``PARAMETER_RANGES``.
    """
    cells = [c for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"
             and "parameters" in (c.get("metadata") or {}).get("tags", [])]
    if not cells:
        raise ExperimentSpecError(f"{label}: no cell tagged 'parameters'; papermill cannot inject parameters.")
    source = cells[0].get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    try:
        body = ast.parse(source).body
    except SyntaxError as err:
        raise ExperimentSpecError(f"{label}: the parameters cell is not valid Python ({err.msg}, line {err.lineno}).")
    comment_ranges = {}
    for line in source.splitlines():
        match = _RANGE_COMMENT.match(line)
        if match:
            comment_ranges[match.group(1)] = match.group(2)
    params: dict[str, Declared] = {}
    for node in body:
        annotation = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value, annotation = [node.target], node.value, node.annotation
        else:
            continue
        try:
            default = ast.literal_eval(value) if value is not None else UNKNOWN_DEFAULT
        except (ValueError, TypeError, SyntaxError):
            default = UNKNOWN_DEFAULT
        for target in targets:
            names = [leaf.id for leaf in ast.walk(target) if isinstance(leaf, ast.Name)]
            for name in names:
                own = default if len(names) == 1 else UNKNOWN_DEFAULT
                types = _annotation_types(annotation) if len(names) == 1 else None
                if types is None and name in PARAMETER_TYPES:
                    types = _annotation_types(ast.parse(PARAMETER_TYPES[name], mode="eval").body)
                if types is None:
                    types = _default_types(own)
                params[name] = Declared(own, types, comment_ranges.get(name, PARAMETER_RANGES.get(name)))
    return params


def _notebook_parameters(notebook: Path) -> dict:
    """Return ``{name: default}`` of a notebook's ``parameters`` cell (see ``_notebook_declarations``)."""
    nb = _read_notebook(Path(notebook), str(notebook), str(notebook))
    return {k: d.default for k, d in _notebook_declarations(nb, str(notebook)).items()}


def _value_types(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return type(value).__name__


_TYPE_WORDS = {"bool": "true/false", "int": "an integer", "float": "a number", "str": "a string",
               "list": "a list", "dict": "a mapping", "None": "null"}


def _type_mismatch(declared: Declared, value) -> str | None:
    """Return the expected type in words when ``value`` cannot stand for the parameter, else None."""
    types = declared.types
    if types is None:
        return None
    got = _value_types(value)
    if got in types or (got == "int" and "float" in types):
        return None
    order = ["bool", "int", "float", "str", "list", "dict", "None"]
    shown = [t for t in order if t in types and not (t == "int" and "float" in types)]
    return " or ".join(_TYPE_WORDS[t] for t in shown)


def _parse_range(text: str) -> tuple[float, float, bool, bool]:
    match = re.fullmatch(r"\s*([\[(])\s*([^,]+?)\s*,\s*([^\])]+?)\s*([\])])\s*", text)
    if not match:
        raise ValueError(f"range {text!r} is not in interval notation like [0, 1) or (0, inf)")
    lo, hi = float(match.group(2)), float(match.group(3))
    return lo, hi, match.group(1) == "(", match.group(4) == ")"


def _range_violation(declared: Declared, value) -> str | None:
    """Return the range text when ``value`` (or an element of a list of numbers) lies outside it."""
    if declared.range is None:
        return None
    lo, hi, lo_open, hi_open = _parse_range(declared.range)
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if math.isnan(v) or (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi):
            return declared.range
    return None


def _model_names(value) -> list:
    """Return the model names a value holds: a string, a spec ``{algorithm: NAME}`` or a list of them."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return [item.get("algorithm") if isinstance(item, dict) else item for item in items]


def _holds_specs(value) -> bool:
    items = value if isinstance(value, (list, tuple)) else [value]
    return any(isinstance(item, dict) and "algorithm" in item for item in items)


def _registries() -> dict[str, list[str]]:
    from recsys_study.recommenders import registry

    return {"recommender": registry.available()}


def _churn_models() -> list[str]:
    from recsys_study.loyalty.churn import MODELS

    return list(MODELS)


def _check_models(where: str, label: str, name: str, value, declared: Declared, notebook: str) -> None:
    """Check the model names of a model parameter against the registry its notebook default draws from."""
    if not (MODEL_PARAMETER.search(name) or _holds_specs(value) or _holds_specs(declared.default)):
        return
    default = declared.default
    default_names = [] if default in (None, UNKNOWN_DEFAULT) else _model_names(default)
    default_names = [n for n in default_names if isinstance(n, str)]
    vocabularies = _registries()
    recommenders = set(vocabularies["recommender"])
    if default_names and not set(default_names) <= recommenders:
        churn = _churn_models()
        if set(default_names) <= set(churn):
            vocabularies = {"churn model": churn}
        elif len(recommenders & set(default_names)) * 2 >= len(set(default_names)):
            # mostly registry names plus a few the notebook adds itself (an "oracle" baseline): accept both
            vocabularies = {"recommender": sorted(recommenders | set(default_names))}
        else:
            return  # a vocabulary we do not know (the notebook checks it)
    kind, known = next(iter(vocabularies.items()))
    default_specs = isinstance(default, (list, tuple)) and default and all(isinstance(d, dict) for d in default)
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if isinstance(item, dict):
            model = item.get("algorithm")
            if not isinstance(model, str):
                raise ExperimentSpecError(
                    f"{where}: {label} has a model spec without an 'algorithm' name: {item!r}; "
                    "write {algorithm: NAME, params: {...}}.")
            if "params" in item and not isinstance(item["params"], dict):
                raise ExperimentSpecError(
                    f"{where}: {label}: 'params' of {model!r} must be a mapping of hyperparameters, "
                    f"got {item['params']!r}.")
        elif isinstance(item, str):
            model = item
        else:
            raise ExperimentSpecError(
                f"{where}: {label} holds {item!r}; a model is named by a string or {{algorithm: NAME}}.")
        if model not in known:
            close = difflib.get_close_matches(model, known, n=3)
            hint = f" Did you mean {close}?" if close else ""
            raise ExperimentSpecError(
                f"{where}: {label}: unknown {kind} {model!r}.{hint} Known: {', '.join(sorted(known))}.")
        if isinstance(item, str) and default_specs:
            raise ExperimentSpecError(
                f"{where}: {label}: {notebook} expects model specs here; write {{algorithm: {model}}} "
                f"instead of {model!r}.")


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
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise ExperimentSpecError(f"{where}: {key!r} names must be strings, got {bad!r}.")
    return dict(value)


def load_experiment(path: str | Path, *, quick: bool = False) -> Experiment:
    """Read and validate an experiment YAML file; return it with its grid expanded.

    Rejected before anything runs, with a message naming the fault: YAML syntax errors,
    unknown keys, wrong shapes (a list where a mapping belongs), unsafe experiment or run
    names, a notebook outside the repository, missing, or not a parsable ``.ipynb``, a
    parameter (or grid key) not in the notebook's ``parameters`` cell, a value of the wrong
    type or outside its declared range, an unknown model name, duplicate run names, an
    empty grid axis. Grid values that are not safe in a file name appear in run names as a
    slug and a short hash; the run's parameters keep the full value.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ExperimentSpecError(f"{path}: no such experiment file; `recsys-study list` shows the available ones.")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ExperimentSpecError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(spec, dict):
        raise ExperimentSpecError(f"{path}: the top level must be a mapping with keys {sorted(TOP_KEYS)}.")
    unknown = set(spec) - TOP_KEYS
    if unknown:
        raise ExperimentSpecError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}.")
    if not spec.get("name") or not isinstance(spec.get("runs"), list) or not spec["runs"]:
        raise ExperimentSpecError(f"{path}: needs a 'name' and a non-empty list 'runs'.")
    exp_name = _check_name(str(path), "experiment name", spec["name"])
    if not isinstance(spec.get("description", ""), str):
        raise ExperimentSpecError(f"{path}: 'description' must be a string.")
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
            notebooks[notebook] = _notebook_declarations(_read_notebook(notebook, where, label), label)
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
        for item_label, name, value in candidates:
            d = declared[name]
            expected = _type_mismatch(d, value)
            if expected:
                like = f"like its default {d.default!r}" if d.default not in (None, UNKNOWN_DEFAULT) else "as declared"
                raise ExperimentSpecError(
                    f"{where}: {item_label} = {value!r} should be {expected}, {like} in {label}."
                )
            outside = _range_violation(d, value)
            if outside:
                raise ExperimentSpecError(
                    f"{where}: {item_label} = {value!r} is outside its range {outside}; pick a value inside it.")
            _check_models(where, item_label, name, value, d, label)
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
    names = [r.name for r in runs]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ExperimentSpecError(f"{path}: duplicate run name(s) {dups}; give each run its own name.")
    too_long = [n for n in names if len(n) > 200]
    if too_long:
        raise ExperimentSpecError(f"{path}: run name(s) {too_long} are too long for a file name; shorten the grid.")
    return Experiment(name=exp_name, description=str(spec.get("description", "")), path=path, runs=runs)


@dataclass
class RunResult:
    """What one notebook execution produced."""

    name: str
    notebook: str
    output: str
    status: str  # "ok" or "failed"
    seconds: float
    parameters: dict
    records: dict = field(default_factory=dict)
    headline: list[str] = field(default_factory=list)
    error: str | None = None
    run_id: str | None = None


# -- faults: signals, locks, the commit point -----------------------------------------------------
class _Signals:
    """What ``_interrupts`` saw: ``fired`` (signal numbers, at most one); with ``defer`` set the handler
    does not raise, and the code that set it raises ``Interrupted(fired[0])`` where it is safe to."""

    def __init__(self):
        self.fired: list[int] = []
        self.defer = False


@contextmanager
def _interrupts(stop: threading.Event | None = None):
    """Turn SIGINT and SIGTERM into ``Interrupted`` (once: a second signal during clean-up is ignored).

    ``stop`` is set before the kernels are killed, so that no notebook thread starts a new one.
    While the notebook threads run (``defer``), the handler only records the signal: raised at an
    arbitrary point of the main thread, it could leave a lock of ``concurrent.futures`` held that
    a worker then waits on forever; the runner's loop raises instead, between two waits.
    """
    signals = _Signals()
    if threading.current_thread() is not threading.main_thread():
        yield signals
        return

    def handler(signum, frame):
        if signals.fired:
            return
        signals.fired.append(signum)
        if stop is not None:
            stop.set()
        _stop_descendants()  # first, before any clean-up code gets to talk to the kernel
        if not signals.defer:
            raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield signals
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def _signals_deferred():
    """Hold SIGINT and SIGTERM until the block ends (the renames of a commit happen all or not at all)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def experiment_lock(out_dir: Path, name: str, *, wait: bool = True):
    """Hold ``<out_dir>/.lock`` (fcntl) so that one process at a time runs experiment ``name``.

    A second process waits for the first (saying so on stderr), or with ``wait=False`` raises
    ExperimentBusyError.
    """
    import fcntl

    out_dir.mkdir(parents=True, exist_ok=True)
    lock_path = out_dir / ".lock"
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if not wait:
                raise ExperimentBusyError(
                    f"experiment {name!r} is already running ({holder}, lock {lock_path}); wait for it to "
                    "finish or run without --no-wait to queue behind it.") from None
            print(f"experiment {name!r} is already running ({holder}); waiting for it to finish...",
                  file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale(out_dir: Path) -> None:
    """Remove what an earlier, killed runner left behind (called under the experiment lock)."""
    import shutil

    for stale in out_dir.glob(".staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out_dir.glob(".*.running.ipynb"):
        stale.unlink(missing_ok=True)
    for stale in out_dir.glob(".*.tmp"):  # files written aside by a commit that never happened
        stale.unlink(missing_ok=True)


def _stop_descendants(timeout: float = 3.0) -> None:
    """Kill the processes this runner started (notebook kernels and what they started, e.g. a Spark JVM).

    SIGKILL rather than SIGTERM: a kernel answers SIGTERM by printing a traceback of the cell it was in,
    and the runs it had opened are ended by the runner anyway.
    """
    import psutil

    try:
        procs = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=timeout)


def _kill_runs(experiment: str, token: str) -> None:
    """Mark KILLED the parent runs this runner opened (tag ``runner``) and their children that still run."""
    from recsys_study import tracking

    parents = tracking.search_runs(experiment, filter_string=f"tags.runner = '{token}'")
    client = tracking._mlflow().MlflowClient()
    for run_id, status in zip(parents.get("run_id", []), parents.get("status", [])):
        tracking.end_running_children(run_id, status="KILLED")
        if status == "RUNNING":
            client.set_terminated(run_id, status="KILLED")


def _manifest(out_dir: Path, experiment: Experiment, results: list[RunResult]) -> dict:
    """Return ``results.json``'s content: the earlier runs of the experiment with ``results`` merged in.

    Runs are listed in the experiment file's order (whatever order they finished in), then
    earlier runs that are no longer in the file.
    """
    manifest_path = out_dir / "results.json"
    previous = {}
    if manifest_path.exists():
        try:
            previous = {r["name"]: r for r in json.loads(manifest_path.read_text())["runs"]}
        except (ValueError, KeyError, TypeError):
            previous = {}
    for r in results:
        previous[r.name] = asdict(r)
    position = {r.name: i for i, r in enumerate(experiment.runs)}
    ordered = sorted(previous.values(), key=lambda r: position.get(r["name"], len(position)))
    return {"experiment": experiment.name, "description": experiment.description,
            "file": str(experiment.path), "runs": ordered}


def _commit(out_dir: Path, reports_dir: Path, experiment: Experiment, result: RunResult,
            staged: dict[Path, Path], *, drop: tuple[Path, ...] = (), report: bool = True) -> None:
    """The one commit point of a run: notebook, its HTML, ``results.json`` and the index change together.

    Everything is written aside first (``staged``: final path -> written file); the renames
    then run with SIGINT/SIGTERM held, so an interrupt lands before or after all of them.
    """
    from recsys_study import reports

    moves = list(staged.items())
    try:
        manifest = _manifest(out_dir, experiment, [result])
        moves.append((out_dir / "results.json",
                      reports.write_aside(out_dir / "results.json", json.dumps(manifest, indent=2, default=str))))
        with reports.index_lock(reports_dir) if report else nullcontext():
            if report:
                manifests = reports.read_manifests(reports_dir)
                manifests[experiment.name] = manifest
                index = reports_dir / "index.html"
                page = reports.index_page(reports_dir, manifests, pending={result.output})
                moves.append((index, reports.write_aside(index, page)))
            with _signals_deferred():
                for final, written in moves:
                    os.replace(written, final)
                for path in drop:
                    path.unlink(missing_ok=True)
    except BaseException:
        for _, written in moves:
            written.unlink(missing_ok=True)
        raise


def default_jobs(n_runs: int) -> int:
    """How many notebooks run side by side by default: one per available core, at most 4 and ``n_runs``."""
    from recsys_study.recommenders.threads import n_threads

    return max(1, min(n_threads(), 4, n_runs))


def _longest_first(runs: list[RunSpec], out_dir: Path) -> list[RunSpec]:
    """``runs`` ordered longest first: by the last recorded duration, else the file's ``expected_seconds``.

    Runs with neither come first, in file order. Starting the long notebooks first shortens the
    whole when several run side by side; the order changes nothing else (every notebook has its
    own seeds and its own runs).
    """
    seconds = {r.name: r.expected_seconds for r in runs if r.expected_seconds is not None}
    try:
        for r in json.loads((out_dir / "results.json").read_text())["runs"]:
            if r.get("status") == "ok":
                seconds[r["name"]] = float(r["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return sorted(runs, key=lambda r: -seconds.get(r.name, math.inf))


def run_experiment(experiment: Experiment, *, only: list[str] | None = None, reports_dir: Path | None = None,
                   progress: bool = True, report: bool = True, wait: bool = True,
                   jobs: int | None = None) -> list[RunResult]:
    """Execute every run of ``experiment`` (or those named in ``only``); return their results.

    Before any notebook starts the tracking store is checked (``tracking.check_store``) and a
    per-experiment lock is taken (a second runner of the same experiment waits, or with
    ``wait=False`` is refused). Up to ``jobs`` notebooks (default ``default_jobs``: one per core,
    at most 4) execute side by side, each in its own kernel, the longest (by the last recorded
    time) first; results come back in the file's order. Each notebook executes into a private
    staging folder; after it ends, its ``.ipynb`` (``<run>.failed.ipynb`` when it failed), its
    HTML, ``results.json`` and, with ``report``, ``reports/index.html`` are renamed into place
    together (one commit at a time), so the reports on disk always match the manifest and the
    index; a failure never replaces a good report. A failing notebook does not stop the others;
    its MLflow runs end FAILED. Each execution is a parent MLflow run (params, recorded scalars
    as metrics, the notebook as an artifact); runs opened inside the notebook are its children
    and get the notebook too.

    On SIGINT or SIGTERM the running kernels are stopped and no new one starts, their parent and
    child runs are marked KILLED, staging files are removed, earlier reports are kept, and
    ``Interrupted`` is raised. A fault of the runner itself (not of a notebook: a full disk while
    committing, say) stops the other notebooks the same way and is raised.
    """
    import shutil
    import tempfile
    import uuid
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait as wait_for

    from tqdm.auto import tqdm

    from recsys_study import tracking

    runs = experiment.runs
    if only:
        unknown = [n for n in only if not any(r.name == n or r.name.startswith(f"{n}__") for r in runs)]
        if unknown:
            raise ExperimentSpecError(
                f"--only {unknown}: no such run in {experiment.path}; runs are {[r.name for r in runs]}."
            )
        runs = [r for r in runs if any(r.name == n or r.name.startswith(f"{n}__") for n in only)]
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ExperimentSpecError(f"jobs={jobs!r}: the number of notebooks run side by side is a whole number >= 1.")
    jobs = jobs or default_jobs(len(runs))
    reports_dir = Path(reports_dir or project_root() / "reports")
    out_dir = reports_dir / "runs" / experiment.name
    if not out_dir.resolve().is_relative_to(reports_dir.resolve()):  # load_experiment already refuses such names
        raise ExperimentSpecError(f"experiment name {experiment.name!r} would write outside {reports_dir}.")
    tracking.check_store()
    token = uuid.uuid4().hex
    stop = threading.Event()
    done: dict[str, RunResult] = {}
    import nbclient  # noqa: F401  (imported here, once, rather than by several notebook threads at once)
    import papermill  # noqa: F401

    with _interrupts(stop) as signals, experiment_lock(out_dir, experiment.name, wait=wait):
        _remove_stale(out_dir)
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=out_dir))
        commit_lock = threading.Lock()
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook")
        bar = tqdm(total=len(runs), desc=experiment.name, unit="notebook", disable=not progress)
        signals.defer = True  # from here a signal is raised by the loop below, between two waits
        try:
            pending = {pool.submit(_run_one, run, experiment, out_dir, reports_dir, staging, token,
                                   report=report, stop=stop, commit_lock=commit_lock): run
                       for run in _longest_first(runs, out_dir)}
            shown = None
            while pending:
                running = ", ".join(sorted(r.name for f, r in pending.items() if f.running()))[:70]
                if running != shown:  # a redraw per change, not per second (logs of `make run` stay short)
                    bar.set_postfix_str(running)
                    shown = running
                finished, _ = wait_for(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                if signals.fired:
                    raise Interrupted(signals.fired[0])
                for future in finished:
                    run = pending.pop(future)
                    done[run.name] = result = future.result()
                    bar.update()
                    if result.error:
                        tqdm.write(f"FAILED {experiment.name}/{run.name}: {result.error}")
        except BaseException as err:  # an interrupt, or a fault of the runner itself (not of a notebook)
            stop.set()
            with _signals_deferred():
                _stop_descendants()
                pool.shutdown(wait=True, cancel_futures=True)  # their kernels are dead: the threads end now
                try:
                    _kill_runs(experiment.name, token)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
            if not isinstance(err, KeyboardInterrupt):
                raise
            raise Interrupted(signals.fired[0] if signals.fired else getattr(err, "signum", signal.SIGINT)) from None
        finally:
            bar.close()
            pool.shutdown(wait=True)
        signals.defer = False
        shutil.rmtree(staging, ignore_errors=True)
        if signals.fired:  # it came after the last notebook ended: everything is committed, say so all the same
            raise Interrupted(signals.fired[0])
    return [done[run.name] for run in runs]


class _NotebookFailed(Exception):
    """Raised inside the parent run so that it ends FAILED."""


def _run_one(run: RunSpec, experiment: Experiment, out_dir: Path, reports_dir: Path, staging: Path,
             token: str, *, report: bool, stop: threading.Event, commit_lock: threading.Lock) -> RunResult:
    from recsys_study import reports, tracking

    if stop.is_set():
        raise Interrupted(signal.SIGINT)
    final = out_dir / f"{run.name}.ipynb"
    failed = out_dir / f"{run.name}.failed.ipynb"
    tmp = staging / f"{run.name}.ipynb"
    start = time.perf_counter()
    records, error, run_id = {}, None, None
    try:
        with tracking.start_run(run.name, experiment=experiment.name, params=run.parameters,
                                tags={"notebook": str(run.notebook.name), "kind": "notebook",
                                      "runner": token}) as parent:
            run_id = parent.info.run_id
            env = {tracking.ENV_PARENT: run_id, tracking.ENV_EXPERIMENT: experiment.name,
                   tracking.ENV_NOTEBOOK: str(run.notebook.name)}
            try:
                records = execute_notebook(run.notebook, tmp, run.parameters, env=env, stop=stop)
            except Exception as err:  # the other runs go on; the error is reported
                if stop.is_set():  # the runner is interrupted: the kernel was killed, this is no result
                    raise Interrupted(signal.SIGINT) from None
                error = str(err) if isinstance(err, NotebookExecutionError) else f"{type(err).__name__}: {err}"
                records = {}
                if tmp.exists():
                    tmp = tmp.replace(staging / failed.name)
            numeric = {k: v for k, v in records.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if numeric:
                tracking.log_metrics(numeric)
            if tmp.exists():
                _attach_notebook(tmp, run_id, experiment.name)
            tracking.set_tag("status", "failed" if error else "ok")
            if error:
                raise _NotebookFailed(error)
    except _NotebookFailed:
        pass
    kept = failed if error else final
    staged = {}
    if tmp.exists():
        staged[kept] = tmp
        html = reports.write_aside(kept.with_suffix(".html"), reports.render_notebook(tmp))
        staged[kept.with_suffix(".html")] = html
    result = RunResult(
        name=run.name, notebook=str(run.notebook.relative_to(project_root()))
        if run.notebook.is_relative_to(project_root()) else str(run.notebook),
        output=str(kept.relative_to(reports_dir)) if (kept in staged or kept.exists()) else "",
        status="failed" if error else "ok", seconds=round(time.perf_counter() - start, 2),
        parameters=run.parameters, records=records, headline=run.headline, error=error, run_id=run_id,
    )
    drop = () if error else (failed, failed.with_suffix(".html"))
    # a run that ended before an interrupt (its kernel was not killed mid-notebook: it ran to its end or
    # to its own error) is complete and its MLflow run already ended: it is committed like any other
    with commit_lock:
        _commit(out_dir, reports_dir, experiment, result, staged, drop=drop, report=report)
    return result


def _attach_notebook(path: Path, parent_id: str, experiment: str) -> None:
    from recsys_study import tracking

    tracking.log_artifact(path, run_id=parent_id, artifact_path="notebook")
    children = tracking.search_runs(experiment, filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")
    for child in children.get("run_id", []):
        tracking.log_artifact(path, run_id=child, artifact_path="notebook")


def list_experiments(directory: Path | None = None) -> list[Experiment]:
    """Return every parsable experiment under ``experiments/`` (errors propagate with the file's name)."""
    directory = Path(directory or project_root() / "experiments")
    return [load_experiment(p) for p in sorted(directory.glob("*.yaml"))]
