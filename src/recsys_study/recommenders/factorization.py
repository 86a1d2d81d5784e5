"""Latent-factor models: explicit biased MF (SGD), implicit-feedback ALS via ``implicit``, and BPR.

- ``BiasedMF`` ("FunkSVD" with biases; Koren, Bell & Volinsky, IEEE Computer 2009, eq. 5):
  r̂_ui = μ + b_u + b_i + p_uᵀ q_i, learnt by stochastic gradient descent on
  Σ (r_ui − r̂_ui)² + λ (‖p_u‖² + ‖q_i‖²) + λ_b (b_u² + b_i²), one pass over the
  shuffled ratings per epoch. The inner loop is compiled with numba when it is
  installed (it is, as a dependency of ``lifetimes``); otherwise it runs in Python.
- ``ImplicitALS`` (Hu, Koren & Volinsky, ICDM 2008): weighted least squares on the binary
  preference p_ui with confidence c_ui (Hu et al.: 1 + α r_ui); wraps ``implicit``'s CPU solver,
  whose confidence on an observed pair is c_ui = α x_ui itself (1 on unobserved pairs;
  tests/test_foldin.py solves its normal equations by hand).
- ``ImplicitBPR`` (Rendle et al., UAI 2009): pairwise ranking loss, by default our compiled SGD,
  Cornac's BPR step for step (negatives drawn uniformly from all items, item biases);
  ``solver="implicit"`` wraps ``implicit``'s CPU solver, whose negatives are drawn in proportion to
  item popularity. On ml-100k's published split (per-item 75/25, 2021 realisation, seed 42) at
  Cornac's settings (200 factors, 200 epochs, step 0.01, λ 0.001) NDCG@10 is 0.442 with uniform
  negatives, 0.187 with popularity-drawn ones and 0.184 with ``implicit``; the best of a 48-point
  grid of ``implicit`` settings reached 0.371, and ``implicit`` peaks near 0.37 at every step size
  tried: as its epochs go on, the lists drift to the long tail (ARP@10 333 → 77 by epoch 200 with
  popularity-drawn negatives) while held-out MovieLens films are mostly popular ones.

ALS solves every user's (item's) least-squares problem independently, so its factors do not
depend on the thread count (tests/test_foldin.py checks 1 against 2 threads): it uses one
thread per core by default (``num_threads=0``). ``implicit``'s BPR Hogwild updates are only
reproducible on one thread, so it stays at ``num_threads=1``; our SGD runs on one thread.
"""

from __future__ import annotations

import copy
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_study.recommenders._jit import jit
from recsys_study.recommenders.base import Recommender


@contextmanager
def _no_ipywidgets_warning():
    """Silence tqdm's "IProgress not found" TqdmWarning while implicit imports ``tqdm.auto``.

    Inside a Jupyter kernel without ipywidgets that import warns, naming the venv's path, in every
    executed notebook; implicit's bars are off here anyway (``show_progress=False``).
    """
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)
        yield


@jit
def _sgd_epoch(users, items, ratings, order, mu, bu, bi, p, q, lr, reg, reg_bias):  # pragma: no cover - jitted
    sse = 0.0
    n_factors = p.shape[1]
    for idx in order:
        u = users[idx]
        i = items[idx]
        pred = mu + bu[u] + bi[i]
        for f in range(n_factors):
            pred += p[u, f] * q[i, f]
        err = ratings[idx] - pred
        sse += err * err
        bu[u] += lr * (err - reg_bias * bu[u])
        bi[i] += lr * (err - reg_bias * bi[i])
        for f in range(n_factors):
            pu = p[u, f]
            qi = q[i, f]
            p[u, f] += lr * (err * qi - reg * pu)
            q[i, f] += lr * (err * pu - reg * qi)
    return sse


