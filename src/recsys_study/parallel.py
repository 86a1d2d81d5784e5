"""Run independent tasks side by side in fresh processes, results in task order (the comparison's
(dataset, seed) pairs, the published protocol's splits)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from recsys_study.progress import progress


def map_processes(fn: Callable, tasks: Sequence[tuple], *, n_jobs: int = 1, desc: str = "tasks", **kwargs) -> list:
    """Return ``[fn(*task, **kwargs) for task in tasks]`` in the order of ``tasks``.

    ``n_jobs`` > 1 runs them in that many **spawned** interpreters (a forked copy of a process whose
    BLAS/OpenMP threads are running can hang); ``fn`` must be importable at module level and the tasks
    picklable. Each task computes the same thing wherever it runs, so the results do not depend on
    ``n_jobs``. A progress bar named ``desc`` counts finished tasks.
    """
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}.")
    if n_jobs == 1 or len(tasks) <= 1:
        return [fn(*task, **kwargs) for task in progress(tasks, desc=desc)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(n_jobs, len(tasks)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(fn, *task, **kwargs) for task in tasks]
        return [f.result() for f in progress(futures, desc=desc)]
