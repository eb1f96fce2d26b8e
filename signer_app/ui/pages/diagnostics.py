"""*Diagnostics*: what a help desk asks first. The API port, the local TLS root and whether each
browser's certificate store trusts it (with a "Fix" that installs it, api/trust.py), versions,
and "Copy report" for a support ticket. certutil runs in a pool thread.

Nothing secret is shown or copied: no key, password, document or site list.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import PySide6
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ... import __version__
from ...api import trust
from ...api.server import DEFAULT_PORT
from ..context import AppContext
from ..i18n import Text, register
from ..widgets.page_errors import ErrorBox
from ..widgets.page_tasks import run_blocking

register(
    {
        "page.diag.title": Text("Diagnostics", "Диагностика", "Диагностика"),
        "page.diag.version": Text("Versions", "Версии", "Нұсқалар"),
        "page.diag.data": Text("Data folder", "Папка данных", "Деректер қалтасы"),
        "page.diag.port": Text("Signing API", "API подписи", "Қол қою API"),
        "page.diag.port.value": Text(
            "wss://127.0.0.1:{port}", "wss://127.0.0.1:{port}", "wss://127.0.0.1:{port}"
        ),
        "page.diag.root": Text(
            "Local TLS root (SHA-256)",
            "Локальный корневой TLS (SHA-256)",
            "Жергілікті TLS түбірі (SHA-256)",
        ),
        "page.diag.root.missing": Text(
            "not created yet: it is made when the signing API first starts",
            "ещё не создан: он появится при первом запуске API подписи",
            "әлі жасалмаған: қол қою API алғаш іске қосылғанда жасалады",
        ),
        "page.diag.trust": Text(
            "Browser certificate stores",
            "Хранилища сертификатов браузеров",
            "Браузерлердің сертификат қоймалары",
        ),
        "page.diag.store": Text("Store", "Хранилище", "Қойма"),
        "page.diag.state": Text("State", "Состояние", "Күйі"),
        "page.diag.state.trusted": Text("trusted", "доверенный", "сенімді"),
        "page.diag.state.untrusted": Text(
            "present but not trusted", "есть, но без доверия", "бар, бірақ сенімсіз"
        ),
        "page.diag.state.different": Text(
            "holds an older Qalam root", "содержит старый корневой Qalam", "ескі Qalam түбірі бар"
        ),
        "page.diag.state.absent": Text("not installed", "не установлен", "орнатылмаған"),
        "page.diag.state.no_database": Text("no store yet", "хранилища ещё нет", "қойма әлі жоқ"),
        "page.diag.fix": Text(
            "Fix: trust the local root", "Исправить: доверять корневому", "Түзету: түбірге сену"
        ),
        "page.diag.fixed": Text(
            "The local root is now trusted. Restart the browser if a portal still cannot connect.",
            "Корневой сертификат теперь доверенный. Если портал всё ещё не подключается, "
            "перезапустите браузер.",
            "Түбір сертификатқа енді сенім бар. Портал әлі қосылмаса, браузерді қайта "
            "іске қосыңыз.",
        ),
        "page.diag.refresh": Text("Check again", "Проверить снова", "Қайта тексеру"),
        "page.diag.copy": Text("Copy report", "Копировать отчёт", "Есепті көшіру"),
        "page.diag.copied": Text(
            "The report is on the clipboard.", "Отчёт скопирован.", "Есеп көшірілді."
        ),
        "page.diag.checking": Text("Checking…", "Проверяем…", "Тексерілуде…"),
    }
)


def versions() -> dict[str, str]:
    """Qalam and the libraries a support ticket needs."""
    found = {"Qalam": __version__, "Python": platform.python_version()}
    found["PySide6"] = PySide6.__version__
    for name in ("cryptography", "asn1crypto", "websockets", "keyring"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["system"] = f"{platform.system()} {platform.release()} {platform.machine()}"
    return found


class DiagnosticsPage(QWidget):
    """The *Diagnostics* page."""

    def __init__(
        self,
        context: AppContext,
        home: Path | None = None,
        api_port: Callable[[], int | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.translator = context.translator
        self.home = home
        # The shell may hand in the port it really listens on; the default otherwise.
        self.api_port = api_port or (lambda: DEFAULT_PORT)
        self.states: list[trust.DbStatus] = []
        self.checks = 0  # finished trust checks (tests wait on it)
        self.root_pem = context.data_dir / "tls" / "root.pem"

        self.heading = QLabel()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.heading.setFont(font)
        self.port = QLabel()
        self.data = QLabel(str(context.data_dir))
        self.root = QLabel()
        self.root.setWordWrap(True)
        self.version = QLabel()
        self.version.setWordWrap(True)
        self.labels: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, value in (
            ("page.diag.port", self.port),
            ("page.diag.data", self.data),
            ("page.diag.root", self.root),
            ("page.diag.version", self.version),
        ):
            label = QLabel()
            label.setBuddy(value)
            self.labels[key] = label
            form.addRow(label, value)
        self.trust_label = QLabel()
        self.stores = QTableWidget(0, 2)
        self.stores.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.stores.verticalHeader().setVisible(False)
        self.stores.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.stores.horizontalHeader().setStretchLastSection(True)
        self.trust_label.setBuddy(self.stores)
        self.fix_button = QPushButton()
        self.fix_button.clicked.connect(self.fix)
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(lambda: self.refresh())
        self.copy_button = QPushButton()
        self.copy_button.clicked.connect(self.copy_report)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.error = ErrorBox(self.translator)

        buttons = QHBoxLayout()
        for button in (self.fix_button, self.refresh_button, self.copy_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.trust_label)
        layout.addWidget(self.stores, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.info)
        layout.addWidget(self.error)
        self.translator.changed.connect(self.retranslate)
        self.retranslate()
        self.refresh()

    def retranslate(self) -> None:
        """Every visible string in the current language."""
        t = self.translator.text
        self.heading.setText(t("page.diag.title"))
        for key, label in self.labels.items():
            label.setText(t(key) + ":")
        self.trust_label.setText(t("page.diag.trust") + ":")
        self.stores.setAccessibleName(t("page.diag.trust"))
        self.stores.setHorizontalHeaderLabels([t("page.diag.store"), t("page.diag.state")])
        for button, key in (
            (self.fix_button, "page.diag.fix"),
            (self.refresh_button, "page.diag.refresh"),
            (self.copy_button, "page.diag.copy"),
        ):
            button.setText(t(key))
        port = self.api_port()
        self.port.setText(t("page.diag.port.value", port=port) if port else "—")
        self.version.setText(", ".join(f"{k} {v}" for k, v in versions().items()))
        self._show_root()
        self._fill_stores()

    def _show_root(self) -> None:
        try:
            root = trust.load_root(self.root_pem)
        except Exception:
            self.root.setText(self.translator.text("page.diag.root.missing"))
            self.fix_button.setEnabled(False)
            return
        self.root.setText(trust.fingerprint(root))
        self.fix_button.setEnabled(True)

    def _fill_stores(self) -> None:
        t = self.translator.text
        self.stores.setRowCount(0)
        for status in self.states:
            row = self.stores.rowCount()
            self.stores.insertRow(row)
            state = status.state.replace(" ", "_")
            self.stores.setItem(row, 0, QTableWidgetItem(status.db.label))
            self.stores.setItem(row, 1, QTableWidgetItem(t(f"page.diag.state.{state}")))

    def refresh(self, note: str = "") -> None:
        """Ask certutil about every store, in a pool thread; ``note`` is shown once done."""
        self._show_root()
        if not self.root_pem.exists():
            self.checks += 1
            return
        self.info.setText(self.translator.text("page.diag.checking"))
        root_pem, home = self.root_pem, self.home
        run_blocking(
            lambda: trust.status(root_pem, home),
            lambda states: self._checked(states, note),
            self._failed,
            owner=self,
        )

    def _checked(self, states: list[trust.DbStatus], note: str = "") -> None:
        self.checks += 1
        self.info.setText(note)
        self.states = states
        self._fill_stores()

    def _failed(self, error: Exception) -> None:
        self.checks += 1
        self.info.clear()
        self.error.show_error(error)

    def fix(self) -> None:
        """Install the local root in every store (the user's own; no administrator needed)."""
        self.error.clear()
        root_pem, home = self.root_pem, self.home

        def done(_lines: list[str]) -> None:
            self.refresh(self.translator.text("page.diag.fixed"))

        run_blocking(lambda: trust.install(root_pem, home), done, self._failed, owner=self)

    def report_text(self) -> str:
        """The plain-text report "Copy report" puts on the clipboard."""
        lines = ["Qalam diagnostics"]
        lines += [f"{name}: {value}" for name, value in versions().items()]
        lines.append(f"API port: {self.api_port() or '-'}")
        lines.append(f"Data folder: {self.context.data_dir}")
        lines.append(f"Local root SHA-256: {self.root.text()}")
        for status in self.states:
            lines.append(f"Store {status.db.label}: {status.state}")
        settings = self.context.settings
        lines.append(f"Language: {settings.locale}; TSA: {settings.tsa_url or '-'}")
        blocked = sum(1 for d in settings.origins.values() if d == "deny")
        lines.append(f"Blocked sites: {blocked}")
        return "\n".join(lines)

    def copy_report(self) -> None:
        """Put the report on the clipboard."""
        QGuiApplication.clipboard().setText(self.report_text())
        self.info.setText(self.translator.text("page.diag.copied"))


__all__ = ["DiagnosticsPage", "versions"]