class BiasedMF(Recommender):
    """Explicit-rating matrix factorisation with biases, trained by SGD.

    Parameters
    ----------
    factors : int
        Latent dimension.
    epochs : int
        Passes over the training ratings.
    learning_rate, regularization, bias_regularization : float
        SGD step γ, factor penalty λ and bias penalty λ_b.
    init_std : float
        Standard deviation of the normal initial factors.
    seed : int
        Seeds the initial factors and the per-epoch shuffles.
    """

    name = "biased_mf"
    predicts_ratings = True
    thread_safe_scoring = True  # numpy products on fitted state only

    def __init__(self, *, factors: int = 50, epochs: int = 30, learning_rate: float = 0.01,
                 regularization: float = 0.1, bias_regularization: float = 0.02,
                 init_std: float = 0.1, seed: int = 42):
        self.factors = factors
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.bias_regularization = bias_regularization
        self.init_std = init_std
        self.seed = seed

    def _fit(self, user_items, *, train, items) -> None:
        coo = user_items.tocoo()
        users = coo.row.astype(np.int64)
        items_ = coo.col.astype(np.int64)
        ratings = coo.data.astype(np.float64)
        rng = np.random.default_rng(self.seed)
        n_users, n_items = user_items.shape
        self.mu_ = float(ratings.mean()) if len(ratings) else 0.0
        self.user_bias_ = np.zeros(n_users)
        self.item_bias_ = np.zeros(n_items)
        self.user_factors_ = rng.normal(0.0, self.init_std, (n_users, self.factors))
        self.item_factors_ = rng.normal(0.0, self.init_std, (n_items, self.factors))
        self.train_rmse_ = []
        for _ in range(self.epochs):
            order = rng.permutation(len(ratings))
            sse = _sgd_epoch(users, items_, ratings, order, self.mu_, self.user_bias_, self.item_bias_,
                             self.user_factors_, self.item_factors_, float(self.learning_rate),
                             float(self.regularization), float(self.bias_regularization))
            self.train_rmse_.append(float(np.sqrt(sse / max(len(ratings), 1))))
        self.rating_range_ = (float(ratings.min()), float(ratings.max())) if len(ratings) else (-np.inf, np.inf)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return (self.mu_ + self.user_bias_[user_idx, None] + self.item_bias_[None, :]
                + self.user_factors_[user_idx] @ self.item_factors_.T)

    def _predict(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        raw = (self.mu_ + self.user_bias_[user_idx] + self.item_bias_[item_idx]
               + np.einsum("nf,nf->n", self.user_factors_[user_idx], self.item_factors_[item_idx]))
        return np.clip(raw, *self.rating_range_)  # a prediction outside the scale is never better


def _implicit_input(user_items: sp.csr_matrix, use_ratings: bool) -> sp.csr_matrix:
    x = user_items.copy().astype(np.float32)
    if not use_ratings:
        x.data[:] = 1.0
    return x


class _ImplicitWrapper(Recommender):
    """Shared fit/score of the ``implicit`` CPU models (factors → dot-product scores)."""
    thread_safe_scoring = True  # BLAS / sparse products on fitted state only

    def _make(self):
        raise NotImplementedError

    def _fit(self, user_items, *, train, items) -> None:
        with threadpool_limits(1, "blas"):  # implicit checks the BLAS threads when the model is built
            model = self._make()
            model.fit(_implicit_input(user_items, self.use_ratings), show_progress=False)
        self.model_ = model
        self.user_factors_ = np.asarray(model.user_factors)
        self.item_factors_ = np.asarray(model.item_factors)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.user_factors_[user_idx] @ self.item_factors_.T


class ImplicitALS(_ImplicitWrapper):
    """Implicit-feedback ALS (Hu et al. 2008) through ``implicit.cpu.als``.

    Parameters
    ----------
    factors, regularization, iterations : as in ``implicit`` (its defaults).
    alpha : float
        Confidence scale: c_ui = α x_ui on observed pairs, 1 elsewhere (implicit's convention).
    use_ratings : bool
        x_ui = the rating if True, else 1 for every interaction (default).
    num_threads : int
        Solver threads (0 = one per core); the factors do not depend on it.
    seed : int
        ``random_state`` of the initial factors.
    """

    name = "als"
    #: what the tuner searches (recsys_study.protocol.tuning): latent size, ridge penalty, confidence scale, sweeps
    search_space = {
        "factors": {"type": "int", "low": 16, "high": 256, "log": True},
        "regularization": {"type": "float", "low": 1e-2, "high": 1000.0, "log": True},
        "alpha": {"type": "float", "low": 0.1, "high": 100.0, "log": True},
        "iterations": {"type": "int", "low": 5, "high": 50},
    }

    def __init__(self, *, factors: int = 100, regularization: float = 0.01, alpha: float = 1.0,
                 iterations: int = 15, use_ratings: bool = False, num_threads: int = 0, seed: int = 42):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.use_ratings = use_ratings
        self.num_threads = num_threads
        self.seed = seed

    def _score_history(self, row):
        """Fold the user in: x_u = (YᵀY + Yᵀ(Cᵘ − I)Y + λI)⁻¹ YᵀCᵘp(u) from the fitted item factors Y
        (Hu, Koren & Volinsky 2008, eq. 4; implicit's ``recalculate_user``, an exact Cholesky
        solve), then the scores x_u Yᵀ."""
        solver = getattr(self, "_foldin_solver", None)
        if solver is None:  # one user: a single solver thread (waking OpenMP threads took ~36 ms)
            with threadpool_limits(1, "blas"):
                _ = self.model_.YtY  # YᵀY once per model (implicit caches it on the model)
            solver = copy.copy(self.model_)  # shares the factors and YᵀY
            solver.num_threads = 1
            self._foldin_solver = solver
        factors = solver.recalculate_user(0, _implicit_input(row, self.use_ratings))
        return (np.asarray(factors, dtype=self.item_factors_.dtype) @ self.item_factors_.T)[None, :]

    def _make(self):
        with _no_ipywidgets_warning():
            from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors, regularization=self.regularization, alpha=self.alpha,
            iterations=self.iterations, num_threads=self.num_threads, random_state=self.seed,
        )


