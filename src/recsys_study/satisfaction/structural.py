"""Structural-model assessment: Cohen's f^2 effect size of every path.

``f^2 = (R^2_included - R^2_excluded) / (1 - R^2_included)`` for the path i -> j, where
``R^2_excluded`` is the R^2 of j once the path is removed from the model (Cohen 1988; Hair et al.
2022, A Primer on PLS-SEM, 3rd ed., ch. 6: 0.02 small, 0.15 medium, 0.35 large). As seminr 0.2.1
(``f_squared``) and SmartPLS do, the model without the path is re-estimated in full
(``reestimate=True``: its outer weights may move); ``reestimate=False`` keeps the construct scores
of the full model and only drops the predictor from j's regression (the quick variant some texts use).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.satisfaction.models import PathModel
from recsys_study.satisfaction.pls import PLSPM, _ols_paths


def _without(model: PathModel, path: tuple[str, str]) -> PathModel | None:
    """Return ``model`` minus ``path`` and minus constructs left without any path; None if no path is left."""
    paths = [p for p in model.paths if p != path]
    if not paths:
        return None
    linked = {c for p in paths for c in p}
    return PathModel(blocks={c: model.blocks[c] for c in model.constructs if c in linked}, paths=paths,
                     modes={c: model.modes[c] for c in model.constructs if c in linked}, name=model.name)


def f_squared(fit: PLSPM, data: pd.DataFrame | None = None, *, reestimate: bool = True) -> pd.DataFrame:
    """Return one row per structural path: source, target, r2_included, r2_excluded, f2.

    ``fit`` is a fitted ``PLSPM``; ``data`` (the data it was fitted on) is needed when ``reestimate``.
    """
    model = fit.model
    rows = []
    for a, b in model.paths:
        r2_in = float(fit.r2_[b])
        remaining = [s for s in model.antecedents(b) if s != a]
        if not remaining:
            r2_out = 0.0
        elif reestimate:
            if data is None:
                raise ValueError("f_squared(reestimate=True) re-fits the model: pass the data it was fitted on.")
            reduced = PLSPM(_without(model, (a, b)), scheme=fit.scheme, consistent=fit.consistent,
                            max_iter=fit.max_iter, tol=fit.tol).fit(data)
            r2_out = float(reduced.r2_[b])
        else:
            names = list(model.constructs)
            adjacency = model.adjacency()
            adjacency[names.index(a), names.index(b)] = 0
            _, r2 = _ols_paths(fit.latent_correlation_.to_numpy(), adjacency)
            r2_out = float(r2[names.index(b)])
        rows.append({"source": a, "target": b, "r2_included": r2_in, "r2_excluded": r2_out,
                     "f2": (r2_in - r2_out) / (1 - r2_in)})
    out = pd.DataFrame(rows)
    out["size"] = pd.cut(out["f2"], [-np.inf, 0.02, 0.15, 0.35, np.inf], right=False,
                         labels=["negligible", "small", "medium", "large"]).astype(str)
    return out
