"""The fold-in study: hand-checked hits for one user, and folding in helps EASE on real data."""

from __future__ import annotations

import pandas as pd
import pytest

from recsys_study.protocol.realtime import fold_in_study
from recsys_study.protocol import ProtocolError
from recsys_study.recommenders.registry import make
from recsys_study.split import Split, user_stratified_split


def test_bad_share_and_models_without_fold_in_are_refused():
    train = pd.DataFrame({"user": [1, 1, 2, 2, 3, 3], "item": ["a", "b", "a", "c", "b", "c"]})
    split = Split(train=train, test=pd.DataFrame({"user": [1, 1], "item": ["c", "a"]}))
    with pytest.raises(ProtocolError, match="new_frac"):
        fold_in_study(make("ease").fit(train), split, new_frac=1.0, seed=0)
    with pytest.raises(NotImplementedError):
        fold_in_study(make("most_popular").fit(train), split, seed=0)


def test_folding_in_moves_ease_lists_toward_what_users_rate_next():
    from recsys_study.data import load_movielens

    data = load_movielens("ml-100k")
    split = user_stratified_split(data.interactions, test_frac=0.25, seed=1)
    out = fold_in_study(make("ease").fit(split.train), split, n_users=200, k=10, seed=1)
    assert len(out) == 200
    assert out.attrs["mean_hits_after"] > out.attrs["mean_hits_before"]
    assert out.attrs["p_value"] < 0.01
    assert (out["hits_before"] <= out["n_next"].clip(upper=10)).all()
    assert (out["hits_after"] <= out["n_next"].clip(upper=10)).all()
    assert out.attrs["median_latency_ms"] > 0
