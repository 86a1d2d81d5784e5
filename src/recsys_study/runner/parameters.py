"""A notebook's ``parameters`` cell: what it declares (default, types, range) and whether a value fits."""

from __future__ import annotations

import ast
import difflib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from recsys_study.runner.errors import ExperimentSpecError


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

UNKNOWN_DEFAULT = object()  # a default that is not a literal (an expression): its type is not checked


@dataclass
class Declared:
    """A parameter of a notebook's ``parameters`` cell: its default, accepted types and range (if declared)."""

    default: object
    types: frozenset[str] | None = None   # names among int, float, str, bool, list, dict, None
    range: str | None = None


@lru_cache(maxsize=8)
def _schema_validator(minor: int):
    """Return a validator of nbformat's own v4 schema for ``minor`` (compiled by fastjsonschema, as nbformat does;
    importing nbformat's jsonschema path costs seconds)."""
    import importlib.util

    import fastjsonschema

    folder = Path(importlib.util.find_spec("nbformat").origin).parent / "v4"
    schema = folder / f"nbformat.v4.{minor}.schema.json"
    schema = schema if schema.exists() else folder / "nbformat.v4.schema.json"
    return fastjsonschema.compile(json.loads(schema.read_text(encoding="utf-8")))


def read_notebook(notebook: Path, where: str, label: str) -> dict:
    """Return the notebook's JSON after checking it against the nbformat schema, or raise naming the fault."""
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
    minor = nb.get("nbformat_minor")
    validate = _schema_validator(minor if isinstance(minor, int) and not isinstance(minor, bool) else 0)
    try:  # a cell papermill or the HTML exporter cannot read would only fail after the notebook ran
        validate(nb)
    except Exception as err:  # fastjsonschema's JsonSchemaValueException (or a schema it cannot compile)
        fault = " ".join(str(getattr(err, "message", err)).split()).replace("data.", "", 1)[:160]
        raise ExperimentSpecError(
            f"{where}: notebook {label!r} does not follow the Jupyter notebook schema ({fault}); "
            "open and save it in Jupyter to repair it.") from None
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


def notebook_declarations(nb, label: str) -> dict[str, Declared]:
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


def notebook_parameters(notebook: Path) -> dict:
    """Return ``{name: default}`` of a notebook's ``parameters`` cell (see ``notebook_declarations``)."""
    nb = read_notebook(Path(notebook), str(notebook), str(notebook))
    return {k: d.default for k, d in notebook_declarations(nb, str(notebook)).items()}


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


def type_mismatch(declared: Declared, value) -> str | None:
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


def range_violation(declared: Declared, value) -> str | None:
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


def check_models(where: str, label: str, name: str, value, declared: Declared, notebook: str) -> None:
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
