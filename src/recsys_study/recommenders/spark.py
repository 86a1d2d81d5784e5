"""Matrix factorisation on Apache Spark: the same model interface, and a whole-step path for data beyond one machine.

Two ways to use Spark:

- ``SparkALS`` trains ``pyspark.ml.recommendation.ALS`` (the block ALS of Zhou et al. 2008; with
  ``implicit_prefs`` the confidence-weighted objective of Hu, Koren & Volinsky 2008, the same
  model as ``als``) and keeps the learned factors as arrays, so ``recommend`` and ``predict``
  work exactly as for every other model. An experiment YAML switches the factorisation step to
  Spark by naming ``spark_als`` instead of ``als``. Only the solve is distributed: the training
  frame and the factors pass through the driver, which is fine while they fit in its memory.
- ``spark_evaluate(parquet_path, ...)`` runs the whole step on Spark when the data outgrow one
  machine: Spark reads the interactions from parquet, splits them per user (or reads a test
  part), fits ALS, recommends the top k with ``recommendForUserSubset`` (items seen in training
  excluded) and scores the lists with ``pyspark.ml.evaluation.RankingEvaluator``. Only the four
  metric values and a few counts reach the driver, nothing of size n_users × k.

``master`` points at a cluster (``spark://host:7077``, ``yarn``, ``k8s://...``; default
``local[1]``, Spark in this process's JVM, as the tests use it); ``checkpoint_dir`` must then be
storage every executor sees (``hdfs://...``, ``s3a://...``, a shared mount). Needs Java 17.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from recsys_study.constants import ITEM, RANK, RATING, SCORE, USER
from recsys_study.recommenders.base import Recommender

log = logging.getLogger(__name__)
_SESSIONS: dict[str, object] = {}
_INT32_MAX = 2**31 - 1
METRICS = {"precisionAtK": "Precision", "recallAtK": "Recall", "ndcgAtK": "NDCG", "meanAveragePrecisionAtK": "MAP"}


def spark_session(master: str = "local[1]", *, shuffle_partitions: int | None = None,
                  checkpoint_dir: str | None = None, driver_memory: str | None = None):
    """Return a SparkSession for ``master``, created once per process (no UI, loopback only in local mode).

    ``shuffle_partitions`` sets ``spark.sql.shuffle.partitions`` (default on creation: the
    master's default parallelism, e.g. 2 for ``local[2]``: Spark's own default of 200 tiny
    tasks dominates small local jobs). ``checkpoint_dir`` is where ALS cuts its RDD lineage
    (without one, long runs overflow the JVM stack); on a cluster it must be shared storage
    every executor reaches; default: a fresh driver-local temporary directory, fine for local
    mode only. Both may change on a later call; ``driver_memory`` (e.g. ``"8g"``) only applies
    when the session is created.
    """
    session = _SESSIONS.get(master)
    if session is None:
        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (SparkSession.builder.master(master).appName("recsys_study")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false"))
        if driver_memory:
            builder = builder.config("spark.driver.memory", driver_memory)
        if master.startswith("local"):
            builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        session.conf.set("spark.sql.shuffle.partitions", str(session.sparkContext.defaultParallelism))
        session.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="recsys-spark-checkpoints-"))
        _SESSIONS[master] = session
    if shuffle_partitions is not None:
        if int(shuffle_partitions) < 1:
            raise ValueError(f"shuffle_partitions must be a positive integer, got {shuffle_partitions!r}.")
        session.conf.set("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
    if checkpoint_dir is not None:
        session.sparkContext.setCheckpointDir(str(checkpoint_dir))
    return session


def _als(*, factors, regularization, iterations, alpha, implicit_prefs, seed, blocks):
    from pyspark.ml.recommendation import ALS

    return ALS(rank=factors, maxIter=iterations, regParam=regularization, alpha=alpha,
               implicitPrefs=implicit_prefs, userCol=USER, itemCol=ITEM, ratingCol=RATING, seed=seed,
               numUserBlocks=blocks, numItemBlocks=blocks, coldStartStrategy="nan", checkpointInterval=5)


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
    checkpoint_dir : str or None
        ALS checkpoint directory (shared storage on a cluster); None: a driver-local temp dir.
    shuffle_partitions : int or None
        ``spark.sql.shuffle.partitions``; None: the master's default parallelism.
    blocks : int or None
        ALS user and item blocks (``numUserBlocks``/``numItemBlocks``); None: the default
        parallelism (Spark's own default of 10 only adds task overhead in local mode).
    seed : int
        Seed of the initial factors.
    """

    name = "spark_als"

    def __init__(self, *, factors: int = 64, regularization: float = 0.1, iterations: int = 10,
                 alpha: float = 1.0, implicit_prefs: bool = True, master: str = "local[1]",
                 checkpoint_dir: str | None = None, shuffle_partitions: int | None = None,
                 blocks: int | None = None, seed: int = 42):
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.implicit_prefs = implicit_prefs
        self.master = master
        self.checkpoint_dir = checkpoint_dir
        self.shuffle_partitions = shuffle_partitions
        self.blocks = blocks
        self.seed = seed

    @property
    def predicts_ratings(self) -> bool:  # explicit ALS predicts ratings, implicit ALS only ranks
        return not self.implicit_prefs

    def _fit(self, user_items, *, train, items) -> None:
        spark = spark_session(self.master, shuffle_partitions=self.shuffle_partitions,
                              checkpoint_dir=self.checkpoint_dir)
        coo = user_items.tocoo()
        frame = pd.DataFrame({USER: coo.row.astype(np.int32), ITEM: coo.col.astype(np.int32),
                              RATING: coo.data.astype(np.float32)})
        data = spark.createDataFrame(frame)
        als = _als(factors=self.factors, regularization=self.regularization, iterations=self.iterations,
                   alpha=self.alpha, implicit_prefs=self.implicit_prefs, seed=self.seed,
                   blocks=self.blocks or spark.sparkContext.defaultParallelism)
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


