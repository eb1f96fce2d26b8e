"""Blocking work (reading files, opening keys, running certutil) off the UI thread.

``run_blocking`` runs a function in Qt's global thread pool and calls back on the UI thread with
its result or its exception, so a page stays responsive while a folder is scanned or a key file
is decrypted. The service's coroutines are not run here: they belong to the app's asyncio loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

T = TypeVar("T")


class _Relay(QObject):
    """Lives on the UI thread; its signals carry the worker's outcome back there."""

    done = Signal(object)
    failed = Signal(object)


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


_alive: set[_Relay] = set()


def run_blocking(
    work: Callable[[], T],
    on_done: Callable[[T], Any],
    on_error: Callable[[Exception], Any],
) -> None:
    """Run ``work`` in a pool thread; ``on_done``/``on_error`` run later on the UI thread."""
    relay = _Relay()
    _alive.add(relay)  # kept alive until the worker reports

    def finished(callback: Callable[[Any], Any], value: object) -> None:
        _alive.discard(relay)
        callback(value)

    relay.done.connect(lambda value: finished(on_done, value))
    relay.failed.connect(lambda error: finished(on_error, error))
    QThreadPool.globalInstance().start(_Job(work, relay))


__all__ = ["run_blocking"]
