"""Matrix factorisation on Apache Spark: the same model interface, for data beyond one machine.

``SparkALS`` trains ``pyspark.ml.recommendation.ALS`` (the block ALS of Zhou et al. 2008; with
``implicit_prefs`` the confidence-weighted objective of Hu, Koren & Volinsky 2008, the same
model as ``als``) and keeps the learned factors as arrays, so ``recommend`` and ``predict``
work exactly as for every other model. An experiment YAML switches the factorisation step to
Spark by naming ``spark_als`` instead of ``als``; ``master`` points at a cluster (default:
``local[1]``, Spark in this process's JVM, as the tests use it). Needs Java 17.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

import numpy as np
import pandas as pd

from recsys_study.recommenders.base import Recommender

log = logging.getLogger(__name__)
_SESSIONS: dict[str, object] = {}


def spark_session(master: str = "local[1]"):
    """Return a SparkSession for ``master``, created once per process (no UI, loopback only)."""
    if master in _SESSIONS:
        return _SESSIONS[master]
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(master).appName("recsys_study")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.showConsoleProgress", "false"))
    if master.startswith("local"):
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    # ALS cuts its RDD lineage at checkpoints; without a directory a long run overflows the JVM stack
    session.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="recsys-spark-checkpoints-"))
    _SESSIONS[master] = session
    return session


class SparkALS(Recommender):
    """Alternating least squares on Spark (``pyspark.ml.recommendation.ALS``).

    Implicit feedback (``implicit_prefs=True``, default): minimise
    Σ_ui c_ui (p_ui − x_uᵀ y_i)² + λ(Σ‖x_u‖² + Σ‖y_i‖²), p_ui = 1[r_ui > 0], c_ui = 1 + α r_ui
    (Hu et al. 2008; Spark scales λ by the number of ratings of each user/item, "ALS-WR").
    Explicit (``implicit_prefs=False``): minimise Σ_(u,i)∈R (r_ui − x_uᵀ y_i)² + λ(...), and
    ``predict`` returns x_uᵀ y_i (Zhou et al. 2008, "Large-scale parallel collaborative
    filtering for the Netflix prize").

    Parameters
    ----------
    factors, regularization, iterations, alpha : rank, regParam, maxIter, alpha of Spark's ALS.
    implicit_prefs : bool
        Implicit-feedback objective (ranking) or explicit ratings (rating prediction).
    master : str
        Spark master URL; ``local[1]`` runs in-process on one core.
    seed : int
        Seed of the initial factors.
    """

    name = "spark_als"

    def __init__(self, *, factors: int = 64, regularization: float = 0.1, iterations: int = 10,
                 alpha: float = 1.0, implicit_prefs: bool = True, master: str = "local[1]", seed: int = 42):
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.implicit_prefs = implicit_prefs
        self.master = master
        self.seed = seed

    @property
    def predicts_ratings(self) -> bool:  # explicit ALS predicts ratings, implicit ALS only ranks
        return not self.implicit_prefs

    def _fit(self, user_items, *, train, items) -> None:
        from pyspark.ml.recommendation import ALS

        spark = spark_session(self.master)
        coo = user_items.tocoo()
        frame = pd.DataFrame({"u": coo.row.astype(np.int32), "i": coo.col.astype(np.int32),
                              "r": coo.data.astype(np.float32)})
        data = spark.createDataFrame(frame)
        als = ALS(rank=self.factors, maxIter=self.iterations, regParam=self.regularization, alpha=self.alpha,
                  implicitPrefs=self.implicit_prefs, userCol="u", itemCol="i", ratingCol="r", seed=self.seed,
                  coldStartStrategy="nan", checkpointInterval=5)
        model = als.fit(data)
        self.user_factors_ = self._factors(model.userFactors, user_items.shape[0])
        self.item_factors_ = self._factors(model.itemFactors, user_items.shape[1])

    def _factors(self, spark_frame, n: int) -> np.ndarray:
        rows = spark_frame.toPandas()
        out = np.zeros((n, self.factors), dtype=np.float32)
        out[rows["id"].to_numpy()] = np.vstack(rows["features"].to_numpy())
        return out

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.user_factors_[user_idx] @ self.item_factors_.T

    def _predict(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", self.user_factors_[user_idx], self.item_factors_[item_idx])
