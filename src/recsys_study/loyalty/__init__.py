"""Loyalty and CRM data mining: RFM, segments, customer pyramid, CLV, churn, cross-sell, brand loyalty.

Modules: ``rfm`` (RFM measures, quintile scores, eight value classes, ABC / Pareto),
``segments`` (k-means on RFM, rule trees, life-cycle stage), ``pyramid`` (tiers and migration),
``clv`` (BG/NBD + Gamma-Gamma), ``churn`` (Telco churn models), ``campaign`` (gains, lift,
profit, expected response), ``crosssell`` (add-on propensity campaign), ``brand``
(Guadagni-Little loyalty in a conditional logit), ``uplift`` (uplift models and Qini/AUUC).
"""

from recsys_study.loyalty import brand, campaign, churn, clv, crosssell, pyramid, rfm, segments, uplift

__all__ = ["brand", "campaign", "churn", "clv", "crosssell", "pyramid", "rfm", "segments", "uplift"]
