"""The simulated world's output pinned bit for bit: a restructured loop must reproduce it exactly.

The digests were taken from the world as it stood before ``World.run`` was split into parts
(arrivals, exposure, choice, satisfaction and survey, churn, campaign); any change to the order of
a draw or of a floating-point operation changes them. A change that is *meant* to alter the
world's trajectories must say so and re-pin them.
"""

import hashlib

import pandas as pd
import pytest

from recsys_study.data import load_movielens
from recsys_study.simulation import TrueUtilities, World, WorldConfig


@pytest.fixture(scope="module")
def utilities():
    return TrueUtilities.from_dataset(load_movielens("ml-100k"), seed=0)


def digest(frame: pd.DataFrame) -> str:
    """Return a short SHA-256 of a frame's values (row hashes), index, column names and dtypes."""
    body = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    meta = (str(list(frame.columns)) + str(list(frame.dtypes))).encode()
    return hashlib.sha256(body + meta).hexdigest()[:16]


# recommender, seed -> rounds, customers, log, purchases, survey_latent digests and the purchase rate
PINNED = {
    ("oracle", 3): ("8e60589c70a0d906", "6d79c45704692793", "19111f3bc62e5f71", "c49b566842468924",
                    "629ff7f6b48fa8df", 0.9974828006109352),
    ("oracle", 4): ("d7e4725d82d2e0b9", "fbe60e8587c74101", "d2bb6cf1d43509f2", "7d23242cfd2a7a4a",
                    "ccc8acc5913e2f87", 0.9969965645523508),
    ("most_popular", 3): ("bd533ad613539de5", "c22b39411945e8a6", "b63d7d33651d4f83", "973ae4146b5463b5",
                          "e6a9a1cd41aaee63", 0.9725758213777389),
    ("most_popular", 4): ("828bb35076d00d23", "a9269c68ba774663", "b02248af2b8a6c28", "52c5993aaeabfbb0",
                          "3151002f13945dcb", 0.9695308263923613),
    ("item_knn", 3): ("494bce9e084c0a5b", "060e7c41d651bd22", "aba810b7a589fa22", "e0d3bc611da9f228",
                      "ada060bdf9d6e442", 0.9600522295521342),
    ("item_knn", 4): ("cda6d7eb7187d4a2", "c5fbf80c15639a63", "78369261a94ba895", "61eb548c344357c9",
                      "4743603ebbf9c510", 0.9620124149513176),
}


@pytest.mark.parametrize("recommender, seed", list(PINNED), ids=[f"{r}-{s}" for r, s in PINNED])
def test_world_reproduces_its_pinned_trajectories_bit_for_bit(utilities, recommender, seed):
    cfg = WorldConfig.from_dict({"user": {"n_customers": 300}, "rounds": 12, "refit_every": 5})
    r = World(cfg, utilities, seed=seed).run(recommender, show_progress=False)
    got = tuple(digest(f) for f in (r.rounds, r.customers, r.log, r.purchases, r.survey_latent)) + (r.purchase_rate,)
    assert got == PINNED[recommender, seed]
