"""Recommenders whose released statistics are ε-differentially private at the user level.

The mechanism, the per-user cap and the sensitivities are derived in
:mod:`recsys_study.privacy.mechanisms` (Dwork & Roth 2014). Each model releases one statistic
under ε and computes everything else from it (post-processing, no further privacy cost):

- ``PrivatePopularity`` releases the item counts: each user capped at c items, Δ₁ = c, Laplace
  noise of scale c/ε per item, items ranked by the noisy count.
- ``PrivateEASE`` releases the Gram matrix G = XᵀX of the binary, capped interactions:
  Δ₁ = c(c+1)/2 on its upper triangle, Laplace noise of that scale over ε, mirrored. EASE's closed
  form (Steck 2019) then needs G̃ + λI positive definite, which noise of spectral radius ≈ 2√(2n)·b
  (b the noise scale; Wigner's semicircle law) breaks for the usual λ: the ridge used is
  λ' = λ + 2√(2n)·b, chosen from public quantities only (doubled until the Cholesky factor
  exists, a decision on G̃ alone). The cold-user fallback ranks by G̃'s diagonal (the noisy counts).

What is private is what the model releases: the weights B and the fallback ranking. To score a
user the model multiplies *that user's own* history by B (x_u B), as a client would on their own
device; the model object keeps the training matrix for that, so it is not itself a private release.
The item universe is the catalogue passed to ``fit`` (``items``), taken as public: the set of
items with at least one rating would reveal, e.g., the one user of a rare item. Neighbours are
user-level (one user and all their interactions), not event-level.

With ``epsilon=inf`` there is no noise; with ``epsilon=inf`` and ``max_per_user=None`` the models
are exactly ``most_popular`` and ``ease``. A finite ε needs a cap (an uncapped user has unbounded
sensitivity). Same seed, same noise. They do not ``forget`` exactly (a refit draws new noise for
the remaining users): ``recsys_study.privacy.erasure.forget_or_refit`` refits them.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_study.privacy.mechanisms import (cap_user_items, gram_sensitivity, laplace_scale, noise_spectral_edge,
                                             private_counts, private_gram, stream_seeds)
from recsys_study.recommenders.base import Recommender
from recsys_study.recommenders.linear import ease_weights, ease_weights_woodbury, gram_matrix
from recsys_study.recommenders.threads import n_threads as _n_threads


def _binary(x: sp.csr_matrix) -> sp.csr_matrix:
    b = sp.csr_matrix(x, dtype=np.float32, copy=True)
    b.data[:] = 1.0
    return b


def _check(epsilon, max_per_user) -> None:
    if not float(epsilon) > 0:
        raise ValueError(f"epsilon must be positive (inf: no noise), got {epsilon!r}; smaller is more private.")
    if max_per_user is None and not math.isinf(float(epsilon)):
        raise ValueError("a finite epsilon needs max_per_user, the cap c on one user's interactions that bounds "
                         "the sensitivity; pass e.g. max_per_user=20, or epsilon=float('inf') for no privacy.")
    if max_per_user is not None and (isinstance(max_per_user, bool) or int(max_per_user) != max_per_user
                                     or max_per_user < 1):
        raise ValueError(f"max_per_user must be a positive integer or None, got {max_per_user!r}")


class PrivatePopularity(Recommender):
    """Most popular under ε-DP: items ranked by their Laplace-noised counts (each user capped at c).

    Parameters
    ----------
    epsilon : float
        Privacy budget ε (``inf``: no noise).
    max_per_user : int or None
        Cap c on one user's interactions (a random c from ``seed``); the counts' L1 sensitivity is c.
    seed : int
        Seed of the cap and of the noise.
    """

    name = "private_popularity"
    item_universe = "catalogue"
    search_space: dict = {}

    def __init__(self, *, epsilon: float = 1.0, max_per_user: int | None = 50, seed: int = 42):
        _check(epsilon, max_per_user)
        self.epsilon = epsilon
        self.max_per_user = max_per_user
        self.seed = seed

    def _fit(self, user_items, *, train, items) -> None:
        self.noise_scale_ = laplace_scale(self.max_per_user or 0, self.epsilon)
        self.scores_ = private_counts(_binary(user_items), epsilon=self.epsilon, max_per_user=self.max_per_user,
                                      seed=self.seed)
        self.item_popularity_ = self.scores_  # the cold-user fallback must not read the raw counts

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores_, (len(user_idx), len(self.scores_)))


class PrivateEASE(Recommender):
    """EASE (Steck 2019) fitted on an ε-DP Gram matrix of the binary interactions, each user capped at c.

    Parameters
    ----------
    l2 : float
        Ridge penalty λ as in ``ease``; the ridge used is λ + 2√(2n)·b with b = c(c+1)/(2ε)
        (module docstring), stored as ``l2_``.
    epsilon : float
        Privacy budget ε (``inf``: no noise).
    max_per_user : int or None
        Cap c on one user's interactions (a random c from ``seed``).
    seed : int
        Seed of the cap and of the noise.
    num_threads : int
        BLAS threads of the factorisation (1 = the same B on every machine).
    """

    name = "private_ease"
    item_universe = "catalogue"
    thread_safe_scoring = True
    search_space = {"l2": {"type": "float", "low": 1.0, "high": 10000.0, "log": True}}
    in_comparison = False  # a privacy question (NDCG against epsilon), not one more model of make tune's study

    def __init__(self, *, l2: float = 250.0, epsilon: float = 1.0, max_per_user: int | None = 20, seed: int = 42,
                 num_threads: int = 1):
        _check(epsilon, max_per_user)
        if l2 <= 0:
            raise ValueError(f"EASE needs a positive l2 penalty (λ), got {l2!r}")
        self.l2 = l2
        self.epsilon = epsilon
        self.max_per_user = max_per_user
        self.seed = seed
        self.num_threads = num_threads

    def _fit(self, user_items, *, train, items) -> None:
        self.x_ = _binary(user_items)
        n_users, n_items = self.x_.shape
        with threadpool_limits(_n_threads(self.num_threads), "blas"):
            if math.isinf(float(self.epsilon)):  # no noise: ease itself, on the capped data
                capped = _binary(cap_user_items(self.x_, self.max_per_user, seed=stream_seeds(self.seed)[0]))
                self.noise_scale_, self.l2_ = 0.0, float(self.l2)
                if 2 * n_users <= n_items:
                    self.weights_ = ease_weights_woodbury(capped, self.l2)
                else:
                    self.weights_ = ease_weights(gram_matrix(capped), self.l2)
                return
            gram = private_gram(self.x_, epsilon=self.epsilon, max_per_user=self.max_per_user, seed=self.seed)
            self.noise_scale_ = laplace_scale(gram_sensitivity(self.max_per_user), self.epsilon)
            self.item_popularity_ = np.diag(gram).copy()
            l2 = float(self.l2) + noise_spectral_edge(n_items, self.noise_scale_)
            for _ in range(30):  # doubling decided on the released G̃ alone: post-processing
                try:
                    self.weights_ = ease_weights(gram.astype(np.float32), l2)
                    break
                except np.linalg.LinAlgError:
                    l2 *= 2.0
            else:  # pragma: no cover - 2^30 times the noise edge always suffices
                raise np.linalg.LinAlgError("PrivateEASE: G̃ + λI never became positive definite")
            self.l2_ = l2

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.x_[user_idx] @ self.weights_

    def _score_history(self, row):
        """Score x B for the user vector x of the (updated) history: B is user-independent."""
        return _binary(row) @ self.weights_
