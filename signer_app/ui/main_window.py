"""The main window: a sidebar of pages (My keys, Sign, Verify, Sites, Settings, Diagnostics).

The sidebar is a list the keyboard drives (arrows, Ctrl+1…Ctrl+6 jump to a page); every page
follows the Translator, so switching the language in Settings re-words the whole window at once.
Colours come from the palette only, so the system's dark theme applies as it is; sizes come from
fonts and layouts, so 200 % scaling stays readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QStyle,
    QWidget,
)

from ..service.request_log import RequestLog
from ..service.settings import Settings
from ..service.signing import SigningService
from ..service.tsa_client import HttpTsa
from .context import AppContext
from .file_routing import route
from .i18n import Text, register
from .pages.diagnostics import DiagnosticsPage
from .pages.keys import KeysPage
from .pages.settings import SettingsPage
from .pages.sign import SignPage
from .pages.sites import SitesPage
from .pages.verify import VerifyPage
from .widgets.page_dialogs import PageDialogs

register(
    {
        "page.window.title": Text(
            "Qalam: electronic signature",
            "Qalam: электронная подпись",
            "Qalam: электрондық қолтаңба",
        ),
        "page.window.sidebar": Text("Pages", "Разделы", "Бөлімдер"),
        "page.nav.keys": Text("My keys", "Мои ключи", "Менің кілттерім"),
        "page.nav.sign": Text("Sign", "Подписать", "Қол қою"),
        "page.nav.verify": Text("Verify", "Проверить", "Тексеру"),
        "page.nav.sites": Text("Sites", "Сайты", "Сайттар"),
        "page.nav.settings": Text("Settings", "Настройки", "Баптаулар"),
        "page.nav.diagnostics": Text("Diagnostics", "Диагностика", "Диагностика"),
    }
)

PAGES = ("keys", "sign", "verify", "sites", "settings", "diagnostics")

_ICONS = {
    "keys": QStyle.StandardPixmap.SP_DirHomeIcon,
    "sign": QStyle.StandardPixmap.SP_DialogSaveButton,
    "verify": QStyle.StandardPixmap.SP_DialogApplyButton,
    "sites": QStyle.StandardPixmap.SP_DriveNetIcon,
    "settings": QStyle.StandardPixmap.SP_FileDialogDetailedView,
    "diagnostics": QStyle.StandardPixmap.SP_MessageBoxInformation,
}


class MainWindow(QMainWindow):
    """The window behind the tray icon."""

    def __init__(
        self,
        context: AppContext,
        service: SigningService,
        dialogs: PageDialogs | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.service = service
        self.translator = context.translator
        shared = dialogs or PageDialogs()
        self.settings_page = SettingsPage(context, shared)
        self.settings_page.saved.connect(self._settings_saved)
        if service.request_log is None:
            # The Sites page reads this log; every front door's requests land in it.
            service.request_log = RequestLog(context.data_dir)
        self.sign_page = SignPage(context, service, shared)
        self.sign_page.verify_requested.connect(self.verify_file)
        self.verify_page = VerifyPage(context, shared)
        self.pages: dict[str, QWidget] = {
            "keys": KeysPage(context, shared),
            "sign": self.sign_page,
            "verify": self.verify_page,
            "sites": SitesPage(context),
            "settings": self.settings_page,
            "diagnostics": DiagnosticsPage(context),
        }
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setIconSize(QSize(24, 24))
        self.sidebar.setSizeAdjustPolicy(QListWidget.SizeAdjustPolicy.AdjustToContents)
        self.stack = QStackedWidget()
        for name in PAGES:
            item = QListWidgetItem(self.style().standardIcon(_ICONS[name]), "")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.sidebar.addItem(item)
            self.stack.addWidget(self.pages[name])
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.setCurrentRow(0)
        for number, name in enumerate(PAGES, 1):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self)
            shortcut.activated.connect(lambda name=name: self.show_page(name))
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.translator.changed.connect(self.retranslate)
        self.retranslate()
        self.resize(960, 640)

    def retranslate(self) -> None:
        """Title and sidebar in the current language (each page re-words itself)."""
        t = self.translator.text
        self.setWindowTitle(t("page.window.title"))
        self.sidebar.setAccessibleName(t("page.window.sidebar"))
        for row, name in enumerate(PAGES):
            item = self.sidebar.item(row)
            item.setText(t(f"page.nav.{name}"))
            item.setToolTip(f"{t(f'page.nav.{name}')} (Ctrl+{row + 1})")
        # Wide enough for the longest label in this language, whatever the font scale.
        width = self.sidebar.sizeHintForColumn(0) + 4 * self.sidebar.frameWidth() + 8
        self.sidebar.setFixedWidth(width)

    def _settings_saved(self, settings: Settings) -> None:
        """A new TSA address applies to the next request without a restart."""
        url = settings.tsa_url
        current = getattr(self.service.tsa, "url", None)
        if url != current:
            self.service.tsa = HttpTsa(url) if url else None

    def show_page(self, name: str) -> None:
        """Bring page ``name`` ("keys", "sign", "verify", "sites", "settings", "diagnostics")."""
        if name not in self.pages:
            raise ValueError(f"unknown page {name!r}; one of {', '.join(PAGES)}")
        self.sidebar.setCurrentRow(PAGES.index(name))
        page = self.stack.currentWidget()
        if page is not None:
            page.setFocus()

    def verify_file(self, path: Path, original: Path | None = None) -> None:
        """Check ``path`` (with its ``original`` for a detached signature) on the Verify page."""
        page = self.verify_page
        page.signed.setText(str(path))
        page.original.setText(str(original) if original is not None else "")
        self.show_page("verify")
        page.start()

    def open_files(self, paths: Sequence[Path]) -> None:
        """Files opened with Qalam: a signed one is checked on Verify, the others are listed on
        Sign (file_routing.py decides which is which)."""
        routing = route(paths)
        if routing.sign:
            self.sign_page.add_files(list(routing.sign))
            self.show_page("sign")
        if routing.verify is not None:
            self.verify_file(routing.verify, routing.original)

    @property
    def current_page(self) -> str:
        """The name of the page shown."""
        return PAGES[self.stack.currentIndex()]


__all__ = ["PAGES", "MainWindow"]
