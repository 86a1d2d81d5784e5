"""Name -> class: the only place that maps algorithm names to recommender classes.

Entries are "module:Class" strings, imported on first use, so that a YAML file or a
notebook can name a model without importing every family (and its dependencies).
"""

from __future__ import annotations

import difflib
import importlib
import inspect

REGISTRY: dict[str, str] = {
    # baselines
    "random": "recsys_study.recommenders.baselines:RandomRecommender",
    "most_popular": "recsys_study.recommenders.baselines:MostPopular",
    "bias": "recsys_study.recommenders.baselines:Bias",
    # neighbourhood
    "user_knn": "recsys_study.recommenders.neighborhood:UserKNN",
    "item_knn": "recsys_study.recommenders.neighborhood:ItemKNN",
    # matrix factorisation
    "biased_mf": "recsys_study.recommenders.factorization:BiasedMF",
    "als": "recsys_study.recommenders.factorization:ImplicitALS",
    "bpr": "recsys_study.recommenders.factorization:ImplicitBPR",
    "spark_als": "recsys_study.recommenders.spark:SparkALS",
    # linear and graph
    "ease": "recsys_study.recommenders.linear:EASE",
    "rp3beta": "recsys_study.recommenders.graph:RP3Beta",
    # content-based
    "content_profile": "recsys_study.recommenders.content:ContentProfile",
    "content_bayes": "recsys_study.recommenders.content:ContentBayes",
    "content_knn": "recsys_study.recommenders.content:ContentKNN",
    "profile_clusters": "recsys_study.recommenders.content:ProfileClusters",
    "association_rules": "recsys_study.recommenders.content:AssociationRules",
    # hybrids (Burke 2002)
    "weighted": "recsys_study.recommenders.hybrid:WeightedHybrid",
    "switching": "recsys_study.recommenders.hybrid:SwitchingHybrid",
    "feature_augmented": "recsys_study.recommenders.hybrid:FeatureAugmentedHybrid",
    "cascade": "recsys_study.recommenders.hybrid:CascadeHybrid",
    "mixed": "recsys_study.recommenders.hybrid:MixedHybrid",
}


class UnknownAlgorithmError(KeyError):
    """Raised for an algorithm name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


def available() -> list[str]:
    """Return the registered algorithm names, sorted."""
    return sorted(REGISTRY)


def get_class(name: str) -> type:
    """Return the recommender class registered under ``name``."""
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, REGISTRY, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise UnknownAlgorithmError(
            f"unknown algorithm {name!r}.{hint} Registered algorithms: {', '.join(available())}."
        )
    module_name, cls_name = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def make(name: str, **params):
    """Build the recommender ``name`` with hyperparameters ``params`` (checked against its constructor)."""
    cls = get_class(name)
    sig = inspect.signature(cls.__init__)
    accepted = [p for p in sig.parameters if p != "self"]
    unknown = [p for p in params if p not in accepted]
    if unknown:
        raise TypeError(
            f"algorithm {name!r} has no hyperparameter(s) {unknown}; its hyperparameters are {accepted}."
        )
    return cls(**params)


def from_spec(spec: dict):
    """Build a recommender from a YAML-style spec ``{algorithm: NAME, params: {...}}``."""
    extra = set(spec) - {"algorithm", "params", "label"}
    if "algorithm" not in spec or extra:
        raise ValueError(
            f"a model spec needs 'algorithm' and optional 'params'/'label'; got keys {sorted(spec)}."
        )
    return make(spec["algorithm"], **(spec.get("params") or {}))
