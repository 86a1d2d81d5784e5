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

Fewer users than items (m < n): by the Woodbury identity (Woodbury 1950; Golub & Van Loan,
*Matrix Computations*, 4th ed., §2.1.4)

    P = (XᵀX + λI)⁻¹ = (I − Xᵀ K X) / λ,   K = (XXᵀ + λI_m)⁻¹,

so with Q = Xᵀ K X the weights are B_ij = Q_ij / (1 − Q_jj) (i ≠ j): an m × m factorisation
and about m²n + nnz(X)·n flops instead of n³ (``solver="woodbury"``; ``"auto"`` takes it when
m ≤ n / 2). On ml-latest-small's training split (671 users, 8,173 items) the fit takes 0.67 s
instead of 7.1 s, with B within 2e-7 and the same top-10 lists for every user (benchmarks/scale.py,
which also runs 1,000 × 11,901: 2.1 s against 19.7 s). The n × n float32 Q is again the only
large array (K X, n × m, is at most half its size): peak 1.2 × G against the inverse's 1.1 × G.

Threads: the factorisation is BLAS-bound. ``num_threads=1`` (the default) keeps B the same on
every machine: with two OpenBLAS threads B differs from the one-thread B in the last bits
(max |ΔB| ≈ 1e-8 on 6,000 items: the blocked updates are summed in another order), and on a
shared, busy machine two spinning BLAS threads were slower (4.9 s against 3.1 s for n = 6,000).
``num_threads=0`` uses one BLAS thread per available core.

Forgetting users (``forget``; the right to erasure): removing the rows X_U of users U turns G into
G − X_Uᵀ X_U, a rank-|U| downdate, so by the Sherman–Morrison–Woodbury identity (Woodbury 1950;
Golub & Van Loan, §2.1.4)

    P' = (G − X_Uᵀ X_U)⁻¹ = P + P X_Uᵀ (I − X_U P X_Uᵀ)⁻¹ X_U P,

