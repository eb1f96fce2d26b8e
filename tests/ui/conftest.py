"""Qt tests run offscreen, on the app's kind of event loop, and leave nothing running behind.

Every test ends the same way: the background jobs it started (Qt's thread pool) finish and
deliver, its windows close and are deleted, and the garbage is collected, all while the
QApplication still exists. A job or a window that outlives its test fires into objects the next
test no longer has, which crashes Qt (a timer or a queued signal on a deleted QObject).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import qasync
from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool
from PySide6.QtWidgets import QApplication


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """asyncio on top of Qt's event loop, as the app runs it (a tray app: closing the last
    window does not quit)."""
    qapp.setQuitOnLastWindowClosed(False)
    event_loop = qasync.QEventLoop(qapp)
    # Plain worker threads: qasync's own QThread pool can outlive a closed loop and crash Qt.
    workers = ThreadPoolExecutor(4)
    event_loop.set_default_executor(workers)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    workers.shutdown(wait=True)
    asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def settle_qt(qapp: QApplication) -> Iterator[None]:
    """After each test: its jobs done and delivered, its windows gone."""
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    QCoreApplication.processEvents()
    for widget in qapp.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
