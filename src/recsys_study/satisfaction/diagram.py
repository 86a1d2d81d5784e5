"""Path diagram of a fitted path model, drawn with matplotlib (no graphviz)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_study.satisfaction.models import PathModel

#: Hand-placed (x, y) positions of the ECSI/ACSI constructs, in the textbook layout.
INDEX_LAYOUT = {
    "Image": (0.0, 2.0), "Expectation": (0.0, 0.6), "Quality": (1.0, -0.9), "Value": (2.3, -0.9),
    "Satisfaction": (3.0, 1.2), "Complaints": (4.2, 0.0), "Loyalty": (4.8, 2.0),
}


def layered_layout(model: PathModel) -> dict[str, tuple[float, float]]:
    """Return positions: x = longest path from an exogenous construct, y spread within a layer."""
    depth: dict[str, int] = {}
    for c in model.topological_order():
        depth[c] = 1 + max((depth[a] for a in model.antecedents(c)), default=-1)
    pos = {}
    for d in set(depth.values()):
        layer = [c for c in model.constructs if depth[c] == d]
        for k, c in enumerate(layer):
            pos[c] = (1.5 * d, (len(layer) - 1) / 2 - k)
    return pos


def path_diagram(model: PathModel, paths: pd.DataFrame, *, r2: pd.Series | None = None, ax=None,
                 title: str | None = None):
    """Draw constructs as boxes and paths as arrows labelled with their coefficients; return the axes.

    ``paths`` has source, target, estimate (and optionally ci_low/ci_high: arrows whose CI
    excludes zero are solid, others dashed). R^2 is printed under endogenous constructs.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5))
    pos = INDEX_LAYOUT if set(model.constructs) <= set(INDEX_LAYOUT) else layered_layout(model)
    for _, row in paths.iterrows():
        (x0, y0), (x1, y1) = pos[row["source"]], pos[row["target"]]
        significant = True
        if "ci_low" in row and not pd.isna(row.get("ci_low")):
            significant = row["ci_low"] > 0 or row["ci_high"] < 0
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", lw=0.8 + 3 * min(abs(row["estimate"]), 1),
                                    ls="-" if significant else "--", color="0.3",
                                    shrinkA=28, shrinkB=28))
        t = 0.42
        ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), f"{row['estimate']:.2f}", fontsize=9,
                ha="center", va="center", bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))
    for c, (x, y) in pos.items():
        if c not in model.constructs:
            continue
        label = c if r2 is None or c not in r2.index else f"{c}\nR² = {r2[c]:.2f}"
        ax.text(x, y, label, ha="center", va="center", fontsize=10,
                bbox=dict(boxstyle="round,pad=0.4", fc="#dbe9f6", ec="#2c5d8a"))
    xs, ys = np.array([p[0] for p in pos.values()]), np.array([p[1] for p in pos.values()])
    ax.set_xlim(xs.min() - 0.7, xs.max() + 0.7)
    ax.set_ylim(ys.min() - 0.7, ys.max() + 0.7)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
