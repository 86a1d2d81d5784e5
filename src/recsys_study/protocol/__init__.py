"""The protocol layer: the one path that fits, recommends, scores (segments included), tunes and logs.

- :mod:`~recsys_study.protocol.relevance`: the relevance rule and the item universe of a study;
- :mod:`~recsys_study.protocol.core`: :class:`Protocol`, :func:`compare`, :func:`evaluate`;
- :mod:`~recsys_study.protocol.tuning`: the one tuning engine (validation only), for single
  models and hybrids;
- :mod:`~recsys_study.protocol.study`: the multi-dataset, multi-seed comparison with CIs and
  Holm-corrected pairwise tests.
The metric functions themselves are pure and live in :mod:`recsys_study.evaluation`.
"""

from recsys_study.protocol.core import (
    DEFAULT_METRICS,
    SEGMENT_KINDS,
    Comparison,
    EvaluationContext,
    Protocol,
    as_protocol,
    build_context,
    build_model,
    compare,
    confidence_intervals,
    describe_ranking,
    evaluate,
    evaluate_model,
    model_label,
    score_lists,
)
from recsys_study.protocol.relevance import ProtocolError, RelevancePolicy, catalogue
from recsys_study.protocol.tuning import (
    HYBRID_KINDS,
    TuningResult,
    best_on_validation,
    component_specs,
    hybrid_candidates,
    parameter_grid,
    shrink_grids,
    tune,
    tune_specs,
    validation_split,
    weight_grid,
)

__all__ = [
    "DEFAULT_METRICS", "SEGMENT_KINDS", "HYBRID_KINDS", "Comparison", "EvaluationContext", "Protocol",
    "ProtocolError", "RelevancePolicy", "TuningResult", "as_protocol", "best_on_validation", "build_context",
    "build_model", "catalogue", "compare", "component_specs", "confidence_intervals", "describe_ranking", "evaluate",
    "evaluate_model", "hybrid_candidates", "model_label", "parameter_grid", "score_lists", "shrink_grids",
    "tune", "tune_specs", "validation_split", "weight_grid",
]
