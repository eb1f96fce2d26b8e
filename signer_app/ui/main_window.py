"""Placeholder main window (the pages arrive from the pages branch, which replaces this file)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow

from ..service.signing import SigningService
from .context import AppContext

PAGES = ("keys", "sign", "verify", "sites", "settings", "diagnostics")


class MainWindow(QMainWindow):
    """The app's window: ``show_page(name)`` for one of PAGES."""

    def __init__(self, context: AppContext, service: SigningService) -> None:
        super().__init__()
        self.context = context
        self.service = service
        self.setWindowTitle("Qalam")
        self._label = QLabel("Qalam")
        self.setCentralWidget(self._label)

    def show_page(self, name: str) -> None:
        """Bring page ``name`` forward."""
        if name not in PAGES:
            raise ValueError(f"unknown page {name!r}")
        self._label.setText(f"Qalam: {name}")