# -- the whole step on Spark ----------------------------------------------------------------------

def read_interactions(spark, path: str, *, user_col: str = USER, item_col: str = ITEM,
                      rating_col: str | None = None):
    """Read ``user, item[, rating]`` interactions from parquet as a Spark DataFrame (columns renamed
    to ``user, item, rating``; ``rating`` = 1.0 when ``rating_col`` is None, i.e. binary feedback).

    Ids must be integers in [0, 2^31) (Spark's ALS stores them as int); map other ids first, e.g.
    with ``pyspark.ml.feature.StringIndexer``.
    """
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegralType

    try:
        frame = spark.read.parquet(str(path))
    except AnalysisException as err:
        if "PATH_NOT_FOUND" in str(err) or "does not exist" in str(err).lower():
            raise FileNotFoundError(f"{path}: no parquet file or directory there; write the interactions "
                                    "with DataFrame.to_parquet(path) or pass the right path.") from None
        raise
    wanted = [user_col, item_col] + ([rating_col] if rating_col else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: column(s) {missing} not found (it has {frame.columns}); pass "
                         "user_col=/item_col=/rating_col= naming its columns.")
    for c in (user_col, item_col):
        if not isinstance(frame.schema[c].dataType, IntegralType):
            raise ValueError(f"{path}: column {c!r} is {frame.schema[c].dataType.simpleString()}, but Spark's ALS "
                             "needs integer ids in [0, 2^31); map the ids to integers first (e.g. "
                             "pyspark.ml.feature.StringIndexer or pandas.factorize).")
    rating = F.col(rating_col).cast("float") if rating_col else F.lit(1.0).cast("float")
    return frame.select(F.col(user_col).alias(USER), F.col(item_col).alias(ITEM), rating.alias(RATING))


def _check_id_range(frame, path) -> None:
    from pyspark.sql import functions as F

    row = frame.agg(F.min(USER), F.max(USER), F.min(ITEM), F.max(ITEM)).first()
    if row is not None and row[0] is not None and (min(row[0], row[2]) < 0 or max(row[1], row[3]) > _INT32_MAX):
        raise ValueError(f"{path}: ids run from {min(row[0], row[2])} to {max(row[1], row[3])}, outside "
                         "[0, 2^31) that Spark's ALS accepts; re-index them first (e.g. pandas.factorize).")


