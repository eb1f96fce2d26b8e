"""The tray icon: what state Qalam is in, at a glance, and a small menu.

Status lines: the local API (listening on its port, or why not), the TLS root (trusted in the
browsers' NSS stores or not), and how many key files were found. The menu: Open Qalam, the
language (switches every window live), Quit. The icon is drawn here rather than loaded, so the
tray works before any resource is installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from .i18n import LANGUAGE_NAMES, LANGUAGES, Text, Translator, register

register(
    {
        "tray.open": Text("Open Qalam", "Открыть Qalam", "Qalam ашу"),
        "tray.language": Text("Language", "Язык", "Тіл"),
        "tray.quit": Text("Quit", "Выход", "Шығу"),
        "tray.operator": Text(
            "PSC operator mode…", "Режим оператора ЦОН…", "ХҚКО операторы режимі…"
        ),
        "tray.api.listening": Text(
            "Signing service: listening on port {port}",
            "Служба подписи: слушает порт {port}",
            "Қол қою қызметі: {port} портын тыңдап тұр",
        ),
        "tray.api.starting": Text(
            "Signing service: starting…",
            "Служба подписи: запуск…",
            "Қол қою қызметі: іске қосылуда…",
        ),
        "tray.api.failed": Text(
            "Signing service: not running ({reason})",
            "Служба подписи: не работает ({reason})",
            "Қол қою қызметі: жұмыс істемейді ({reason})",
        ),
        "tray.tls.trusted": Text(
            "Browsers trust the local connection",
            "Браузеры доверяют локальному соединению",
            "Браузерлер жергілікті қосылымға сенеді",
        ),
        "tray.tls.untrusted": Text(
            "Browsers do not trust the local connection yet (see Diagnostics)",
            "Браузеры пока не доверяют локальному соединению (см. «Диагностика»)",
            "Браузерлер жергілікті қосылымға әлі сенбейді («Диагностика» бөлімін қараңыз)",
        ),
        "tray.tls.unknown": Text(
            "Browser trust: not checked",
            "Доверие браузеров: не проверено",
            "Браузерлер сенімі: тексерілмеді",
        ),
        "tray.keys": Text(
            "Key files found: {count}",
            "Найдено файлов ключей: {count}",
            "Табылған кілт файлдары: {count}",
        ),
    }
)


@dataclass(frozen=True)
class Status:
    """What the tray says: API port (None while starting or failed), TLS trust, keys found."""

    port: int | None = None
    api_error: str | None = None
    tls_trusted: bool | None = None
    keys: int = 0


def draw_icon(ok: bool = True) -> QIcon:
    """A round pen-nib badge: teal when the API listens, grey otherwise."""
    pixmap = QPixmap(64, 64)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#00838f" if ok else "#757575"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(2, 2, 60, 60)
    painter.setPen(QColor("white"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(38)
    painter.setFont(font)
    painter.drawText(QRectF(0, 0, 64, 62), Qt.AlignmentFlag.AlignCenter, "Q")
    painter.end()
    return QIcon(pixmap)


class Tray(QObject):
    """The tray icon and its menu; ``open_requested`` and ``quit_requested`` go to the app."""

    open_requested = Signal()
    operator_requested = Signal()
    quit_requested = Signal()

    def __init__(self, translator: Translator) -> None:
        super().__init__()
        self.translator = translator
        self.status = Status()
        self.icon = QSystemTrayIcon(draw_icon(False))
        self.menu = QMenu()
        self.status_actions = [QAction(self.menu) for _ in range(3)]
        for action in self.status_actions:
            action.setEnabled(False)
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.open_action = self.menu.addAction("")
        self.open_action.triggered.connect(self.open_requested)
        self.language_menu = self.menu.addMenu("")
        self.language_group = QActionGroup(self.language_menu)
        self.language_actions: dict[str, QAction] = {}
        for code in LANGUAGES:
            action = self.language_menu.addAction(LANGUAGE_NAMES[code])
            action.setCheckable(True)
            action.setData(code)
            self.language_group.addAction(action)
            self.language_actions[code] = action
        self.language_group.triggered.connect(self._on_language)
        # Shown only on a computer that holds a GOV CA operator key (app.py decides).
        self.operator_action = self.menu.addAction("")
        self.operator_action.triggered.connect(self.operator_requested)
        self.operator_action.setVisible(False)
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("")
        self.quit_action.triggered.connect(self.quit_requested)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        translator.changed.connect(self.retranslate)
        self.retranslate()

    def show(self) -> None:
        """Put the icon in the tray (a no-op where there is no tray)."""
        self.icon.show()

    def set_status(self, status: Status) -> None:
        """New status lines and icon colour."""
        self.status = status
        self.icon.setIcon(draw_icon(status.port is not None))
        self.retranslate()

    def status_lines(self) -> list[str]:
        """The three status lines in the current language."""
        t, s = self.translator, self.status
        if s.port is not None:
            api = t.text("tray.api.listening", port=s.port)
        elif s.api_error:
            api = t.text("tray.api.failed", reason=s.api_error)
        else:
            api = t.text("tray.api.starting")
        tls = {True: "tray.tls.trusted", False: "tray.tls.untrusted", None: "tray.tls.unknown"}
        return [api, t.text(tls[s.tls_trusted]), t.text("tray.keys", count=s.keys)]

    def retranslate(self) -> None:
        """Every string in the current language."""
        t = self.translator
        lines = self.status_lines()
        for action, line in zip(self.status_actions, lines, strict=True):
            action.setText(line)
        self.icon.setToolTip("Qalam\n" + "\n".join(lines))
        self.open_action.setText(t.text("tray.open"))
        self.language_menu.setTitle(t.text("tray.language"))
        self.quit_action.setText(t.text("tray.quit"))
        self.operator_action.setText(t.text("tray.operator"))
        self.language_actions[t.language].setChecked(True)

    def _on_language(self, action: QAction) -> None:
        self.translator.set_language(str(action.data()))

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_requested.emit()


__all__ = ["Status", "Tray", "draw_icon"]
