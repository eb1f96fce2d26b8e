"""Fixtures shared by the page tests: a fresh data dir, an in-memory keyring, an asyncio loop
integrated with Qt (qasync, as the app runs), and helpers to drive dialogs without exec()."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from PySide6.QtWidgets import QAbstractButton, QDialog, QLabel, QWidget

from signer_app.ui.context import AppContext


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict: no test touches the user's."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(name="memory_keyring")
def memory_keyring_fixture() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(name="context")
def context_fixture(tmp_path: Path) -> AppContext:
    """A context over an empty data dir, in English."""
    ctx = AppContext.create(tmp_path / "data")
    ctx.translator.set_language("en")
    return ctx


def drive(qtbot, act: Callable[[QDialog], None]) -> Callable[[QDialog], int]:  # type: ignore[no-untyped-def]
    """An ``exec_dialog`` replacement: shows the dialog, lets ``act`` play the person."""

    def run(dialog: QDialog) -> int:
        dialog.show()
        act(dialog)
        result = dialog.result()
        dialog.close()
        return int(result)

    return run


def visible_texts(widget: QWidget) -> set[str]:
    """Every label and button text under ``widget``."""
    texts = {w.text() for w in widget.findChildren(QLabel) if w.text()}
    texts |= {w.text() for w in widget.findChildren(QAbstractButton) if w.text()}
    return texts


@pytest.fixture(name="certutil_path")
def certutil_path_fixture() -> str:
    """NSS's certutil (libnss3-tools); a missing one fails the test, CI installs it."""
    import shutil

    path = shutil.which("certutil")
    if path is None:
        pytest.fail("certutil is not installed: run scripts/setup.sh")
    return path