def spark_user_split(frame, *, test_frac: float = 0.25, seed: int = 42):
    """Return (train, test) Spark DataFrames: each user gives ⌊test_frac·n_u + ½⌋ random interactions to
    test, capped so that every user keeps at least one in train (the rule of
    ``recsys_study.split.user_stratified_split``, drawn with Spark's ``rand(seed)`` instead of numpy's).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not 0.0 < test_frac < 1.0:
        raise ValueError(f"test_frac must lie strictly between 0 and 1, got {test_frac!r}.")
    by_user = Window.partitionBy(USER)
    ranked = (frame.withColumn("_key", F.rand(seed))
              .withColumn("_pos", F.row_number().over(by_user.orderBy("_key", ITEM)) - 1)
              .withColumn("_n", F.count(F.lit(1)).over(by_user)))
    n_test = F.least(F.floor(F.lit(test_frac) * F.col("_n") + F.lit(0.5)), F.col("_n") - 1)
    ranked = ranked.withColumn("_test", F.col("_pos") < n_test)
    cols = [USER, ITEM, RATING]
    return ranked.filter(~F.col("_test")).select(*cols), ranked.filter(F.col("_test")).select(*cols)


def spark_top_k(model, train, users, k: int):
    """Return the top-``k`` unseen items of each of ``users`` (a DataFrame with a ``user`` column) as a
    Spark DataFrame ``user, item, score, rank`` (rank 1-based; ties in score by the lower item id
    among the candidates Spark returns).

    ``recommendForUserSubset`` cannot exclude items, so users are grouped by their number of
    training items n_u into buckets 4^(b-1) ≤ n_u < 4^b, and bucket b asks for k + 4^b items:
    after the user's seen items are removed at least k remain (or every unseen item). Each user
    is scored against all items once, and at most Σ_u (k + 4 n_u) = n_users·k + 4·n_train
    candidate rows are produced, so nothing grows as n_users × n_items; the base 4 keeps the
    number of Spark jobs (one per bucket) near log4(max n_u).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counts = (train.groupBy(USER).agg(F.count(F.lit(1)).alias("_n"))
              .join(users.select(USER).distinct(), on=USER, how="inner")
              .withColumn("_bucket", F.floor(F.log2(F.col("_n")) / 2).cast("int") + 1)).cache()
    buckets = sorted(r["_bucket"] for r in counts.select("_bucket").distinct().collect())
    parts = []
    for b in buckets:
        subset = counts.filter(F.col("_bucket") == b).select(USER)
        parts.append(model.recommendForUserSubset(subset, k + 4**b))
    if not parts:
        counts.unpersist()
        return train.sparkSession.createDataFrame([], f"{USER} int, {ITEM} int, {SCORE} float, {RANK} int")
    recs = parts[0]
    for part in parts[1:]:
        recs = recs.unionByName(part)
    exploded = (recs.select(USER, F.explode("recommendations").alias("_r"))
                .select(USER, F.col(f"_r.{ITEM}").alias(ITEM), F.col("_r.rating").alias(SCORE)))
    unseen = exploded.join(train.select(USER, ITEM), on=[USER, ITEM], how="left_anti")
    order = Window.partitionBy(USER).orderBy(F.col(SCORE).desc(), F.col(ITEM).asc())
    return unseen.withColumn(RANK, F.row_number().over(order)).filter(F.col(RANK) <= k)


def spark_ranking_metrics(recs, truth, k: int) -> dict[str, float]:
    """Score Spark top-k lists with ``pyspark.ml.evaluation.RankingEvaluator``; return metric -> mean over users.

    ``recs``: Spark DataFrame ``user, item, rank`` (rank 1-based); ``truth``: ``user, item``, the
    relevant items. Every user of ``truth`` counts once (a user without a list scores 0); users only
    in ``recs`` are ignored, as in ``recsys_study.evaluation.ranking``. With binary relevance,
    RankingEvaluator computes (Spark's ``RankingMetrics``), for list L_k and relevant set R:
    P@k = |L_k ∩ R| / k; R@k = |L_k ∩ R| / |R|;
    NDCG@k = Σ_{i ∈ L_k ∩ R} 1/log(rank(i)+1) / Σ_{r=1}^{min(|R|,k)} 1/log(r+1);
    MAP@k = Σ_{i ∈ L_k ∩ R} P@rank(i) / min(|R|, k): the definitions of ``precision_at_k``,
    ``recall_at_k``, ``ndcg_at_k`` and ``map_at_k`` (Järvelin & Kekäläinen 2002; Manning et al.
    2008, ch. 8.4). Keys: ``Precision@k``, ``Recall@k``, ``NDCG@k``, ``MAP@k``.
    """
    from pyspark.ml.evaluation import RankingEvaluator
    from pyspark.sql import functions as F

    k = int(k)
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}; pass e.g. k=10.")
    lists = (recs.filter(F.col(RANK) <= k)
             .groupBy(USER).agg(F.sort_array(F.collect_list(F.struct(RANK, ITEM))).alias("_l"))
             .select(USER, F.col(f"_l.{ITEM}").cast("array<double>").alias("prediction")))
    labels = (truth.select(USER, ITEM).distinct().groupBy(USER)
              .agg(F.collect_list(F.col(ITEM).cast("double")).alias("label")))
    data = (labels.join(lists, on=USER, how="left")
            .select(F.coalesce("prediction", F.array().cast("array<double>")).alias("prediction"), "label")
            .cache())
    try:
        evaluator = RankingEvaluator(predictionCol="prediction", labelCol="label", k=k)
        return {f"{short}@{k}": float(evaluator.evaluate(data, {evaluator.metricName: name}))
                for name, short in METRICS.items()}
    finally:
        data.unpersist()


