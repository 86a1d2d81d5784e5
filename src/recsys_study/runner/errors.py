"""The runner's errors: a user's fault refused before anything runs (exit 2), and an interrupt."""

from __future__ import annotations

import signal


class ExperimentSpecError(ValueError):
    """An experiment file (or what the runner reads beside it) is malformed; raised before anything runs."""


class ExperimentBusyError(ExperimentSpecError):
    """Another process is running the same experiment (and the caller asked not to wait)."""


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived while an experiment ran; ``signum`` says which (exit code 128 + signum)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
