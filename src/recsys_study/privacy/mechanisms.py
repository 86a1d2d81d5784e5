"""The Laplace mechanism with per-user contribution caps: ε-differential privacy at the user level.

A randomised release M is ε-differentially private (Dwork, McSherry, Nissim & Smith 2006; Dwork &
Roth, *The Algorithmic Foundations of Differential Privacy*, 2014, Def. 2.4) when for any two
*neighbouring* data sets D, D' and any set S of outputs, P[M(D) ∈ S] ≤ e^ε P[M(D') ∈ S].
Here neighbours differ by **one user and all of that user's interactions** (user-level DP, the unit
a person consents or objects for), not by one interaction (event-level DP, which protects a single
rating but lets a heavy user's whole history show through).

The Laplace mechanism (Dwork & Roth Thm 3.6) releases f(D) + Z with Z_j iid Laplace(0, b),
density exp(−|z|/b)/(2b), b = Δ₁/ε, where Δ₁ = max over neighbours ‖f(D) − f(D')‖₁ is the L1
sensitivity. Var Z_j = 2b². A count over users has unbounded sensitivity when one user may
contribute without limit, so every user is first **capped** at c interactions (a uniformly random c of
theirs when they have more: iid uniform keys, the c smallest per user kept, so each user's kept set is
uniform and independent of everyone else's, and removing a user leaves the others' caps distributed as
before; the guarantee is over the cap's and the noise's randomness together). Then, with
binary interactions x_u ∈ {0,1}ⁿ, ‖x_u‖₀ ≤ c:

- item counts n_i = Σ_u x_ui: one user changes at most c counts by 1 each, so Δ₁ = c;
- the Gram matrix G = XᵀX = Σ_u x_u x_uᵀ (co-counts off the diagonal, counts on it): one user
  changes G by x_u x_uᵀ, a 0/1 matrix with at most c² ones, c(c+1)/2 of them on or above the
  diagonal. G is symmetric, so only its upper triangle (diagonal included) is noised and the lower
  one mirrored: Δ₁ = c(c+1)/2.

Anything computed from a released statistic alone (EASE's inverse, a ranking, a ridge chosen from
the noise scale) is post-processing and keeps ε (Dwork & Roth Prop. 2.1). Statistics released
together add their ε (sequential composition, Thm 3.16). The item catalogue is taken as public.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_study.constants import USER


def _check_epsilon(epsilon: float) -> float:
    epsilon = float(epsilon)
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive (or inf for no noise), got {epsilon!r}; smaller is more private.")
    return epsilon


def count_sensitivity(max_per_user: int) -> float:
    """Return the L1 sensitivity c of item counts under user-level DP with at most c items per user."""
    return float(max_per_user)


def gram_sensitivity(max_per_user: int) -> float:
    """Return the L1 sensitivity c(c+1)/2 of the Gram matrix's upper triangle (diagonal included)."""
    c = int(max_per_user)
    return c * (c + 1) / 2.0


def laplace_scale(sensitivity: float, epsilon: float) -> float:
    """Return the Laplace noise scale b = Δ₁/ε (0 for ε = ∞: no noise)."""
    epsilon = _check_epsilon(epsilon)
    return 0.0 if math.isinf(epsilon) else float(sensitivity) / epsilon


def laplace_noise(shape, *, sensitivity: float, epsilon: float, seed) -> np.ndarray:
    """Return iid Laplace(0, Δ₁/ε) noise of ``shape`` (float64; zeros when ε = ∞) from ``seed``."""
    b = laplace_scale(sensitivity, epsilon)
    if b == 0.0:
        return np.zeros(shape)
    return np.random.default_rng(seed).laplace(0.0, b, size=shape)


def cap_user_items(user_items: sp.csr_matrix, max_per_user: int | None, *, seed) -> sp.csr_matrix:
    """Return ``user_items`` with each row keeping at most ``max_per_user`` entries (a random subset
    drawn from ``seed``, the kept entries unchanged); the input itself when there is no cap."""
    x = sp.csr_matrix(user_items)
    if max_per_user is None:
        return x
    c = int(max_per_user)
    if c < 1:
        raise ValueError(f"max_per_user must be a positive integer (or None for no cap), got {max_per_user!r}")
    counts = np.diff(x.indptr)
    if (counts <= c).all():
        return x
    rng = np.random.default_rng(seed)
    key = rng.random(x.nnz)  # one uniform per entry: each over-cap row keeps its c smallest keys
    rows = np.repeat(np.arange(x.shape[0]), counts)
    order = np.lexsort((key, rows))
    rank = np.empty(x.nnz, dtype=np.int64)
    rank[order] = np.arange(x.nnz) - np.repeat(x.indptr[:-1], counts)
    keep = rank < c
    out = sp.csr_matrix((x.data[keep], x.indices[keep], np.concatenate([[0], np.cumsum(np.minimum(counts, c))])),
                        shape=x.shape)
    return out


