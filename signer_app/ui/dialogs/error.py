"""The error dialog: one plain sentence from the QalamError message table, details on demand.

The sentence says what happened and what to do (crypto/errors.MESSAGES, service/errors); the
"Details" button expands the stable code and the engine's detail text for support. A detail
never holds a secret (the error hierarchy's contract), so it may be shown and copied.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...crypto.errors import QalamError
from ..i18n import Text, Translator, register
from .base import AsyncDialog

register(
    {
        "error.title": Text("Qalam — something went wrong", "Qalam — ошибка", "Qalam — қате"),
        "error.site": Text(
            "Request from {origin}", "Запрос от {origin}", "{origin} жіберген сұрау"
        ),
        "error.local": Text(
            "Request from a program on this computer",
            "Запрос от программы на этом компьютере",
            "Осы компьютердегі бағдарламаның сұрауы",
        ),
        "error.details.show": Text("Details", "Подробнее", "Толығырақ"),
        "error.details.hide": Text("Hide details", "Скрыть подробности", "Толығырағын жасыру"),
        "error.details.text": Text(
            "Code: {code}\nDetail: {detail}",
            "Код: {code}\nПодробности: {detail}",
            "Коды: {code}\nТолығырақ: {detail}",
        ),
        "error.close": Text("Close", "Закрыть", "Жабу"),
    }
)


class ErrorDialog(AsyncDialog):
    """One error: the sentence, where it came from, and collapsible technical details."""

    def __init__(
        self,
        translator: Translator,
        error: QalamError,
        origin: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(translator, parent)
        self.error = error
        self.origin = origin
        self.setMinimumWidth(440)
        self.origin_label = QLabel()
        self.origin_label.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        font = self.message_label.font()
        font.setBold(True)
        self.message_label.setFont(font)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setVisible(False)
        self.details.setMaximumHeight(90)
        self.details_button = QPushButton()
        self.details_button.setCheckable(True)
        self.details_button.setAutoDefault(False)
        self.details_button.toggled.connect(self._toggle)
        self.buttons = QDialogButtonBox()
        self.close_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.RejectRole)
        self.close_button.setDefault(True)
        self.close_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.origin_label)
        layout.addWidget(self.message_label)
        layout.addWidget(self.details)
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.buttons)
        self.setTabOrder(self.close_button, self.details_button)
        self.retranslate()
        self.close_button.setFocus()

    def _toggle(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.retranslate()

    def retranslate(self) -> None:
        """Every string in the current language."""
        t = self.translator
        self.setWindowTitle(t.text("error.title"))
        if self.origin:
            self.origin_label.setText(t.text("error.site", origin=self.origin))
        else:
            self.origin_label.setText(t.text("error.local"))
        self.message_label.setText(t.error(self.error))
        self.message_label.setAccessibleName(self.message_label.text())
        detail = self.error.detail or "-"
        self.details.setPlainText(t.text("error.details.text", code=self.error.code, detail=detail))
        shown = self.details_button.isChecked()
        self.details_button.setText(t.text("error.details.hide" if shown else "error.details.show"))
        self.details_button.setAccessibleName(self.details_button.text())
        self.close_button.setText(t.text("error.close"))
        self.close_button.setAccessibleName(self.close_button.text())


__all__ = ["ErrorDialog"]
