"""An error as a person reads it: a plain sentence, what to do next, and hidden details.

Every page shows failures through ``ErrorBox`` and ``describe``: a QalamError gives its own plain
sentence in the current language; anything else (an OSError, a bug) gives a generic sentence, and
its technical text goes behind "Details", never a stack trace.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...crypto.errors import QalamError
from ..i18n import Text, Translator, register

register(
    {
        "page.error.details.show": Text("Details", "Подробности", "Толығырақ"),
        "page.error.details.hide": Text("Hide details", "Скрыть подробности", "Жасыру"),
        "page.error.internal": Text(
            "Something unexpected went wrong. Try again; if it happens again, copy the details "
            "for support.",
            "Произошла непредвиденная ошибка. Повторите попытку; если она повторится, "
            "скопируйте подробности для службы поддержки.",
            "Күтпеген қате шықты. Қайталап көріңіз; қате қайталанса, толық мәліметті "
            "қолдау қызметіне көшіріп жіберіңіз.",
        ),
        "page.error.os": Text(
            "The file could not be read or written ({reason}). Check that it exists and that "
            "you may open it, then try again.",
            "Не удалось прочитать или записать файл ({reason}). Проверьте, что он существует "
            "и доступен вам, и повторите попытку.",
            "Файлды оқу немесе жазу мүмкін болмады ({reason}). Файлдың бар екенін және оны "
            "ашуға рұқсатыңыз барын тексеріп, қайталап көріңіз.",
        ),
        "page.error.dismiss": Text("Close", "Закрыть", "Жабу"),
    }
)


def describe(translator: Translator, error: BaseException) -> tuple[str, str]:
    """(plain sentence, technical details) for any failure; details never hold a traceback."""
    if isinstance(error, QalamError):
        details = f"{error.code}: {error.detail}" if error.detail else error.code
        return translator.error(error), details
    if isinstance(error, OSError):
        reason = error.strerror or type(error).__name__
        where = f" ({error.filename})" if error.filename else ""
        return translator.text("page.error.os", reason=reason), f"{type(error).__name__}{where}"
    return translator.text("page.error.internal"), f"{type(error).__name__}: {error}"


class ErrorBox(QWidget):
    """An inline message: icon, sentence, a "Details" toggle and a close button."""

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.translator = translator
        self.icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self.icon.setPixmap(icon.pixmap(size, size))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("error message")
        self.toggle = QPushButton()
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self._toggled)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.clear)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(120)
        self.details.hide()
        top = QHBoxLayout()
        top.addWidget(self.icon)
        top.addWidget(self.message, 1)
        top.addWidget(self.toggle)
        top.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.details)
        self.hide()
        translator.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        """Button texts in the current language."""
        key = "page.error.details.hide" if self.toggle.isChecked() else "page.error.details.show"
        self.toggle.setText(self.translator.text(key))
        self.close_button.setText(self.translator.text("page.error.dismiss"))
        self.toggle.setAccessibleName(self.toggle.text())

    def _toggled(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.retranslate()

    def show_error(self, error: BaseException) -> None:
        """Show ``error`` as a plain sentence with its details folded away."""
        sentence, details = describe(self.translator, error)
        self.show_text(sentence, details)

    def show_text(self, sentence: str, details: str = "") -> None:
        """Show a sentence (and optional technical details)."""
        self.message.setText(sentence)
        self.details.setPlainText(details)
        self.toggle.setChecked(False)
        self.toggle.setVisible(bool(details))
        self.show()

    def clear(self) -> None:
        """Hide the message."""
        self.message.clear()
        self.details.clear()
        self.hide()

    @property
    def text(self) -> str:
        """The sentence shown now ('' when hidden)."""
        return self.message.text() if not self.isHidden() else ""
