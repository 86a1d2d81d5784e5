"""The shared numba entry point: cached where it can, uncached where no cache dir is writable."""

from recsys_study.recommenders import _jit


def _add(a, b):
    return a + b


def test_jit_compiles_with_a_cache_when_it_can(monkeypatch):
    calls = []
    real = _jit.njit

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(_jit, "njit", spy)
    assert _jit.jit(_add)(2, 3) == 5
    assert calls == [{"nogil": True, "cache": True, "fastmath": False}]
    assert _jit.jit(fastmath=True)(_add)(2, 3) == 5  # the decorator form passes fastmath on
    assert calls[-1] == {"nogil": True, "cache": True, "fastmath": True}


def test_jit_falls_back_to_no_cache_when_numba_cannot_write_one(monkeypatch):
    calls = []
    real = _jit.njit

    def no_cache_dir(**kwargs):
        calls.append(kwargs)
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function '_add': no locator available for file")
        return real(**kwargs)

    monkeypatch.setattr(_jit, "njit", no_cache_dir)
    compiled = _jit.jit(_add)
    assert compiled(2.5, 1.0) == 3.5
    assert calls == [{"nogil": True, "cache": True, "fastmath": False}, {"nogil": True, "fastmath": False}]
    assert hasattr(compiled, "py_func")  # really compiled by numba, not the Python fallback
