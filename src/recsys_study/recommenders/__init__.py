"""Recommenders behind one interface (base.Recommender); build them by name with ``registry.make``.

Add your own with ``register(name, cls)`` or the ``@register(name)`` decorator.
"""

from recsys_study.recommenders.base import NotFittedError, Recommender
from recsys_study.recommenders.registry import available, from_spec, get_class, make, register, unregister

__all__ = ["NotFittedError", "Recommender", "available", "from_spec", "get_class", "make", "register", "unregister"]
