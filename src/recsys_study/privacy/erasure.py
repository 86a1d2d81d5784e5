"""Exact erasure: what a model looks like after ``forget(users)``, and the fallback for the others.

A model that declares ``forgets_users`` must end, after ``forget(users)``, in the state a refit on
the training rows without those users would reach: the same users and items in the same index
order, the same training matrix, popularity, mean rating and learned weights. The index order
matters (recommend breaks score ties by item index, item kNN keeps tied neighbours by index), and
a refit orders items by their first appearance among the *remaining* rows: an item first rated by
a forgotten user moves back. So models that forget keep ``entry_rows_``, the training-row position
of every stored entry of ``user_items_`` (8 bytes per interaction), from which
:func:`forget_layout` rebuilds the refit's order without the training frame.

Users are forgotten at the user level: all their rows go. A forgotten user is then unknown to the
model, and ``recommend`` gives them the cold-user fallback (popularity over the remaining users),
exactly as for someone who never came; a forgotten user who comes back is a new user.

Models that cannot forget exactly (``forgets_users`` False: their fit is iterative or random,
e.g. ALS, BPR, biased MF) are refitted on the remaining rows by :func:`forget_or_refit`: the
documented fallback, exact by construction and no faster than a refit.

References: the right to erasure, GDPR art. 17; "machine unlearning" as exact removal,
Cao & Yang (IEEE S&P 2015), Bourtoule et al. (IEEE S&P 2021).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_study.constants import ITEM, USER

log = logging.getLogger(__name__)


def entry_rows(model, train: pd.DataFrame) -> np.ndarray:
    """Return the position in ``train`` of every stored entry of ``model.user_items_`` (aligned with its data).

    ``train`` is the validated frame ``fit`` passed to ``_fit`` (no duplicate pairs), so each
    entry has exactly one row.
    """
    u = model.user_index_.get_indexer(train[USER])
    i = model.item_index_.get_indexer(train[ITEM])
    ok = (u >= 0) & (i >= 0)
    pos = sp.csr_matrix((np.flatnonzero(ok).astype(np.int64) + 1, (u[ok], i[ok])), shape=model.user_items_.shape)
    pos.sum_duplicates()
    if pos.nnz != model.user_items_.nnz or not np.array_equal(pos.indices, model.user_items_.indices):
        raise ValueError("entry_rows: the training frame does not match the fitted matrix (duplicate pairs?)")
    return pos.data - 1


@dataclass
class ForgetLayout:
    """The state a refit without ``forgotten`` users would start from (the base class's fitted attributes)."""

    forgotten: np.ndarray        # old user indices removed
    kept: np.ndarray             # boolean mask over old users
    item_order: np.ndarray       # old item indices, in the refit's item order
    new_position: np.ndarray     # old item index -> new index (-1: the item is gone)
    user_index: pd.Index
    item_index: pd.Index
    user_items: sp.csr_matrix
    entry_rows: np.ndarray
    item_popularity: np.ndarray
    global_mean: float


def forget_layout(model, users) -> ForgetLayout | None:
    """Return the refit's layout without ``users`` (None when none of them is known to ``model``).

    Users unknown to the model (never seen, or already forgotten) are skipped: forgetting is
    idempotent. Raises ``ValueError`` when no user would remain (a refit would have no data).
    """
    model._check_fitted()
    if not hasattr(model, "entry_rows_"):
        raise ValueError(f"{type(model).__name__} was not fitted by fit(train); refit it before forget.")
    asked = pd.Index(pd.unique(np.asarray(list(users) if not isinstance(users, (np.ndarray, pd.Index, pd.Series))
                                          else users, dtype=object)))
    idx = model.user_index_.get_indexer(asked)
    forgotten = np.unique(idx[idx >= 0])
    if (idx < 0).any():
        log.info("%s.forget: %d user(s) unknown to the model skipped", type(model).__name__, int((idx < 0).sum()))
    if len(forgotten) == 0:
        return None
    n_users = len(model.user_index_)
    if len(forgotten) == n_users:
        raise ValueError(f"forget would remove all {n_users} users, leaving nothing to fit; build a new model "
                         "when training data arrive instead.")
    kept = np.ones(n_users, dtype=bool)
    kept[forgotten] = False
    x = model.user_items_[kept]
    pos = sp.csr_matrix((model.entry_rows_ + 1, model.user_items_.indices, model.user_items_.indptr),
                        shape=model.user_items_.shape)[kept]
    # an item's place in the refit is its first appearance among the remaining rows
    by_item = pos.tocsc()
    present = np.flatnonzero(np.diff(by_item.indptr))
    first = np.minimum.reduceat(by_item.data, by_item.indptr[present]) if len(present) else np.zeros(0, np.int64)
    item_order = present[np.argsort(first, kind="stable")]
    new_position = np.full(x.shape[1], -1, dtype=np.int64)
    new_position[item_order] = np.arange(len(item_order))
    if len(item_order) != x.shape[1] or (np.diff(item_order) < 0).any():  # not the identity: permute the columns
        x = x[:, item_order].tocsr()
        pos = pos[:, item_order].tocsr()
        x.sort_indices()
        pos.sort_indices()
    x = sp.csr_matrix((x.data, x.indices, x.indptr), shape=x.shape, dtype=np.float32)
    if np.isnan(model.global_mean_):
        mean = float("nan")
    else:  # the refit's float32 mean runs over its rows in training order
        in_order = np.zeros(int(pos.data.max()) + 1, dtype=np.float32)
        filled = np.zeros(len(in_order), dtype=bool)
        in_order[pos.data - 1], filled[pos.data - 1] = x.data, True
        mean = float(in_order[filled].mean())
    return ForgetLayout(forgotten=forgotten, kept=kept, item_order=item_order, new_position=new_position,
                        user_index=model.user_index_[kept], item_index=model.item_index_[item_order],
                        user_items=x, entry_rows=pos.data - 1,
                        item_popularity=np.bincount(x.indices, minlength=x.shape[1]).astype(np.float64),
                        global_mean=mean)


def apply_layout(model, layout: ForgetLayout) -> None:
    """Set the base class's fitted attributes of ``model`` to the refit's (``layout``); drop the
    forgotten users' side information (``users_``) too."""
    gone = model.user_index_[layout.forgotten]
    model.user_index_ = layout.user_index
    model.item_index_ = layout.item_index
    model.user_items_ = layout.user_items
    model.entry_rows_ = layout.entry_rows
    model.item_popularity_ = layout.item_popularity
    model.global_mean_ = layout.global_mean
    if getattr(model, "users_", None) is not None and USER in model.users_.columns:
        model.users_ = model.users_[~model.users_[USER].isin(gone)].reset_index(drop=True)


def clone(model):
    """Return an unfitted copy of ``model`` with the same hyperparameters."""
    return type(model)(**model.get_params())


def forget_or_refit(model, train: pd.DataFrame, users, *, items: pd.DataFrame | None = None, **fit_kwargs):
    """Return ``model`` without ``users``: ``model.forget(users)`` where the model declares
    ``forgets_users``, else a fresh copy refitted on ``train`` minus those users' rows (the fallback).

    ``train`` (and ``items``, ``fit_kwargs``) must be what the model was fitted on.
    """
    if model.forgets_users:
        return model.forget(users)
    remaining = train[~train[USER].isin(pd.Index(users))]
    return clone(model).fit(remaining, items, **fit_kwargs)


def all_scores(model) -> pd.DataFrame:
    """Return every known user's score for every item as a (user × item) frame labelled by source ids."""
    users = np.arange(len(model.user_index_))
    blocks = [np.asarray(model._score(users[s:s + 1024]), dtype=np.float64) for s in range(0, len(users), 1024)]
    return pd.DataFrame(np.vstack(blocks), index=model.user_index_, columns=model.item_index_)


def max_score_difference(a, b) -> float:
    """Return max |scores of a − scores of b| over every (user, item), aligned by source id; inf when the
    two models know different users or items."""
    sa, sb = all_scores(a), all_scores(b)
    if not (sa.index.sort_values().equals(sb.index.sort_values())
            and sa.columns.sort_values().equals(sb.columns.sort_values())):
        return float("inf")
    sb = sb.loc[sa.index, sa.columns]
    return float(np.max(np.abs(sa.to_numpy() - sb.to_numpy()))) if sa.size else 0.0


def erasure_check(model, train: pd.DataFrame, users, *, items: pd.DataFrame | None = None) -> dict:
    """Return forget against refit for ``users`` of an already fitted ``model`` (which it changes):
    ``max_abs_difference`` of their scores (every remaining user and item), ``same_order`` (user and
    item index orders equal), and the CPU seconds of each (``forget_s``, ``refit_s``; information only:
    CPU time on a shared machine varies)."""
    start = time.process_time()
    model = forget_or_refit(model, train, users, items=items)
    forget_s = time.process_time() - start
    start = time.process_time()
    refit = clone(model).fit(train[~train[USER].isin(pd.Index(users))], items)
    refit_s = time.process_time() - start
    return {"max_abs_difference": max_score_difference(model, refit),
            "same_order": bool(model.user_index_.equals(refit.user_index_)
                               and model.item_index_.equals(refit.item_index_)),
            "forget_s": forget_s, "refit_s": refit_s, "n_users": len(pd.unique(np.asarray(users)))}
