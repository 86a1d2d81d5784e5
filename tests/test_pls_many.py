"""The many-draws PLS engine gives, draw by draw, what the single fit gives."""

import numpy as np
import pytest

from recsys_study.data.survey import load_mobi
from recsys_study.satisfaction.models import ECSI_PATHS, MOBI_BLOCKS, PathModel
from recsys_study.satisfaction.pls import PLSPM, _estimate, _estimate_many, correlation, correlations


@pytest.mark.parametrize("scheme", ["path", "factorial", "centroid"])
@pytest.mark.parametrize("consistent", [False, True])
@pytest.mark.parametrize("modes", [{}, {"Image": "B"}])
def test_many_draws_equal_one_fit_each(scheme, consistent, modes):
    est = PLSPM(PathModel(MOBI_BLOCKS, ECSI_PATHS, modes), scheme=scheme, consistent=consistent)
    _, mask, adjacency, mode_b = est._structure()
    x = est._matrix(load_mobi().data)
    rng = np.random.default_rng(0)
    idx = np.array([rng.integers(0, len(x), len(x)) for _ in range(12)])
    settings = dict(scheme=scheme, consistent=consistent, max_iter=300, tol=1e-7)
    many = _estimate_many(correlations(x[idx]), mask, adjacency, mode_b, **settings)
    for b, rows in enumerate(idx):
        one = _estimate(correlation(x[rows]), mask, adjacency, mode_b, **settings)
        assert many.n_iter[b] == one.n_iter and many.converged[b] == one.converged
        np.testing.assert_allclose(many.weights[b], one.weights, atol=1e-12)
        np.testing.assert_allclose(many.paths[b], one.paths, atol=1e-9)
        np.testing.assert_allclose(many.loadings[b], one.loadings, atol=1e-9)
        np.testing.assert_allclose(many.r2[b], one.r2, atol=1e-9)
