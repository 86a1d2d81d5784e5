"""Loyalty and CRM data mining: RFM, segments, customer pyramid, CLV, churn, cross-sell, brand loyalty.

Modules: ``rfm`` (RFM measures, quintile scores, eight value classes, ABC / Pareto),
``segments`` (k-means on RFM, rule trees, life-cycle stage), ``pyramid`` (tiers and migration),
``clv`` (BG/NBD + Gamma-Gamma CLV), ``btyd`` (BG/NBD, modified BG/NBD, Pareto/NBD and BG/BB
by maximum likelihood, and the choice among them on a holdout), ``churn`` (Telco churn models), ``campaign`` (gains, lift,
profit, expected response), ``crosssell`` (add-on propensity campaign), ``brand``
(Guadagni-Little loyalty in a conditional logit), ``uplift`` (uplift models and Qini/AUUC).
"""

from recsys_study.loyalty import brand, btyd, campaign, churn, clv, crosssell, pyramid, rfm, segments, uplift

__all__ = ["brand", "btyd", "campaign", "churn", "clv", "crosssell", "pyramid", "rfm", "segments", "uplift"]