def cap_frame(train: pd.DataFrame, max_per_user: int | None, *, seed) -> pd.DataFrame:
    """Return the rows of ``train`` kept by a per-user cap of ``max_per_user`` (random, from ``seed``),
    in their original order."""
    if max_per_user is None:
        return train
    key = np.random.default_rng(seed).random(len(train))
    rank = pd.Series(key, index=train.index).groupby(train[USER].to_numpy(), sort=False).rank(method="first")
    return train[(rank <= int(max_per_user)).to_numpy()]


def stream_seeds(seed) -> tuple[int, int]:
    """Return the (cap, noise) seeds derived from ``seed``: the cap and the noise draw from separate streams,
    so a model without noise (ε = ∞) caps exactly as the noisy one does."""
    cap_seed, noise_seed = np.random.default_rng(seed).integers(0, 2**63, size=2)
    return int(cap_seed), int(noise_seed)


def private_counts(user_items: sp.csr_matrix, *, epsilon: float, max_per_user: int | None, seed) -> np.ndarray:
    """Return ε-DP item counts: each user capped at c, then n_i + Laplace(c/ε) for every item (float64).

    ``max_per_user=None`` is allowed only with ε = ∞ (an uncapped user has unbounded sensitivity).
    """
    epsilon = _check_epsilon(epsilon)
    if max_per_user is None and not math.isinf(epsilon):
        raise ValueError("a finite epsilon needs max_per_user (the cap c bounds one user's contribution); "
                         "pass e.g. max_per_user=50.")
    cap_seed, noise_seed = stream_seeds(seed)
    x = cap_user_items(user_items, max_per_user, seed=cap_seed)
    counts = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float64)
    if math.isinf(epsilon):
        return counts
    return counts + laplace_noise(counts.shape, sensitivity=count_sensitivity(max_per_user), epsilon=epsilon,
                                  seed=noise_seed)


def symmetric_laplace(n: int, *, sensitivity: float, epsilon: float, seed) -> np.ndarray:
    """Return an n × n symmetric noise matrix: iid Laplace(Δ₁/ε) on and above the diagonal, mirrored below."""
    b = laplace_scale(sensitivity, epsilon)
    if b == 0.0:
        return np.zeros((n, n))
    z = np.random.default_rng(seed).laplace(0.0, b, size=(n, n))
    upper = np.triu(z)
    upper += np.triu(z, 1).T  # the strict upper triangle, mirrored below the diagonal
    return upper


def private_gram(x: sp.csr_matrix, *, epsilon: float, max_per_user: int | None, seed) -> np.ndarray:
    """Return an ε-DP Gram matrix XᵀX of the binary X, each user capped at c: G + symmetric Laplace
    noise of scale c(c+1)/(2ε) (float64, n × n). ``max_per_user=None`` only with ε = ∞."""
    epsilon = _check_epsilon(epsilon)
    if max_per_user is None and not math.isinf(epsilon):
        raise ValueError("a finite epsilon needs max_per_user (the cap c bounds one user's contribution); "
                         "pass e.g. max_per_user=20.")
    cap_seed, noise_seed = stream_seeds(seed)
    xc = cap_user_items(x, max_per_user, seed=cap_seed).astype(np.float64)
    xc.data[:] = 1.0
    gram = np.asarray((xc.T @ xc).toarray())
    if math.isinf(epsilon):
        return gram
    return gram + symmetric_laplace(gram.shape[0], sensitivity=gram_sensitivity(max_per_user), epsilon=epsilon,
                                    seed=noise_seed)


def noise_spectral_edge(n: int, scale: float) -> float:
    """Return 2·√(2n)·b, the edge of the spectrum of an n × n symmetric matrix of iid Laplace(b) entries
    (variance 2b²; Wigner's semicircle law: extreme eigenvalues ≈ ±2σ√n)."""
    return 2.0 * math.sqrt(2.0 * n) * float(scale)
