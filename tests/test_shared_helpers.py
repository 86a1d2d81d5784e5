"""The package's one-of-each helpers: summary.mean_ci / summary.gini, locking.file_lock, parallel.map_processes."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats

from recsys_study.locking import LockBusyError, file_lock
from recsys_study.parallel import map_processes
from recsys_study.summary import gini, mean_ci


def test_mean_ci_is_the_t_interval_by_hand_and_leaves_out_only_missing_values():
    x = [0.2, 0.4, 0.9, np.nan]
    mean, lower, upper = mean_ci(x)
    half = stats.t.ppf(0.975, 2) * np.std([0.2, 0.4, 0.9], ddof=1) / math.sqrt(3)
    assert mean == pytest.approx(0.5) and lower == pytest.approx(0.5 - half) and upper == pytest.approx(0.5 + half)
    assert mean_ci([1.0, np.inf])[0] == np.inf and math.isnan(mean_ci([1.0, np.inf])[1])  # kept, not dropped
    assert all(math.isnan(v) for v in mean_ci([np.nan]))
    assert mean_ci([0.3])[0] == 0.3 and math.isnan(mean_ci([0.3])[2])


def test_gini_hand_cases_and_its_undefined_value():
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert gini([3, 1, 2]) == pytest.approx(2 / 9)
    assert math.isnan(gini([])) and math.isnan(gini([0, 0]))
    assert gini([0, 0], undefined=0.0) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        gini([1, -1])


def test_the_simulation_and_the_metrics_use_the_same_gini():
    from recsys_study.evaluation import beyond
    from recsys_study.simulation import world

    assert world.gini is gini and beyond.gini is gini


def test_a_held_lock_names_its_holder_and_frees_when_the_holder_dies(tmp_path):
    path = tmp_path / "sub" / "x.lock"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from recsys_study.locking import file_lock
        with file_lock({str(path)!r}):
            print("held", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockBusyError) as busy:
            with file_lock(path, wait=False):
                pass
        assert busy.value.holder == f"pid {holder.pid}"
    finally:
        holder.kill()
        holder.wait()
    waited = []
    with file_lock(path, wait=True, on_wait=waited.append):  # the kernel released the killed holder's lock
        assert path.read_text() == f"pid {__import__('os').getpid()}"
    assert waited == []


def _square_plus(x, *, plus):
    return x * x + plus


def test_map_processes_keeps_the_task_order_whatever_the_number_of_processes():
    tasks = [(i,) for i in range(7)]
    assert map_processes(_square_plus, tasks, n_jobs=1, plus=1) == [i * i + 1 for i in range(7)]
    assert map_processes(_square_plus, tasks, n_jobs=2, plus=1) == [i * i + 1 for i in range(7)]
    with pytest.raises(ValueError, match="n_jobs"):
        map_processes(_square_plus, tasks, n_jobs=0, plus=1)


def test_t_interval_is_mean_cis_bounds_and_the_band_seaborn_draws():
    from recsys_study.summary import t_interval

    values = [1.0, 2.0, 3.0, 4.0, 5.0]  # mean 3, s = sqrt(2.5), t_{0.975, 4} = 2.7764451
    half = 2.7764451051977987 * np.sqrt(2.5) / np.sqrt(5)
    assert t_interval(values) == pytest.approx((3 - half, 3 + half), abs=1e-12)
    assert all(np.isnan(t_interval([2.0])))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frame = pd.DataFrame({"x": [0] * 5 + [1] * 5, "y": values + [v * 2 for v in values]})
    fig, ax = plt.subplots()
    sns.lineplot(data=frame, x="x", y="y", errorbar=t_interval, ax=ax)
    band = ax.collections[0].get_paths()[0].vertices
    plt.close(fig)
    at_1 = np.sort(band[np.isclose(band[:, 0], 1.0), 1])
    assert at_1[[0, -1]] == pytest.approx([6 - 2 * half, 6 + 2 * half], abs=1e-9)
