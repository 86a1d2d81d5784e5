"""Labels, units and numbers as the report pages print them, from the project's record-naming conventions."""

from __future__ import annotations

import math
import re

# words the labels spell in the field's way
_WORDS = {"ndcg": "NDCG", "mrr": "MRR", "auc": "AUC", "rmse": "RMSE", "mae": "MAE", "nps": "NPS", "clv": "CLV",
          "ci": "CI", "plsc": "PLSc", "pls": "PLS", "lr": "LR", "vip": "VIP", "n": "number of", "vs": "vs",
          "top20": "top 20%", "ease": "EASE", "knn": "kNN", "als": "ALS", "bpr": "BPR", "rfm": "RFM", "mf": "MF"}
# (pattern on the record name, unit); first match wins; "%" means the value is a fraction shown as a percentage
_UNITS = [(r"p_value", "p"), (r"(share|density|coverage|rate|reach|frac)", "%"), (r"(seconds|_s$|time)", "s"),
          (r"(profit|revenue|clv|value_usd|spend)", "$"), (r"(satisfaction_index|^acsi|^ecsi)", "points, 0-100"),
          (r"^nps", "points, -100 to 100")]
_SYMBOLS = ("", "%", "$", "p")  # units written into the value itself; the others go beside the label
_CI_SUFFIX = re.compile(r"_(lower|upper|ci|ci_low|ci_high|lo|hi)$")


def label(name: str) -> str:
    """Return a reader's label for a record name: ``ndcg_cold_user`` -> ``NDCG cold user``."""
    words = [_WORDS.get(w, w) for w in re.split(r"[_\s]+", name.replace("p_value", "p-value")) if w]
    text = " ".join(words)
    return text if text.startswith("p-value") else text[:1].upper() + text[1:]


def unit(name: str) -> str:
    """Return the unit of a record name by the project's naming conventions ("" when unitless)."""
    for pattern, u in _UNITS:
        if re.search(pattern, name.lower()):
            return u
    return ""


def format_p(p: float) -> str:
    """Format a p-value for reading: ``< 1e-4`` below 1e-4, else 2 significant digits (``0.032``)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "< 1e-4" if p < 1e-4 else f"{p:.2g}"


def format_value(name: str, value, *, with_unit: bool = True) -> str:
    """Format one recorded value with its unit (plain text; dicts and lists in full, never cut).

    ``with_unit=False`` leaves out a unit that is not a symbol (seconds, points): the headline
    table writes those beside the label instead.
    """
    u = unit(name)
    if not with_unit and u not in _SYMBOLS:
        u = ""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return str(value)
    if isinstance(value, (int, float)):
        if u == "p":
            return format_p(float(value))
        if u == "%" and abs(value) <= 1:
            return f"{100 * value:.3g}%"
        if isinstance(value, int):
            return f"{value:,}" + (f" {u}" if u and u != "%" else "")
        text = (f"{value:,.0f}" if abs(value) >= 1e3 else f"{value:,.4g}" if abs(value) >= 1e-3 or value == 0
                else f"{value:.3g}")
        if u == "$":
            return f"${text}"
        return text + (f" {u}" if u and u != "%" else "")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(str(k) if unit(str(k)) else name, v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(name, v) for v in value)
    return str(value)


def _ci(records: dict, name: str) -> tuple[float, float] | None:
    for lo, hi in ((f"{name}_lower", f"{name}_upper"), (f"{name}_ci_low", f"{name}_ci_high"),
                   (f"{name}_lo", f"{name}_hi")):
        if isinstance(records.get(lo), (int, float)) and isinstance(records.get(hi), (int, float)):
            return float(records[lo]), float(records[hi])
    ci = records.get(f"{name}_ci")
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        return float(ci[0]), float(ci[1])
    return None


def headline_names(run: dict, *, limit: int = 8) -> list[str]:
    """Return the names of one manifest run's headline records: its ``headline`` list, else its scalar records
    that are not the bounds of another's interval."""
    records = run.get("records") or {}
    names = run.get("headline") or [n for n, v in records.items()
                                     if isinstance(v, (int, float, str)) and not _CI_SUFFIX.search(n)]
    return [n for n in names if n in records][:limit]


def headline(run: dict, *, limit: int = 8) -> list[tuple[str, str, str]]:
    """Return ``(label, formatted value, CI text)`` for the headline records of one manifest run."""
    records = run.get("records") or {}
    out = []
    for name in headline_names(run, limit=limit):
        ci = _ci(records, name)
        ci_text = (f"95% CI [{format_value(name, ci[0], with_unit=False)}, {format_value(name, ci[1], with_unit=False)}]"
                   if ci else "")
        u = unit(name)
        text = label(name) + ("" if u in _SYMBOLS or isinstance(records[name], str) else f" ({u})")
        out.append((text, format_value(name, records[name], with_unit=False), ci_text))
    return out


def interval(mean: float, lower: float | None = None, upper: float | None = None) -> str:
    """Return ``mean [lower, upper]`` with four decimals (the mean alone when the bounds are missing)."""
    if lower is None or upper is None or math.isnan(lower) or math.isnan(upper):
        return f"{mean:.4f}"
    return f"{mean:.4f} [{lower:.4f}, {upper:.4f}]"


def decimals(half_width: float) -> int:
    """Return the decimal places that show ``half_width`` to its second significant digit (0.017: 3; 4.05: 1)."""
    if not half_width > 0:  # zero or NaN
        return 4
    return min(6, max(0, 1 - math.floor(math.log10(half_width))))


def estimate(mean: float, lower: float, upper: float, *, places: int | None = None) -> str:
    """Return ``mean ± half-width`` (``mean [lower, upper]`` when the interval is not symmetric) with ``places``
    decimals (default: ``decimals`` of the half-width): ``0.335 ± 0.017``, ``81.0 ± 4.0``."""
    if any(math.isnan(v) for v in (mean, lower, upper)):
        return "" if math.isnan(mean) else f"{mean:.{4 if places is None else places}f}"
    below, above = mean - lower, upper - mean
    half = max(below, above)
    places = decimals(half) if places is None else places
    if math.isclose(below, above, rel_tol=0.02, abs_tol=0.5 * 10 ** -places):
        return f"{mean:.{places}f} ± {half:.{places}f}"
    return f"{mean:.{places}f} [{lower:.{places}f}, {upper:.{places}f}]"
