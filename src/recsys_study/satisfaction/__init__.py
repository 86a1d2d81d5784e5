"""Customer satisfaction models: ACSI/ECSI path models, PLS/PLSc, CB-SEM, the satisfaction index."""

from recsys_study.satisfaction.groups import (
    GroupComparison, compare_groups, henseler_p, pls_mga,
)
from recsys_study.satisfaction.index import (
    construct_performance, disconfirmation, ipma, loyalty_by_satisfaction, net_promoter_score, outcome_by_band,
    satisfaction_index, to_0_10,
)
from recsys_study.satisfaction.inference import (
    bootstrap_paths, monte_carlo_recovery, oracle_paths, recovery_by_sample_size, recovery_pass_rates, recovery_table,
    summarise_recovery,
)
from recsys_study.satisfaction.measurement import (
    average_variance_extracted, bootstrap_htmt, composite_reliability, cronbach_alpha, cross_loadings,
    fornell_larcker, htmt, htmt_from_correlation, reliability_table, rho_a_reliability,
)
from recsys_study.satisfaction.models import PathModel, acsi_model, ecsi_model, index_model, mobi_reduced_model
from recsys_study.satisfaction.pls import PLSPM
from recsys_study.satisfaction.predict import (
    PredictResult, cvpat, fold_ids, loss_difference_test, pls_predict, predictive_power,
)
from recsys_study.satisfaction.reference import smartpls_ecsi_paths
from recsys_study.satisfaction.sem import compare_estimators, fit_cbsem
from recsys_study.satisfaction.structural import f_squared

__all__ = [
    "GroupComparison", "PLSPM", "PathModel", "PredictResult", "bootstrap_htmt", "compare_groups", "cvpat",
    "f_squared", "fold_ids", "henseler_p", "htmt_from_correlation", "loss_difference_test", "pls_mga",
    "pls_predict", "predictive_power",
    "acsi_model", "average_variance_extracted", "bootstrap_paths", "compare_estimators",
    "composite_reliability", "construct_performance", "cronbach_alpha", "cross_loadings", "disconfirmation",
    "ecsi_model", "fit_cbsem", "fornell_larcker", "htmt", "index_model", "ipma", "loyalty_by_satisfaction",
    "mobi_reduced_model", "monte_carlo_recovery", "net_promoter_score", "oracle_paths", "outcome_by_band",
    "recovery_by_sample_size", "recovery_pass_rates", "recovery_table",
    "reliability_table", "rho_a_reliability", "satisfaction_index", "smartpls_ecsi_paths", "summarise_recovery",
    "to_0_10",
]
