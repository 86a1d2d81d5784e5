"""Notebook 00 executes in quick mode and records the headline numbers of the data."""

import pytest


@pytest.mark.notebook
def test_data_exploration_notebook_records_sane_statistics(run_notebook):
    rec = run_notebook("00_data_exploration.ipynb", sample_frac=1.0)
    # quick mode keeps 20% of the 671 users
    assert rec["n_users"] == round(0.2 * 671)
    assert 0 < rec["density"] < 0.1
    assert 0.5 < rec["head_share"] < 0.9          # the head of 20% items gets most ratings
    assert 0.4 < rec["gini_items"] < 0.9
    assert 3.0 < rec["mean_rating"] < 4.0
    assert len(rec["fingerprint"]) == 16