@jit(fastmath=True)  # SIMD dot products: 1.4x faster on ml-100k, the same lists there
def _bpr_epoch(users, items, indptr, indices, positives, negatives, user_factors, item_factors, item_bias,
               lr, reg, reg_bias):  # pragma: no cover - jitted
    """One BPR pass: for each drawn training pair (u, i) and drawn item j, skip j if u has it, else one SGD
    step on ln σ(x_uij), x_uij = b_i − b_j + p_u·(q_i − q_j). Returns (steps with x_uij > 0, skipped)."""
    correct = 0
    skipped = 0
    n_factors = user_factors.shape[1]
    for s in range(positives.shape[0]):
        pair = positives[s]
        u = users[pair]
        i = items[pair]
        j = negatives[s]
        lo = indptr[u]
        hi = indptr[u + 1]
        while lo < hi:  # binary search of j in u's sorted items
            mid = (lo + hi) // 2
            if indices[mid] < j:
                lo = mid + 1
            else:
                hi = mid
        if lo < indptr[u + 1] and indices[lo] == j:
            skipped += 1
            continue
        x = item_bias[i] - item_bias[j]
        for f in range(n_factors):
            x += user_factors[u, f] * (item_factors[i, f] - item_factors[j, f])
        z = 1.0 / (1.0 + np.exp(x))  # σ(−x): the gradient weight of ln σ(x)
        if z < 0.5:
            correct += 1
        for f in range(n_factors):
            pu = user_factors[u, f]
            qi = item_factors[i, f]
            qj = item_factors[j, f]
            user_factors[u, f] += lr * (z * (qi - qj) - reg * pu)
            item_factors[i, f] += lr * (z * pu - reg * qi)
            item_factors[j, f] += lr * (-z * pu - reg * qj)
        item_bias[i] += lr * (z - reg_bias * item_bias[i])
        item_bias[j] += lr * (-z - reg_bias * item_bias[j])
    return correct, skipped


class _ImplicitLibraryBPR(_ImplicitWrapper):
    """implicit's CPU BPR behind ``ImplicitBPR(solver="implicit")`` (its item bias is its last factor)."""

    name = "bpr"

    def __init__(self, *, factors, learning_rate, regularization, iterations, use_ratings, num_threads, seed):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.use_ratings = use_ratings
        self.num_threads = num_threads
        self.seed = seed

    def _make(self):
        with _no_ipywidgets_warning():
            from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(
            factors=self.factors, learning_rate=self.learning_rate, regularization=self.regularization,
            iterations=self.iterations, num_threads=self.num_threads, random_state=self.seed,
        )


