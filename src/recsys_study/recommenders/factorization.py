"""Latent-factor models: explicit biased MF (SGD) and implicit-feedback ALS / BPR via ``implicit``.

- ``BiasedMF`` ("FunkSVD" with biases; Koren, Bell & Volinsky, IEEE Computer 2009, eq. 5):
  r̂_ui = μ + b_u + b_i + p_uᵀ q_i, learnt by stochastic gradient descent on
  Σ (r_ui − r̂_ui)² + λ (‖p_u‖² + ‖q_i‖²) + λ_b (b_u² + b_i²), one pass over the
  shuffled ratings per epoch. The inner loop is compiled with numba when it is
  installed (it is, as a dependency of ``lifetimes``); otherwise it runs in Python.
- ``ImplicitALS`` (Hu, Koren & Volinsky, ICDM 2008): weighted least squares on the binary
  preference p_ui with confidence c_ui (Hu et al.: 1 + α r_ui); wraps ``implicit``'s CPU solver,
  whose confidence on an observed pair is c_ui = α x_ui itself (1 on unobserved pairs;
  tests/test_foldin.py solves its normal equations by hand).
- ``ImplicitBPR`` (Rendle et al., UAI 2009): pairwise ranking loss, ``implicit``'s CPU solver.

ALS solves every user's (item's) least-squares problem independently, so its factors do not
depend on the thread count (tests/test_foldin.py checks 1 against 2 threads): it uses one
thread per core by default (``num_threads=0``). BPR's Hogwild updates are only reproducible on
one thread, so it stays at ``num_threads=1``.
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


class ImplicitBPR(_ImplicitWrapper):
    """Bayesian personalised ranking (Rendle et al. 2009) through ``implicit.cpu.bpr``.

    Parameters
    ----------
    factors, learning_rate, regularization, iterations : as in ``implicit`` (its defaults).
    use_ratings, seed : as in :class:`ImplicitALS`.
    num_threads : int
        Solver threads (1 = reproducible: BPR's parallel SGD updates race otherwise).
    """

    name = "bpr"

    def __init__(self, *, factors: int = 100, learning_rate: float = 0.01, regularization: float = 0.01,
                 iterations: int = 100, use_ratings: bool = False, num_threads: int = 1, seed: int = 42):
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
