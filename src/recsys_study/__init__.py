"""recsys_study: personalised recommendation for CRM, studied reproducibly.

The flow of the package follows the flow of the data::

    data -> split -> recommenders -> evaluation -> tracking -> reports / site

The names below are the public API; each is imported on first use, so ``import recsys_study``
stays fast (it loads neither numpy nor pandas)::

    import recsys_study as rs

    data = rs.load_movielens()                                  # the MovieLens ratings shipped offline
    split = rs.make_split(data.interactions, "user_stratified", test_frac=0.25, seed=42)
    model = rs.make_model("ease", l2=250.0).fit(split.train)    # any name of rs.available_models()
    lists = model.recommend([split.test.user.iloc[0]], k=10)
    scores = rs.evaluate(model, split, k=10, items=data.items, log=False).attrs["summary"]
    table = rs.compare([{"algorithm": "ease"}, {"algorithm": "most_popular"}], split, items=data.items, log=False).summary

``rs.register(name, cls)`` adds your own recommender to the registry (see the README);
``rs.start_run`` opens an MLflow run with the study's provenance and ``rs.log_recommender``
logs a fitted model as an MLflow pyfunc model. See ``docs/architecture.md``.

``implicit`` and OpenBLAS fight over threads when both parallelise; the package
asks OpenBLAS for one thread before numpy is imported, unless the user set it.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"

_API = {
    "load_movielens": ("recsys_study.data", "load_movielens"),
    "Dataset": ("recsys_study.data", "Dataset"),
    "make_split": ("recsys_study.split", "make_split"),
    "Split": ("recsys_study.split", "Split"),
    "make_model": ("recsys_study.recommenders.registry", "make"),
    "available_models": ("recsys_study.recommenders.registry", "available"),
    "register": ("recsys_study.recommenders.registry", "register"),
    "Recommender": ("recsys_study.recommenders.base", "Recommender"),
    "evaluate": ("recsys_study.protocol", "evaluate"),
    "compare": ("recsys_study.protocol", "compare"),
    "Protocol": ("recsys_study.protocol", "Protocol"),
    "RelevancePolicy": ("recsys_study.protocol", "RelevancePolicy"),
    "start_run": ("recsys_study.tracking", "start_run"),
    "log_recommender": ("recsys_study.tracking", "log_recommender"),
    "build_site": ("recsys_study.site", "build_site"),
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        import importlib

        module, attr = _API[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'recsys_study' has no attribute {name!r}; the public API is {sorted(_API)}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
