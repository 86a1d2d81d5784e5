"""Name -> class: the only place that maps algorithm names to recommender classes.

Entries are "module:Class" strings, imported on first use, so that a YAML file or a
notebook can name a model without importing every family (and its dependencies).
``register(name, cls)`` (or ``@register(name)``) adds a user's own recommender; packages
can also declare one under the entry-point group ``recsys_study.recommenders``.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import json
import os

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
    "sar": "recsys_study.recommenders.sar:SAR",
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
    # demographic filtering (Pazzani 1999) and its fallback hybrid for new users
    "demographic": "recsys_study.recommenders.demographic:Demographic",
    "demographic_fallback": "recsys_study.recommenders.demographic:DemographicFallback",
    # ε-differentially private statistics (Dwork & Roth 2014)
    "private_popularity": "recsys_study.recommenders.private:PrivatePopularity",
    "private_ease": "recsys_study.recommenders.private:PrivateEASE",
}


class UnknownAlgorithmError(KeyError):
    """Raised for an algorithm name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


ENV_REGISTERED = "RECSYS_STUDY_RECOMMENDERS"  # JSON {name: "module:Class"}: registrations seen by child processes
ENTRY_POINT_GROUP = "recsys_study.recommenders"  # installed packages can register models without any call
_CLASSES: dict[str, type] = {}  # classes registered by object (defined in a notebook or a script)


class RegistrationError(ValueError):
    """``register`` was given a name or a class it cannot accept; the message names the fix."""


@functools.lru_cache(maxsize=1)
def _entry_point_models() -> tuple[tuple[str, str], ...]:
    """Return the models installed packages declare (read once per process: a scan of every
    distribution's metadata took ~55 ms, and a comparison study builds hundreds of models)."""
    try:
        from importlib.metadata import entry_points

        return tuple((ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP))
    except Exception:  # a broken third-party distribution must not hide the built-in models
        return ()


def _entries() -> dict[str, str | type]:
    """Return every registered name: built-ins, entry points, the environment, then ``register`` calls."""
    out: dict[str, str | type] = dict(REGISTRY)
    out.update(dict(_entry_point_models()))
    try:
        out.update(json.loads(os.environ.get(ENV_REGISTERED) or "{}"))
    except ValueError:
        pass
    out.update(_CLASSES)
    return out


def register(name: str, cls: type | str | None = None, *, replace: bool = False):
    """Add a recommender to the registry under ``name``; usable as ``@register("name")`` on a class.

    ``cls`` is a subclass of :class:`~recsys_study.recommenders.base.Recommender` or a
    ``"module:Class"`` string (imported on first use). Once registered, the name works
    everywhere a built-in one does: ``make(name)``, ``from_spec``, ``compare`` with
    ``{"algorithm": name}`` specs, experiment YAML files and the notebooks. A class from an
    importable module (or a string) is also written to ``$RECSYS_STUDY_RECOMMENDERS`` so the
    notebooks that the experiment runner starts from this process see it. Re-registering a
    taken name needs ``replace=True``. Returns ``cls`` (so the decorator leaves the class as is).
    """
    if cls is None:
        return lambda c: register(name, c, replace=replace)
    if not isinstance(name, str) or not name.isidentifier():
        raise RegistrationError(f"a model name must be a Python identifier such as 'my_model', got {name!r}.")
    if name in _entries() and not replace:
        raise RegistrationError(f"algorithm name {name!r} is already registered; choose another name "
                                "or pass replace=True.")
    from recsys_study.recommenders.base import Recommender

    if isinstance(cls, str):
        if cls.count(":") != 1:
            raise RegistrationError(f"register({name!r}, {cls!r}): a string must read 'module:Class'.")
        target = cls
    elif isinstance(cls, type) and issubclass(cls, Recommender):
        _CLASSES[name] = cls
        importable = cls.__module__ not in ("__main__", "builtins") and "<" not in cls.__qualname__
        target = f"{cls.__module__}:{cls.__qualname__}" if importable else None
    else:
        raise RegistrationError(f"register({name!r}, ...) needs a subclass of recsys_study.recommenders.Recommender "
                                f"(implementing _fit and _score), got {cls!r}.")
    if target is not None:
        shared = json.loads(os.environ.get(ENV_REGISTERED) or "{}")
        shared[name] = target
        os.environ[ENV_REGISTERED] = json.dumps(shared)
    return cls


def unregister(name: str) -> None:
    """Remove a name added by ``register`` (built-in names cannot be removed)."""
    if name in REGISTRY:
        raise RegistrationError(f"{name!r} is a built-in algorithm and cannot be unregistered.")
    _CLASSES.pop(name, None)
    shared = json.loads(os.environ.get(ENV_REGISTERED) or "{}")
    if shared.pop(name, None) is not None:
        os.environ[ENV_REGISTERED] = json.dumps(shared)


def available() -> list[str]:
    """Return the registered algorithm names (built-in and registered), sorted."""
    return sorted(_entries())


def get_class(name: str) -> type:
    """Return the recommender class registered under ``name``."""
    entries = _entries()
    if name not in entries:
        close = difflib.get_close_matches(name, entries, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise UnknownAlgorithmError(
            f"unknown algorithm {name!r}.{hint} Registered algorithms: {', '.join(available())}."
        )
    target = entries[name]
    if isinstance(target, type):
        return target
    module_name, cls_name = target.split(":")
    obj = importlib.import_module(module_name)
    for part in cls_name.split("."):
        obj = getattr(obj, part)
    return obj


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