class ImplicitBPR(Recommender):
    """Bayesian personalised ranking (Rendle et al., UAI 2009) for implicit feedback.

    Maximises Σ ln σ(x_ui − x_uj) − λ‖Θ‖² over triples (u, i, j), i an item u interacted with and j one
    u did not, with x_ui = b_i + p_uᵀ q_i, by stochastic gradient ascent.

    ``solver="sgd"`` (default) is Cornac's BPR step for step: an epoch draws as many (u, i) pairs as
    there are training pairs, uniformly with replacement, and for each a negative j uniformly from all
    items (a j the user has is skipped); item biases b_i; factors initialised U(−0.5, 0.5)/factors,
    biases 0; one learning rate, no schedule. Compiled with numba, float64, one thread: the same seed
    gives the same factors. ``negatives="popularity"`` draws j in proportion to its training count
    instead: the scheme of ``implicit``'s BPR (j = the item of a random training pair).
    ``solver="implicit"`` wraps ``implicit.cpu.bpr`` as it is (popularity-drawn negatives, float32,
    Hogwild threads). On ml-100k's published split ``implicit`` stays ~0.07 NDCG@10 or more below
    the uniform sampler whatever its settings (module docstring): the popularity-drawn negatives push
    popular items down, and on MovieLens held-out films are mostly popular ones.

    Parameters
    ----------
    factors : int
        Latent dimension.
    learning_rate : float
        SGD step.
    regularization : float
        L2 penalty λ on the factors and the item biases.
    iterations : int
        Epochs.
    negatives : {"uniform", "popularity"}
        How the sgd solver draws the negative item (``implicit`` always draws by popularity).
    solver : {"sgd", "implicit"}
    use_ratings : bool
        Unused by BPR's binary objective; kept for the ``implicit`` wrapper's signature.
    num_threads : int
        Threads of the ``implicit`` solver (1 = reproducible); the sgd solver runs on one thread.
    seed : int
        Seeds the initial factors and the draws.
    """

    name = "bpr"
    thread_safe_scoring = True  # numpy products on fitted state only
    #: what the tuner searches (recsys_study.protocol.tuning): latent size, SGD step, L2 penalty, epochs
    search_space = {
        "factors": {"type": "int", "low": 16, "high": 256, "log": True},
        "learning_rate": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
        "regularization": {"type": "float", "low": 1e-5, "high": 0.1, "log": True},
        "iterations": {"type": "int", "low": 20, "high": 400, "log": True},
    }
    SOLVERS = ("sgd", "implicit")
    NEGATIVES = ("uniform", "popularity")

    def __init__(self, *, factors: int = 100, learning_rate: float = 0.01, regularization: float = 0.01,
                 iterations: int = 100, negatives: str = "uniform", solver: str = "sgd", use_ratings: bool = False,
                 num_threads: int = 1, seed: int = 42):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.negatives = negatives
        self.solver = solver
        self.use_ratings = use_ratings
        self.num_threads = num_threads
        self.seed = seed

    def _fit(self, user_items, *, train, items) -> None:
        if self.solver not in self.SOLVERS:
            raise ValueError(f"BPR solver={self.solver!r}: use one of {list(self.SOLVERS)}")
        if self.negatives not in self.NEGATIVES:
            raise ValueError(f"BPR negatives={self.negatives!r}: use one of {list(self.NEGATIVES)}")
        if self.solver == "implicit":
            if self.negatives != "popularity":
                warnings.warn("implicit's BPR always draws negatives by popularity; negatives="
                              f"{self.negatives!r} is not applied", stacklevel=3)
            lib = _ImplicitLibraryBPR(factors=self.factors, learning_rate=self.learning_rate,
                                      regularization=self.regularization, iterations=self.iterations,
                                      use_ratings=self.use_ratings, num_threads=self.num_threads, seed=self.seed)
            lib._fit(user_items, train=train, items=items)
            self.model_ = lib.model_
            self.user_factors_, self.item_factors_ = lib.user_factors_, lib.item_factors_
            self.item_bias_ = None  # implicit keeps it in the last factor (the user side holds 1)
            return
        x = sp.csr_matrix(user_items)
        x.sort_indices()
        n_users, n_items = x.shape
        factors = int(self.factors)
        users = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(x.indptr))
        items_ = x.indices.astype(np.int64)
        indptr = x.indptr.astype(np.int64)
        rng = np.random.default_rng(self.seed)
        self.user_factors_ = (rng.random((n_users, factors)) - 0.5) / factors
        self.item_factors_ = (rng.random((n_items, factors)) - 0.5) / factors
        self.item_bias_ = np.zeros(n_items)
        nnz = len(items_)
        self.train_auc_ = []
        for _ in range(int(self.iterations)):
            if nnz == 0:
                break
            positives = rng.integers(0, nnz, nnz)
            if self.negatives == "uniform":
                negatives = rng.integers(0, n_items, nnz)
            else:
                negatives = items_[rng.integers(0, nnz, nnz)]
            correct, skipped = _bpr_epoch(users, items_, indptr, items_, positives, negatives, self.user_factors_,
                                          self.item_factors_, self.item_bias_, float(self.learning_rate),
                                          float(self.regularization), float(self.regularization))
            self.train_auc_.append(correct / max(nnz - skipped, 1))

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        scores = self.user_factors_[user_idx] @ self.item_factors_.T
        if self.item_bias_ is not None:
            scores += self.item_bias_[None, :]
        return scores
