"""Shared seaborn figures, one function per kind of figure; each returns the matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from recsys_study.constants import ITEM, RATING, USER

sns.set_theme(style="whitegrid", context="notebook")


def rating_distribution(interactions: pd.DataFrame):
    """Bar chart of how often each rating value is given."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    sns.countplot(x=interactions[RATING], color="#4c72b0", ax=ax)
    ax.set(xlabel="rating", ylabel="number of ratings", title="Rating distribution")
    fig.tight_layout()
    return fig


def long_tail(interactions: pd.DataFrame, *, head_frac: float = 0.2):
    """Item popularity by rank (log scale), with the head of ``head_frac`` items shaded."""
    counts = interactions[ITEM].value_counts().to_numpy()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ranks = np.arange(1, len(counts) + 1)
    ax.plot(ranks, counts, color="#4c72b0")
    n_head = max(1, round(head_frac * len(counts)))
    ax.axvspan(1, n_head, color="#dd8452", alpha=0.2, label=f"head: top {head_frac:.0%} of items")
    ax.set(xscale="log", yscale="log", xlabel="item popularity rank", ylabel="ratings per item",
           title="The long tail of item popularity")
    ax.legend()
    fig.tight_layout()
    return fig


def user_activity(interactions: pd.DataFrame):
    """Histogram of ratings per user (log x axis)."""
    counts = interactions[USER].value_counts()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    sns.histplot(counts, log_scale=True, bins=30, ax=ax, color="#55a868")
    ax.set(xlabel="ratings per user", ylabel="users", title="User activity")
    fig.tight_layout()
    return fig


def bar_with_counts(frame: pd.DataFrame, x: str, y: str, *, title: str, horizontal: bool = True):
    """Horizontal bar chart of ``y`` by ``x`` (e.g. ratings per genre)."""
    fig, ax = plt.subplots(figsize=(7, max(3, 0.28 * len(frame))))
    if horizontal:
        sns.barplot(data=frame, y=x, x=y, color="#4c72b0", ax=ax)
    else:
        sns.barplot(data=frame, x=x, y=y, color="#4c72b0", ax=ax)
    ax.set(title=title)
    fig.tight_layout()
    return fig


def series_over_time(frame: pd.DataFrame, x: str, ys: list[str], *, title: str):
    """One line per column in ``ys`` against ``x``, each on its own panel."""
    fig, axes = plt.subplots(len(ys), 1, figsize=(7, 2.6 * len(ys)), sharex=True, squeeze=False)
    for ax, y in zip(axes[:, 0], ys):
        sns.lineplot(data=frame, x=x, y=y, marker="o", ax=ax)
        ax.set(ylabel=y.replace("_", " "))
    axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def metric_intervals(board: pd.DataFrame, *, metric: str, order: list[str]):
    """Mean and 95 % interval of ``metric`` per model (rows, in ``order`` top to bottom), one panel per dataset;
    the best mean of each panel in orange.

    ``board`` has columns ``dataset, model, mean, lower, upper`` (one row per dataset and model).
    """
    datasets = list(dict.fromkeys(board["dataset"]))
    y = np.arange(len(order))
    fig, axes = plt.subplots(1, len(datasets), figsize=(min(11.0, 2.0 + 4.5 * len(datasets)), 1.0 + 0.22 * len(order)),
                             sharey=True, squeeze=False)
    for ax, name in zip(axes[0], datasets):
        rows = board[board["dataset"] == name].set_index("model").reindex(order)
        below = (rows["mean"] - rows["lower"]).clip(lower=0).fillna(0)
        above = (rows["upper"] - rows["mean"]).clip(lower=0).fillna(0)
        best = rows["mean"] == rows["mean"].max()
        for mask, color in ((~best, "#4c72b0"), (best, "#dd8452")):
            ax.errorbar(rows["mean"][mask], y[mask.to_numpy()], xerr=[below[mask], above[mask]], fmt="o", ms=4,
                        color=color, ecolor=color, elinewidth=1.5, capsize=2)
        ax.set_xlabel(f"{metric}: mean, 95 % CI")
        if name:
            ax.set_title(name)
    axes[0, 0].set_yticks(y, order)
    axes[0, 0].set_ylim(len(order) - 0.5, -0.5)
    fig.tight_layout()
    return fig