about 2·nnz(X_U)·n + |U|·n² flops against the refit's n³. With ``keep_inverse=True`` the model keeps
P in float64 (8n² bytes; B is then float64 too) and ``forget`` downdates it: the scores equal a
float64 refit's to rounding (5e-15 on ml-100k; benchmarks/privacy.py). Without it (the default, float32, nothing kept)
``forget`` refits from the stored matrix: exact, not faster.
"""

from __future__ import annotations


import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_study.privacy.erasure import apply_layout, entry_rows, forget_layout
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


def _spd_inverse(a: np.ndarray, *, lower: bool, clean: bool) -> np.ndarray:
    """Return LAPACK's inverse of the symmetric positive definite ``a`` (potrf, then potri), in place where
    f2py allows; only the ``lower`` (else upper) triangle of the result is filled."""
    potrf, potri = sla.get_lapack_funcs(("potrf", "potri"), (a,))
    factor, info = potrf(a, lower=lower, overwrite_a=True, clean=clean)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: LAPACK potrf failed with info={info} (G + λI not positive definite)")
    p, info = potri(factor, lower=lower, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: LAPACK potri failed with info={info}")
    return p


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
    p = _spd_inverse(g.T, lower=True, clean=False)
    if not np.shares_memory(p, g):  # f2py copied after all (never for a float32 C array): take its result
        g[...] = p.T
    _mirror_upper(g)  # potri filled the upper triangle of g
    diag = np.diag(g).copy()
    g /= -diag[None, :]
    g[np.diag_indices_from(g)] = 0.0
    return g


def ease_weights_woodbury(x: sp.spmatrix, l2: float) -> np.ndarray:
    """Return EASE's B from the sparse m × n X through the m × m system (Woodbury), float32, diag 0.

    Q = Xᵀ (XXᵀ + λI)⁻¹ X, then B_ij = Q_ij / (1 − Q_jj) for i ≠ j. The m × m system is solved
    in float64 (Cholesky); Q, the only n × n array, is float32 and becomes B in place.
    """
    if l2 <= 0:
        raise ValueError(f"EASE needs a positive l2 penalty (λ), got {l2!r}")
    x = sp.csr_matrix(x, dtype=np.float64)
    kernel = (x @ x.T).toarray()
    kernel[np.diag_indices_from(kernel)] += l2
    try:
        factor = sla.cho_factor(kernel, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError as err:
        raise np.linalg.LinAlgError(f"EASE: Cholesky of XXᵀ + λI failed ({err})") from None
    k = sla.cho_solve(factor, np.eye(x.shape[0]), overwrite_b=True, check_finite=False)  # K, m × m
    kx_t = np.asarray(x.T.tocsr() @ k, dtype=np.float32)  # (K X)ᵀ, n × m: a sparse-dense product
    del k
    # (K X)ᵀ X is n × n and Fortran-ordered; its transpose, Q = Xᵀ K X, is C-ordered (no copy)
    q = np.asarray(kx_t @ x.astype(np.float32)).T
    del kx_t
    denom = np.float32(1.0) - np.diag(q).copy()
    q /= denom[None, :]
    q[np.diag_indices_from(q)] = 0.0
    return q


def _upper_to_full(p: np.ndarray) -> np.ndarray:
    """Return the symmetric matrix whose upper triangle ``p`` holds (float64, in place)."""
    low = np.tril_indices_from(p, -1)
    p[low] = p.T[low]
    return p


def ease_inverse(x: sp.spmatrix, l2: float, *, solver: str = "gram") -> np.ndarray:
    """Return P = (XᵀX + λI)⁻¹ in float64 (n × n), from the n × n Cholesky factor (``"gram"``) or the
    m × m one (``"woodbury"``: P = (I − Xᵀ(XXᵀ + λI)⁻¹X)/λ)."""
    if l2 <= 0:
        raise ValueError(f"EASE needs a positive l2 penalty (λ), got {l2!r}")
    x = sp.csr_matrix(x, dtype=np.float64)
    n = x.shape[1]
    if solver == "woodbury":
        kernel = (x @ x.T).toarray()
        kernel[np.diag_indices_from(kernel)] += l2
        kx = sla.cho_solve(sla.cho_factor(kernel, lower=True, overwrite_a=True, check_finite=False),
                           x.toarray(), overwrite_b=True, check_finite=False)  # K X, m × n
        p = -np.asarray(x.T @ kx)
        p[np.diag_indices_from(p)] += 1.0
        return p / l2
    g = np.asarray((x.T @ x).toarray(), dtype=np.float64)
    g[np.diag_indices(n)] += l2
    p = _spd_inverse(g, lower=False, clean=True)
    return _upper_to_full(p).T  # symmetric: the transpose of LAPACK's Fortran array is the C-ordered same matrix


def weights_from_inverse(p: np.ndarray) -> np.ndarray:
    """Return B with B_ij = −P_ij / P_jj (i ≠ j), B_jj = 0, as a new array of ``p``'s dtype."""
    b = p / -np.diag(p)[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b


def downdate_inverse(p: np.ndarray, rows: sp.spmatrix) -> np.ndarray:
    """Return (A − VᵀV)⁻¹ from P = A⁻¹ and the sparse rows V (r × n), updating ``p`` in place.

    Sherman–Morrison–Woodbury: (A − VᵀV)⁻¹ = P + P Vᵀ (I − V P Vᵀ)⁻¹ V P. With W = V P
    (r × n, a sparse-dense product) and M = I − W Vᵀ (r × r, positive definite when A − VᵀV is),
    P gains Wᵀ M⁻¹ W: one r × r Cholesky and an n × r by r × n product.
    """
    v = sp.csr_matrix(rows, dtype=np.float64)
    w = np.asarray(v @ p)                                   # V P, r × n (p C-ordered: no copy)
    m = np.eye(v.shape[0]) - np.asarray(v @ w.T)            # I − V P Vᵀ
    m = (m + m.T) / 2.0
    try:
        z = sla.cho_solve(sla.cho_factor(m, lower=True, check_finite=False), w, check_finite=False)
    except np.linalg.LinAlgError as err:
        raise np.linalg.LinAlgError(f"EASE.forget: I − V P Vᵀ is not positive definite ({err}); "
                                    "refit instead") from None
    p += w.T @ z
    return p


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
    solver : {"auto", "gram", "woodbury"}
        "gram" inverts the n × n XᵀX + λI; "woodbury" solves the m × m XXᵀ + λI instead (the
        same B, far cheaper when users are fewer than items); "auto" takes "woodbury" when
        there are at most half as many training users as items.
    keep_inverse : bool
        Keep P = (XᵀX + λI)⁻¹ in float64 (``inverse_``, 8n² bytes; B in float64 too) so that
        ``forget`` downdates it (Woodbury) instead of refitting. Default False: float32, nothing kept.

    ``forget(users)`` removes users exactly (module docstring): afterwards the model is the one a
    refit on the remaining rows gives, and a forgotten user gets the cold-user fallback.
    """

    name = "ease"
    thread_safe_scoring = True  # BLAS / sparse products on fitted state only
    #: what the tuner searches (recsys_study.protocol.tuning): the ridge penalty λ
    search_space = {"l2": {"type": "float", "low": 1.0, "high": 10000.0, "log": True}}

    SOLVERS = ("auto", "gram", "woodbury")

    forgets_users = True

    def __init__(self, *, l2: float = 250.0, use_ratings: bool = False, num_threads: int = 1,
                 solver: str = "auto", keep_inverse: bool = False):
        if solver not in self.SOLVERS:
            raise ValueError(f"EASE solver={solver!r}: use one of {list(self.SOLVERS)}")
        self.l2 = l2
        self.use_ratings = use_ratings
        self.num_threads = num_threads
        self.solver = solver
        self.keep_inverse = keep_inverse

    def _fit(self, user_items, *, train, items) -> None:
        if train is not None:  # forget calls _fit on the stored matrix, entry_rows_ already updated
            self.entry_rows_ = entry_rows(self, train)
        x = user_items.astype(np.float32)
        if not self.use_ratings:
            x = x.copy()
            x.data[:] = 1.0
        self.x_ = x.tocsr()
        n_users, n_items = self.x_.shape
        solver = self.solver
        if solver == "auto":
            solver = "woodbury" if 2 * n_users <= n_items else "gram"
        self.solver_ = solver
        with threadpool_limits(_n_threads(self.num_threads), "blas"):
            if self.keep_inverse:
                self.inverse_ = ease_inverse(self.x_, self.l2, solver=solver)
                self.weights_ = weights_from_inverse(self.inverse_)
            elif solver == "woodbury":
                self.weights_ = ease_weights_woodbury(self.x_, self.l2)
            else:
                self.weights_ = ease_weights(gram_matrix(self.x_), self.l2)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.x_[user_idx] @ self.weights_

    def _score_history(self, row):
        """Score x B for the user vector x of the (updated) history: no refit, B is user-independent."""
        x = row.astype(np.float32)
        if not self.use_ratings:
            x.data[:] = 1.0
        return x @ self.weights_

    def forget(self, users) -> EASE:
        """Remove ``users`` exactly, as if their rows had never been in ``train``; return self.

        With ``keep_inverse`` P is downdated by the removed rows (Woodbury, module docstring), the
        items no remaining user rated are dropped (their rows and columns of P decouple: exact) and
        the rest put in the refit's order; otherwise the weights are refitted from the stored
        matrix. Unknown users are skipped; a forgotten user gets the cold-user fallback.
        """
        layout = forget_layout(self, users)
        if layout is None:
            return self
        removed = self.x_[layout.forgotten]
        apply_layout(self, layout)
        if not self.keep_inverse:
            self._fit(self.user_items_, train=None, items=None)
            return self
        with threadpool_limits(_n_threads(self.num_threads), "blas"):
            p = downdate_inverse(self.inverse_, removed)
        order = layout.item_order
        if len(order) != p.shape[0] or not np.array_equal(order, np.arange(len(order))):
            p = p[np.ix_(order, order)]  # the refit's item order (and no row for an item no one rated)
        self.inverse_ = p
        x = self.user_items_.astype(np.float32)
        if not self.use_ratings:
            x = x.copy()
            x.data[:] = 1.0
        self.x_ = x.tocsr()
        n_users, n_items = self.x_.shape
        self.solver_ = self.solver if self.solver != "auto" else ("woodbury" if 2 * n_users <= n_items else "gram")
        self.weights_ = weights_from_inverse(self.inverse_)
        return self
