"""File pickers and yes/no questions of the pages, behind one object tests can replace.

Qt's file dialogs are modal and native; a page never calls them directly but through
``PageDialogs``, so a test answers with ``ScriptedDialogs`` and the same page code runs
offscreen. Save dialogs never confirm an overwrite themselves: the pages ask in their own words.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


class PageDialogs:
    """The real dialogs."""

    def open_files(self, parent: QWidget, title: str, filters: str) -> list[Path]:
        """Files the person picks (empty when cancelled)."""
        names, _ = QFileDialog.getOpenFileNames(parent, title, "", filters)
        return [Path(name) for name in names]

    def open_file(self, parent: QWidget, title: str, filters: str) -> Path | None:
        """One file, or None."""
        name, _ = QFileDialog.getOpenFileName(parent, title, "", filters)
        return Path(name) if name else None

    def save_file(self, parent: QWidget, title: str, suggested: Path, filters: str) -> Path | None:
        """Where to write, or None (no overwrite question here: the page asks)."""
        option = QFileDialog.Option.DontConfirmOverwrite
        name, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), filters, "", option)
        return Path(name) if name else None

    def folder(self, parent: QWidget, title: str, start: Path | None = None) -> Path | None:
        """A folder, or None."""
        name = QFileDialog.getExistingDirectory(parent, title, str(start or ""))
        return Path(name) if name else None

    def ask(self, parent: QWidget, title: str, question: str) -> bool:
        """Yes (True) or no; "no" is the default button."""
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        answer = QMessageBox.question(
            parent, title, question, buttons, QMessageBox.StandardButton.No
        )
        return answer == QMessageBox.StandardButton.Yes


class ScriptedDialogs(PageDialogs):
    """Answers queued by a test, in order; records every question asked. TEST ONLY."""

    def __init__(self) -> None:
        self.answers: deque[object] = deque()
        self.asked: list[str] = []

    def _next(self, what: str) -> object:
        self.asked.append(what)
        if not self.answers:
            raise AssertionError(f"no scripted answer for {what}")
        return self.answers.popleft()

    def open_files(self, parent: QWidget, title: str, filters: str) -> list[Path]:
        """The next answer (a list of paths)."""
        answer = self._next(title)
        if not isinstance(answer, list):
            raise TypeError(f"the answer to {title!r} must be a list of paths")
        return [Path(p) for p in answer]

    def open_file(self, parent: QWidget, title: str, filters: str) -> Path | None:
        """The next answer (a path or None)."""
        answer = self._next(title)
        return Path(str(answer)) if answer is not None else None

    def save_file(self, parent: QWidget, title: str, suggested: Path, filters: str) -> Path | None:
        """The next answer (a path or None)."""
        answer = self._next(title)
        return Path(str(answer)) if answer is not None else None

    def folder(self, parent: QWidget, title: str, start: Path | None = None) -> Path | None:
        """The next answer (a path or None)."""
        answer = self._next(title)
        return Path(str(answer)) if answer is not None else None

    def ask(self, parent: QWidget, title: str, question: str) -> bool:
        """The next answer (True or False)."""
        return bool(self._next(question))


__all__ = ["PageDialogs", "ScriptedDialogs"]
