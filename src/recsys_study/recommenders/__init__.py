"""Recommenders behind one interface (base.Recommender); build them by name with ``registry.make``."""

from recsys_study.recommenders.base import NotFittedError, Recommender
from recsys_study.recommenders.registry import available, from_spec, get_class, make

__all__ = ["NotFittedError", "Recommender", "available", "from_spec", "get_class", "make"]
