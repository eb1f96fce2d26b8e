"""A dialog a coroutine can await without blocking the event loop.

``exec()`` would run a nested Qt loop and stall every other socket of the API; instead the
dialog is shown (window-modal to nothing, on top, so the person sees it over the browser) and
``ask()`` awaits a future that the dialog's buttons complete through ``answer``. When the
awaiting task is cancelled (the page's socket closed) the dialog closes itself and the
cancellation goes on. Esc and the window's close button mean ``reject()``: the answer None.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QWidget

from ..i18n import Translator


class AsyncDialog(QDialog):
    """A QDialog whose answers are awaited: ``await dialog.ask()`` returns the next answer."""

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.translator = translator
        self._future: asyncio.Future[object] | None = None
        self._closing = False
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        translator.changed.connect(self.retranslate)

    def retranslate(self) -> None:
        """Redraw every string in the current language (subclasses fill it in)."""

    async def ask(self) -> object:
        """Show the dialog (if hidden) and wait for the next answer; close it if cancelled."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        self._future = future
        if not self.isVisible():
            self.show()
        self.raise_()
        self.activateWindow()
        try:
            return await future
        except asyncio.CancelledError:
            self.dismiss()
            raise
        finally:
            if self._future is future:
                self._future = None

    @property
    def waiting(self) -> bool:
        """True while a coroutine awaits this dialog's answer."""
        return self._future is not None and not self._future.done()

    def answer(self, value: object) -> None:
        """Complete the awaited answer (ignored when nobody waits)."""
        if self._future is not None and not self._future.done():
            self._future.set_result(value)

    def dismiss(self) -> None:
        """Close without answering (the request is over)."""
        self._closing = True
        try:
            self.done(QDialog.DialogCode.Rejected)
            self.hide()
        finally:
            self._closing = False

    def reject(self) -> None:
        """Esc, the close button or Cancel: the answer None."""
        if self._closing:
            super().reject()
            return
        self.answer(None)
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window is a cancel."""
        if not self._closing:
            self.answer(None)
        super().closeEvent(event)


__all__ = ["AsyncDialog"]
