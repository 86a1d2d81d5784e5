"""EASE: an embarrassingly shallow linear item-item autoencoder (Steck, WWW 2019).

The item-item weight matrix B minimises ‖X − XB‖²_F + λ‖B‖²_F subject to diag(B) = 0;
with G = XᵀX + λI and P = G⁻¹ its closed form is

    B_ij = −P_ij / P_jj  (i ≠ j),   B_jj = 0,

and the score of user u is x_u B. G is symmetric positive definite, so P comes from
its Cholesky factor (LAPACK ``potrf``, then ``potri``, the inverse from a Cholesky factor),
in float32: about n³ flops instead of a general inverse's 2n³.

Memory: the n × n float32 G is the only large array. It is filled row block by row block
from the sparse product (a block's sparse intermediate is at most 1/8 of G's bytes), factorised
and inverted in place (``overwrite``, passed as its Fortran-ordered transpose, so f2py makes no
copy), mirrored triangle to triangle block by block and scaled in place into B: peak 1.13 × G
(8,000 items, 10^6 interactions: benchmarks/scale.py; the former float64 inverse, astype and triu + triu.T copies
peaked at 3.2 × G).

Threads: the factorisation is BLAS-bound. ``num_threads=1`` (the default) keeps B the same on
every machine: with two OpenBLAS threads B differs from the one-thread B in the last bits
(max |ΔB| ≈ 1e-8 on 6,000 items: the blocked updates are summed in another order), and on a
shared, busy machine two spinning BLAS threads were slower (4.9 s against 3.1 s for n = 6,000).
``num_threads=0`` uses one BLAS thread per available core.
"""

from __future__ import annotations


import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_study.recommenders.base import Recommender
from recsys_study.recommenders.threads import n_threads as _n_threads


def gram_matrix(x: sp.spmatrix, *, n_blocks: int = 16) -> np.ndarray:
    """Return the dense float32 XᵀX of a sparse X, one block of ``n / n_blocks`` rows at a time.

    Each row block's sparse product is written straight into its rows of the result
    (``toarray(out=...)``), so the only other memory is one block's sparse product.
    """
    x = sp.csr_matrix(x, dtype=np.float32)
    xt = x.T.tocsr()
    n = x.shape[1]
    gram = np.empty((n, n), dtype=np.float32)
    step = max(1, -(-n // max(1, n_blocks)))
    for start in range(0, n, step):
        stop = min(n, start + step)
        (xt[start:stop] @ x).toarray(out=gram[start:stop])
    return gram


def _mirror_upper(a: np.ndarray, block: int = 1024) -> None:
    """Copy the upper triangle of the square C-ordered ``a`` onto its lower one, in place, block by block."""
    n = a.shape[0]
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        a[i1:, i0:i1] = a[i0:i1, i1:].T  # the strip below the diagonal block
        tile = a[i0:i1, i0:i1]
        low = np.tril_indices(i1 - i0, -1)
        tile[low] = tile.T[low]


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """Return EASE's B from the Gram matrix XᵀX and the ridge penalty λ (float32, diag 0).

    ``gram`` is overwritten and returned as B when it is a C-ordered float32 array (no copy);
    otherwise it is first converted to one.
    """
    if l2 <= 0:
        raise ValueError(f"EASE needs a positive l2 penalty (λ), got {l2!r}")
    g = np.ascontiguousarray(gram, dtype=np.float32)
    g[np.diag_indices_from(g)] += np.float32(l2)
    # g is symmetric: its Fortran-ordered transpose is the same matrix, and LAPACK works on it in place;
    # the lower triangle of g.T is the upper triangle of g
    gf = g.T
    potrf, potri = sla.get_lapack_funcs(("potrf", "potri"), (gf,))
    factor, info = potrf(gf, lower=True, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: LAPACK potrf failed with info={info} (G + λI not positive definite)")
    p, info = potri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: LAPACK potri failed with info={info}")
    if not np.shares_memory(p, g):  # f2py copied after all (never for a float32 C array): take its result
        g[...] = p.T
    _mirror_upper(g)  # potri filled the upper triangle of g
    diag = np.diag(g).copy()
    g /= -diag[None, :]
    g[np.diag_indices_from(g)] = 0.0
    return g


class EASE(Recommender):
    """EASE^R top-N recommender (Steck 2019).

    Parameters
    ----------
    l2 : float
        Ridge penalty λ on B (Steck reports 200–1000 for ML-20M; 250 works on ml-latest-small).
    use_ratings : bool
        Fit on the ratings instead of the binary interaction matrix (default binary).
    num_threads : int
        BLAS threads of the factorisation (1 = the same B on every machine; 0 = one per core).
    """

    name = "ease"
    thread_safe_scoring = True  # BLAS / sparse products on fitted state only

    def __init__(self, *, l2: float = 250.0, use_ratings: bool = False, num_threads: int = 1):
        self.l2 = l2
        self.use_ratings = use_ratings
        self.num_threads = num_threads

    def _fit(self, user_items, *, train, items) -> None:
        x = user_items.astype(np.float32)
        if not self.use_ratings:
            x = x.copy()
            x.data[:] = 1.0
        self.x_ = x.tocsr()
        gram = gram_matrix(self.x_)
        with threadpool_limits(_n_threads(self.num_threads), "blas"):
            self.weights_ = ease_weights(gram, self.l2)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.x_[user_idx] @ self.weights_

    def _score_history(self, row):
        """Score x B for the user vector x of the (updated) history: no refit, B is user-independent."""
        x = row.astype(np.float32)
        if not self.use_ratings:
            x.data[:] = 1.0
        return x @ self.weights_
