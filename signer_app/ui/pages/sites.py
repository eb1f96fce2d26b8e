"""*Sites*: which sites are blocked (unblock, forget) and the recent requests (who asked for
what, when, and how it ended). Reads service/origins.py and service/request_log.py; re-read
whenever the page is shown, since the API changes both while the window is open."""

from __future__ import annotations

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...service.request_log import RequestLog
from ..context import AppContext
from ..i18n import Text, register
from ..widgets.page_errors import ErrorBox

register(
    {
        "page.sites.title": Text("Sites", "Сайты", "Сайттар"),
        "page.sites.permissions": Text(
            "Sites you decided about",
            "Сайты, о которых вы приняли решение",
            "Шешім қабылданған сайттар",
        ),
        "page.sites.none": Text(
            "No site is blocked. Every site must ask you before anything is signed.",
            "Ни один сайт не заблокирован. Любой сайт должен спросить вас перед подписью.",
            "Бірде-бір сайт бұғатталмаған. Кез келген сайт қол қояр алдында сізден сұрайды.",
        ),
        "page.sites.origin": Text("Site", "Сайт", "Сайт"),
        "page.sites.decision": Text("Decision", "Решение", "Шешім"),
        "page.sites.deny": Text("blocked", "заблокирован", "бұғатталған"),
        "page.sites.ask": Text("asks every time", "спрашивает каждый раз", "әр жолы сұрайды"),
        "page.sites.unblock": Text("Unblock", "Разблокировать", "Бұғаттан шығару"),
        "page.sites.block": Text("Block", "Заблокировать", "Бұғаттау"),
        "page.sites.forget": Text("Forget", "Забыть", "Ұмыту"),
        "page.sites.refresh": Text("Refresh", "Обновить", "Жаңарту"),
        "page.sites.log": Text("Recent requests", "Последние запросы", "Соңғы сұраулар"),
        "page.sites.when": Text("When", "Когда", "Қашан"),
        "page.sites.what": Text("What", "Что", "Не"),
        "page.sites.key": Text("Key owner", "Владелец ключа", "Кілт иесі"),
        "page.sites.outcome": Text("Outcome", "Итог", "Нәтиже"),
        "page.sites.local": Text("this computer", "этот компьютер", "осы компьютер"),
        "page.sites.kind.cms": Text("CMS signature", "подпись CMS", "CMS қолтаңба"),
        "page.sites.kind.xml": Text("XML signature", "подпись XML", "XML қолтаңба"),
        "page.sites.kind.hash": Text("hash signature", "подпись хеша", "хэш қолтаңбасы"),
        "page.sites.kind.pdf": Text("PDF signature", "подпись PDF", "PDF қолтаңба"),
        "page.sites.kind.raw": Text("raw signature", "простая подпись", "қарапайым қолтаңба"),
        "page.sites.kind.key_info": Text(
            "certificate request", "запрос сертификата", "сертификат сұрауы"
        ),
        "page.sites.count": Text(
            "{what}, {count} document(s)",
            "{what}, документов: {count}",
            "{what}, құжат саны: {count}",
        ),
        "page.sites.outcome.done": Text("done", "выполнен", "орындалды"),
        "page.sites.outcome.refused": Text(
            "refused or cancelled", "отклонён или отменён", "қабылданбады немесе тоқтатылды"
        ),
        "page.sites.outcome.blocked": Text(
            "refused: site blocked", "отклонён: сайт заблокирован", "қабылданбады: сайт бұғатталған"
        ),
        "page.sites.outcome.failed": Text("failed ({code})", "ошибка ({code})", "қате ({code})"),
        "page.sites.log_empty": Text("No requests yet.", "Запросов пока нет.", "Әзірге сұрау жоқ."),
    }
)


