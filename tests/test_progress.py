"""Progress bars: shown for long loops, silent for short ones or when switched off, never change the items."""

from recsys_study.progress import progress


def test_progress_yields_the_same_items_and_writes_a_bar(capsys, monkeypatch):
    monkeypatch.delenv("RECSYS_STUDY_PROGRESS", raising=False)
    assert list(progress(range(5), desc="work")) == [0, 1, 2, 3, 4]
    assert "work" in capsys.readouterr().err


def test_progress_is_silent_for_short_loops_and_when_switched_off(capsys, monkeypatch):
    assert list(progress([1, 2], desc="short")) == [1, 2]
    monkeypatch.setenv("RECSYS_STUDY_PROGRESS", "0")
    assert list(progress(range(10), desc="off")) == list(range(10))
    err = capsys.readouterr().err
    assert "short" not in err and "off" not in err