def spark_evaluate(parquet_path: str, *, test_path: str | None = None, k: int = 10, test_frac: float = 0.25,
                   factors: int = 64, regularization: float = 0.1, iterations: int = 10, alpha: float = 1.0,
                   implicit_prefs: bool = True, user_col: str = USER, item_col: str = ITEM,
                   rating_col: str | None = None, master: str = "local[1]", checkpoint_dir: str | None = None,
                   shuffle_partitions: int | None = None, blocks: int | None = None,
                   recommendations_path: str | None = None, seed: int = 42) -> dict:
    """Run split → ALS fit → top-k → ranking metrics entirely on Spark; return the metrics and counts.

    Spark reads ``parquet_path`` itself (a file or a directory of parts, local or on shared
    storage). Without ``test_path`` it splits per user with ``spark_user_split``
    (``test_frac``, ``seed``); with it, ``parquet_path`` is the train part and ``test_path`` the
    test part. ALS (see ``SparkALS`` for the objective) is fitted on the train part, every test
    user gets the top ``k`` unseen items (``spark_top_k``), and the lists are scored against the
    test items with RankingEvaluator (``spark_ranking_metrics``). Test users absent from the train
    part get no list and score 0. ``recommendations_path`` (optional) receives the lists as parquet
    (``user, item, score, rank``), written by the executors.

    Returns ``{"Precision@k", "Recall@k", "NDCG@k", "MAP@k", "n_train", "n_test", "n_test_users",
    "fit_s", "total_s", "master"}``; only these scalars reach the driver.
    """
    start = time.perf_counter()
    spark = spark_session(master, shuffle_partitions=shuffle_partitions, checkpoint_dir=checkpoint_dir)
    data = read_interactions(spark, parquet_path, user_col=user_col, item_col=item_col, rating_col=rating_col)
    _check_id_range(data, parquet_path)
    if test_path is None:
        train, test = spark_user_split(data, test_frac=test_frac, seed=seed)
    else:
        train = data
        test = read_interactions(spark, test_path, user_col=user_col, item_col=item_col, rating_col=rating_col)
    train = train.cache()
    test = test.select(USER, ITEM).cache()
    n_train, n_test = train.count(), test.count()
    if n_train == 0 or n_test == 0:
        raise ValueError(f"{parquet_path}: the {'train' if n_train == 0 else 'test'} part is empty; "
                         "pass more interactions or a larger test_frac.")
    fit_start = time.perf_counter()
    als = _als(factors=factors, regularization=regularization, iterations=iterations, alpha=alpha,
               implicit_prefs=implicit_prefs, seed=seed, blocks=blocks or spark.sparkContext.defaultParallelism)
    model = als.fit(train)
    fit_s = time.perf_counter() - fit_start
    test_users = test.select(USER).distinct()
    recs = spark_top_k(model, train, test_users, k).cache()
    try:
        if recommendations_path is not None:
            recs.write.mode("overwrite").parquet(str(recommendations_path))
        metrics = spark_ranking_metrics(recs, test, k)
        n_users = test_users.count()
    finally:
        recs.unpersist()
        train.unpersist()
        test.unpersist()
    return {**metrics, "n_train": int(n_train), "n_test": int(n_test), "n_test_users": int(n_users),
            "fit_s": fit_s, "total_s": time.perf_counter() - start, "master": master}
