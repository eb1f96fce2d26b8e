"""Tokens appear and disappear for the desktop app: TokenWatcher over SoftHSM2 token folders.

SoftHSM2 has no hot-plug: a token "plugged in" is a token folder copied into its token
directory (made beforehand by softhsm2-util in another folder), "pulled out" is the folder
deleted. It finds new tokens only when initialised, which is what the watcher's rescan does.
"""

from __future__ import annotations

import queue
import shutil
from pathlib import Path

import pytest
from softhsm import PIN, SoftHsm, softhsm

from signer_app.crypto.errors import InvalidInput
from signer_app.crypto.pkcs11 import load_module, reload_module
from signer_app.service.tokens import ENV_VAR, TokenChange, TokenRegistry, TokenWatcher

__all__ = ["softhsm"]  # fixture, used by name

STORAGE = "AKKaztokenStore"


class Usb:
    """A SoftHSM2 token directory and a drawer of ready-made tokens to plug into it."""

    def __init__(self, port: SoftHsm, drawer: Path) -> None:
        self.port = port
        drawer_hsm = SoftHsm(drawer)
        drawer_hsm.init_token("kaztoken")
        (self._made,) = drawer_hsm.tokens.iterdir()
        port.activate()
        self.registry = TokenRegistry(environ={ENV_VAR: f"{STORAGE}={port.lib}"}, platform="linux")

    def plug(self) -> None:
        shutil.copytree(self._made, self.port.tokens / self._made.name)

    def pull(self) -> None:
        shutil.rmtree(self.port.tokens / self._made.name)


@pytest.fixture
def usb(softhsm: SoftHsm, tmp_path: Path) -> Usb:
    return Usb(softhsm, tmp_path / "drawer")


def test_a_plugged_token_is_added_and_a_pulled_one_removed(usb: Usb) -> None:
    seen: list[TokenChange] = []
    watcher = TokenWatcher(usb.registry, seen.append, storages=[STORAGE])
    assert watcher.poll() is None
    usb.plug()
    assert watcher.poll() == TokenChange(added=(STORAGE,), removed=(), active=(STORAGE,))
    assert watcher.poll() is None  # still there: nothing to say
    usb.pull()
    assert watcher.poll() == TokenChange(added=(), removed=(STORAGE,), active=())
    assert [c.added or c.removed for c in seen] == [(STORAGE,), (STORAGE,)]


def test_the_worker_thread_reports_without_the_caller_waiting(usb: Usb) -> None:
    changes: queue.Queue[TokenChange] = queue.Queue()
    usb.plug()
    watcher = TokenWatcher(usb.registry, changes.put, interval=0.05, storages=[STORAGE])
    watcher.start()
    try:
        assert watcher.running
        assert changes.get(timeout=20).added == (STORAGE,)  # present at start: added
        usb.pull()
        assert changes.get(timeout=20).removed == (STORAGE,)
    finally:
        watcher.stop()
    assert not watcher.running
    assert watcher.active == ()


def test_a_driver_with_a_session_open_is_not_restarted_under_it(usb: Usb) -> None:
    usb.plug()
    store = load_module(usb.port.lib).login(PIN)
    assert not reload_module(usb.port.lib)
    assert usb.registry.active_storages([STORAGE], rescan=True) == [STORAGE]
    assert not store.closed
    store.close()
    assert reload_module(usb.port.lib)


def test_a_failing_listener_does_not_stop_the_watching(usb: Usb) -> None:
    def broken(change: TokenChange) -> None:
        raise RuntimeError("listener bug")

    watcher = TokenWatcher(usb.registry, broken, storages=[STORAGE])
    usb.plug()
    assert watcher.poll() is not None
    assert watcher.active == (STORAGE,)


def test_start_twice_and_stop_without_start_are_harmless(usb: Usb) -> None:
    watcher = TokenWatcher(usb.registry, lambda change: None, interval=0.05)
    watcher.stop()
    watcher.start()
    watcher.start()
    watcher.stop()
    assert not watcher.running
    with pytest.raises(InvalidInput):
        TokenWatcher(usb.registry, lambda change: None, interval=0)
