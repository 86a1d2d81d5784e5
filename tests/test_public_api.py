"""The public API: lazy top-level names, ``register`` for a user's own recommender (the README's
example is executed here), the MLflow pyfunc round trip of a fitted model, dataset inputs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recsys_study as rs
from recsys_study.recommenders import Recommender, get_class, make, register, registry, unregister

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_lazy_and_every_public_name_resolves():
    code = "import sys, recsys_study; print(sorted(m for m in ('numpy', 'pandas', 'mlflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    for name in rs.__all__:
        assert getattr(rs, name) is not None, name
    assert rs.make_model is make and rs.register is register
    with pytest.raises(AttributeError, match="public API"):
        rs.no_such_name  # noqa: B018


class _Constant(Recommender):
    """Scores every item by its column index (the highest index first), a ranking known by hand."""

    name = "constant"

    def __init__(self, *, offset: float = 0.0):
        self.offset = offset

    def _fit(self, user_items, *, train, items):
        self.scores_ = np.arange(user_items.shape[1], dtype=float) + self.offset

    def _score(self, user_idx):
        return np.broadcast_to(self.scores_, (len(user_idx), len(self.scores_)))


def test_register_adds_a_class_that_make_and_specs_build_and_refuses_mistakes():
    assert register("h6_constant")(_Constant) is _Constant
    try:
        assert "h6_constant" in registry.available()
        train = pd.DataFrame({"user": [1, 1, 2], "item": [10, 20, 30], "rating": [4.0, 3.0, 5.0]})
        model = registry.from_spec({"algorithm": "h6_constant", "params": {"offset": 1.0}}).fit(train)
        assert isinstance(model, _Constant) and model.offset == 1.0
        # user 1 saw items 10 and 20 (indices 0, 1); the only unseen item is 30
        assert model.recommend([1], k=3)["item"].tolist() == [30]
        assert model.recommend([2], k=3)["item"].tolist() == [20, 10]
        with pytest.raises(registry.RegistrationError, match="replace=True"):
            register("h6_constant", _Constant)
        with pytest.raises(registry.RegistrationError, match="already registered"):
            register("ease", _Constant)
        with pytest.raises(registry.RegistrationError, match="subclass of recsys_study.recommenders.Recommender"):
            register("h6_dict", dict)
        with pytest.raises(registry.RegistrationError, match="identifier"):
            register("my model", _Constant)
        with pytest.raises(registry.RegistrationError, match="built-in"):
            unregister("ease")
    finally:
        unregister("h6_constant")
    assert "h6_constant" not in registry.available()
    with pytest.raises(registry.UnknownAlgorithmError):
        get_class("h6_constant")


def test_a_registered_module_class_reaches_child_processes(tmp_path, monkeypatch):
    (tmp_path / "h6_models.py").write_text(textwrap.dedent("""
        import numpy as np
        from recsys_study.recommenders import Recommender

        class Reverse(Recommender):
            name = "reverse"
            def __init__(self):
                pass
            def _fit(self, user_items, *, train, items):
                self.n_ = user_items.shape[1]
            def _score(self, user_idx):
                return np.tile(-np.arange(self.n_, dtype=float), (len(user_idx), 1))
    """))
    monkeypatch.delenv(registry.ENV_REGISTERED, raising=False)
    register("h6_reverse", "h6_models:Reverse")
    try:
        env = {**os.environ, "PYTHONPATH": str(tmp_path)}
        code = ("from recsys_study.recommenders import make; import pandas as pd; "
                "m = make('h6_reverse').fit(pd.DataFrame({'user': [1, 2], 'item': [5, 6]})); "
                "print(m.recommend([1], k=1)['item'].tolist())")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == "[6]"  # user 1 saw item 5; the only other item
    finally:
        unregister("h6_reverse")


def _readme_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_readme_add_your_own_recommender_example_runs_and_ranks_by_damped_mean():
    namespace: dict = {}
    try:
        exec(compile(_readme_block("Add your own recommender"), "README.md", "exec"), namespace)
        split, lists, table = namespace["split"], namespace["lists"], namespace["table"]
        train = split.train
        # independent: damped mean per item from the training frame, ties by first appearance
        stats = train.groupby("item", sort=False)["rating"].agg(["sum", "count"])
        mu = train["rating"].mean()
        score = (stats["sum"] + 5.0 * mu) / (stats["count"] + 5.0)
        order = pd.Index(pd.unique(train["item"]))
        ranked = pd.DataFrame({"score": score.reindex(order).to_numpy(), "pos": np.arange(len(order))},
                              index=order).sort_values(["score", "pos"], ascending=[False, True])
        for user, got in lists.groupby("user", sort=False):
            seen = set(train.loc[train["user"] == user, "item"])
            expected = [i for i in ranked.index if i not in seen][:5]
            assert got.sort_values("rank")["item"].tolist() == expected
        assert len(lists) == 15
        assert {"top_rated", "most_popular"} == set(table["model"])
    finally:
        unregister("top_rated")


def _small_train() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"user": rng.integers(0, 40, 600), "item": rng.integers(0, 60, 600)})
    return df.drop_duplicates(["user", "item"]).assign(rating=4.0).reset_index(drop=True)


def test_log_recommender_loads_back_as_pyfunc_and_recommends_the_same_lists():
    import mlflow

    from recsys_study import tracking

    model = rs.make_model("ease", l2=10.0).fit(_small_train())
    with pytest.raises(ValueError, match="fitted"):
        tracking.log_recommender(rs.make_model("ease"), "unfitted")
    with tracking.start_run("pyfunc", experiment="public-api"):
        info = tracking.log_recommender(model, "model")
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    got = loaded.predict(pd.DataFrame({"user": [1, 2, 3, 99], "k": 5}))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), model.recommend([1, 2, 3, 99], k=5))
    with pytest.raises(ValueError, match="'user' column"):
        loaded.predict(pd.DataFrame({"customer": [1]}))


def test_runs_record_their_data_as_an_mlflow_dataset_input_with_the_fingerprint():
    import mlflow

    from recsys_study import tracking
    from recsys_study.data import frame_fingerprint

    df = _small_train()
    with tracking.start_run("with-data", experiment="public-api", dataset=df) as run:
        pass
    got = mlflow.MlflowClient().get_run(run.info.run_id)
    (inp,) = got.inputs.dataset_inputs
    fingerprint = frame_fingerprint(df)
    assert inp.dataset.digest == fingerprint[:36]
    assert {t.key: t.value for t in inp.tags}["fingerprint"] == fingerprint
    assert got.data.params["dataset.fingerprint"] == fingerprint
    # the fingerprint follows the data: one changed rating changes it
    assert frame_fingerprint(df.assign(rating=df["rating"].where(df.index != 0, 3.0))) != fingerprint
    assert re.fullmatch(r"[0-9a-f]{16,}", fingerprint)  # a content hash, not a row count


def test_a_new_store_has_no_empty_default_experiment_but_keeps_one_with_runs(tmp_path, monkeypatch):
    from recsys_study import tracking

    # the session's store (a new one, see conftest) once one of our experiments exists
    tracking.experiment_id("public-api-store")
    names = [e.name for e in tracking._mlflow().MlflowClient().search_experiments()]
    assert "public-api-store" in names and "Default" not in names

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'used.db'}")
    client = tracking._mlflow().MlflowClient()
    client.create_run("0")  # someone logged to MLflow's Default experiment directly
    tracking.experiment_id("study")
    assert sorted(e.name for e in client.search_experiments()) == ["Default", "study"]


def test_a_run_with_a_split_and_no_dataset_records_the_train_part_as_its_input():
    import mlflow

    from recsys_study import tracking
    from recsys_study.data import frame_fingerprint
    from recsys_study.split import make_split

    split = make_split(_small_train(), "user_stratified", test_frac=0.25, seed=1)
    with tracking.start_run("with-split", experiment="public-api", split=split) as run:
        pass
    (inp,) = mlflow.MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    assert inp.dataset.name == "train" and inp.dataset.digest == frame_fingerprint(split.train)[:36]