def _table(columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class SitesPage(QWidget):
    """The *Sites* page."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.translator = context.translator
        self.log = RequestLog(context.data_dir)
        self.heading = QLabel()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.heading.setFont(font)
        self.permissions_label = QLabel()
        self.permissions = _table(2)
        self.permissions_label.setBuddy(self.permissions)
        self.permissions.itemSelectionChanged.connect(self._update_buttons)
        self.none = QLabel()
        self.none.setWordWrap(True)
        self.unblock_button = QPushButton()
        self.unblock_button.clicked.connect(lambda: self._change("allow"))
        self.block_button = QPushButton()
        self.block_button.clicked.connect(lambda: self._change("block"))
        self.forget_button = QPushButton()
        self.forget_button.clicked.connect(lambda: self._change("forget"))
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.refresh)
        self.log_label = QLabel()
        self.requests = _table(5)
        self.log_label.setBuddy(self.requests)
        self.error = ErrorBox(self.translator)

        buttons = QHBoxLayout()
        for button in (
            self.unblock_button,
            self.block_button,
            self.forget_button,
            self.refresh_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.error)
        layout.addWidget(self.permissions_label)
        layout.addWidget(self.none)
        layout.addWidget(self.permissions, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.log_label)
        layout.addWidget(self.requests, 2)
        self.translator.changed.connect(self.retranslate)
        self.retranslate()

    def showEvent(self, event: QShowEvent) -> None:
        """Re-read: the API may have changed both lists meanwhile."""
        super().showEvent(event)
        self.refresh()

    def retranslate(self) -> None:
        """Every visible string in the current language."""
        t = self.translator.text
        self.heading.setText(t("page.sites.title"))
        self.permissions_label.setText(t("page.sites.permissions") + ":")
        self.permissions.setAccessibleName(t("page.sites.permissions"))
        self.permissions.setHorizontalHeaderLabels(
            [t("page.sites.origin"), t("page.sites.decision")]
        )
        self.log_label.setText(t("page.sites.log") + ":")
        self.requests.setAccessibleName(t("page.sites.log"))
        self.requests.setHorizontalHeaderLabels(
            [
                t("page.sites.when"),
                t("page.sites.origin"),
                t("page.sites.what"),
                t("page.sites.key"),
                t("page.sites.outcome"),
            ]
        )
        self.none.setText(t("page.sites.none"))
        for button, key in (
            (self.unblock_button, "page.sites.unblock"),
            (self.block_button, "page.sites.block"),
            (self.forget_button, "page.sites.forget"),
            (self.refresh_button, "page.sites.refresh"),
        ):
            button.setText(t(key))
        self.refresh()

    def refresh(self) -> None:
        """Fill both tables from disk."""
        t = self.translator.text
        try:
            entries = self.context.origins.entries()
            requests = self.log.entries()
        except Exception as error:
            self.error.show_error(error)
            return
        self.permissions.setRowCount(0)
        for origin, decision in entries.items():
            row = self.permissions.rowCount()
            self.permissions.insertRow(row)
            self.permissions.setItem(row, 0, QTableWidgetItem(origin))
            self.permissions.setItem(row, 1, QTableWidgetItem(t(f"page.sites.{decision}")))
        self.none.setVisible(not any(d == "deny" for d in entries.values()))
        self.requests.setRowCount(0)
        for request in requests:
            row = self.requests.rowCount()
            self.requests.insertRow(row)
            what = t(f"page.sites.kind.{request.kind}")
            if request.count:
                what = t("page.sites.count", what=what, count=request.count)
            outcome = t(f"page.sites.outcome.{request.outcome}", code=request.error_code or "")
            cells = (
                self.translator.datetime(request.time),
                request.origin or t("page.sites.local"),
                what,
                request.key_owner or "",
                outcome,
            )
            for column, text in enumerate(cells):
                self.requests.setItem(row, column, QTableWidgetItem(text))
        self._update_buttons()

    def selected_origin(self) -> str | None:
        """The origin selected in the permissions table."""
        rows = self.permissions.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.permissions.item(rows[0].row(), 0)
        return item.text() if item is not None else None

    def _update_buttons(self) -> None:
        origin = self.selected_origin()
        decision = self.context.origins.entries().get(origin) if origin else None
        self.unblock_button.setEnabled(decision == "deny")
        self.block_button.setEnabled(decision == "ask")
        self.forget_button.setEnabled(origin is not None)

    def select(self, origin: str) -> None:
        """Select ``origin``'s row (keyboard users and tests)."""
        for row in range(self.permissions.rowCount()):
            item = self.permissions.item(row, 0)
            if item is not None and item.text() == origin:
                self.permissions.selectRow(row)

    def _change(self, action: str) -> None:
        origin = self.selected_origin()
        if origin is None:
            return
        try:
            getattr(self.context.origins, action)(origin)
        except Exception as error:
            self.error.show_error(error)
        self.refresh()


__all__ = ["SitesPage"]
