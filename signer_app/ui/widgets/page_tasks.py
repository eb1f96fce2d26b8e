"""Blocking work (reading files, opening keys, running certutil) off the UI thread.

``run_blocking`` runs a function in Qt's global thread pool and calls back on the UI thread with
its result or its exception, so a page stays responsive while a folder is scanned or a key file
is decrypted. The service's coroutines are not run here: they belong to the app's asyncio loop.

Lifetimes, which decide whether this crashes: the relay that carries the outcome is owned by the
application (not by a Python reference a worker might drop on its own thread) and deleted with
``deleteLater`` on the UI thread after it delivered; and the callbacks are skipped when the
``owner`` widget is gone (a page closed while its key file was still being opened).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal

T = TypeVar("T")


class _Relay(QObject):
    """Lives on the UI thread; its signals carry the worker's outcome back there."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self) -> None:
        super().__init__(QCoreApplication.instance())


class _Job(QRunnable, Generic[T]):
    def __init__(self, work: Callable[[], T], relay: _Relay) -> None:
        super().__init__()
        self.work = work
        self.relay = relay

    def run(self) -> None:
        try:
            result = self.work()
        except Exception as error:  # handed to the UI thread, shown as a plain sentence there
            self.relay.failed.emit(error)
        else:
            self.relay.done.emit(result)


def run_blocking(
    work: Callable[[], T],
    on_done: Callable[[T], Any],
    on_error: Callable[[Exception], Any],
    *,
    owner: QObject,
) -> None:
    """Run ``work`` in a pool thread; ``on_done``/``on_error`` run later on the UI thread,
    unless ``owner`` has been deleted by then."""
    relay = _Relay()

    def finished(callback: Callable[[Any], Any], value: object) -> None:
        relay.deleteLater()
        if shiboken6.isValid(owner):
            callback(value)

    relay.done.connect(lambda value: finished(on_done, value))
    relay.failed.connect(lambda error: finished(on_error, error))
    QThreadPool.globalInstance().start(_Job(work, relay))


__all__ = ["run_blocking"]
