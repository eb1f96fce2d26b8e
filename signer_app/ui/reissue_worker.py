"""Run a blocking job (key generation, a call to the CA) on a pool thread, never on the UI's.

The job gets a ``step`` callable to report progress; its result, its error and each step come
back to the UI thread as queued Qt signals. Cancelling is cooperative: ``Job.cancel`` only sets
a flag the job's own ``step`` callable checks, because a re-issue may be stopped only before the
certification centre is asked (after that the CA may have issued, and the pending keys must stay).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal

from ..service.errors import ActionCanceled

Step = Callable[[str], None]


class Job(QObject):
    """One background job's signals: ``step(str)``, then ``done(result)`` or ``failed(error)``."""

    step = Signal(str)
    done = Signal(object)
    failed = Signal(object)

    def __init__(self, work: Callable[[Step], Any], *, stop_before: frozenset[str] = frozenset()):
        # Owned by the application, not by Python references: the pool thread drops its
        # reference when the runnable ends, and a QObject must not be destroyed from a thread
        # other than its own. The owner calls ``release`` from its last handler (UI thread).
        super().__init__(QCoreApplication.instance())
        self._work = work
        self._stop_before = stop_before
        self._cancel = threading.Event()
        self._past_point_of_no_return = False
        self.running = False

    def cancel(self) -> bool:
        """Ask the job to stop at its next step; False once it is too late to stop."""
        if self._past_point_of_no_return:
            return False
        self._cancel.set()
        return True

    @property
    def cancellable(self) -> bool:
        """Whether ``cancel`` can still take effect."""
        return not self._past_point_of_no_return

    def release(self) -> None:
        """Delete the job on the UI thread once its owner has handled the outcome."""
        self.deleteLater()

    def _report(self, name: str) -> None:
        # Runs on the pool thread: the check and the flag change happen before the step starts.
        if self._cancel.is_set() and not self._past_point_of_no_return:
            raise ActionCanceled(f"cancelled before {name}")
        if name in self._stop_before:
            self._past_point_of_no_return = True
        self.step.emit(name)

    def _run(self) -> None:
        try:
            result = self._work(self._report)
        except Exception as error:  # every failure goes to the UI as a value
            self.running = False
            self.failed.emit(error)
        else:
            self.running = False
            self.done.emit(result)


class _Runnable(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job

    def run(self) -> None:
        self._job._run()


def start(job: Job, pool: QThreadPool | None = None) -> Job:
    """Run ``job`` on ``pool`` (the global pool by default) and return it."""
    job.running = True
    (pool or QThreadPool.globalInstance()).start(_Runnable(job))
    return job


__all__ = ["Job", "Step", "start"]
