"""The quick-start notebook (00_quick_start.ipynb) runs end to end and its numbers hold together."""

import pytest


@pytest.mark.notebook
def test_quick_start_notebook_fits_ease_recommends_and_beats_popularity(run_notebook):
    rec = run_notebook("00_quick_start.ipynb")
    # quick mode keeps 20% of the 671 users; every user keeps test ratings under the per-user split
    assert rec["n_test_users"] == round(0.2 * 671)
    assert 0 <= rec["ndcg_most_popular"] < rec["ndcg_ease"] <= 1
    assert 0 <= rec["hits_one_user"] <= 10
    assert 0 < rec["coverage_ease"] <= 1
