"""The Sign page's PDF options: the PAdES level and an optional visible stamp (first or last
page, one of the four corners; service/pdf_local.py turns that into a box on the page).

Levels above B-B carry a timestamp, so they are offered only when a timestamp service is set;
the default is B-T then (a signing time nobody can dispute), else B-B.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QWidget,
)

from ...service.pdf_local import CORNERS, Corner, StampPage
from ..i18n import Text, Translator, register

if TYPE_CHECKING:
    from ...crypto.pades import PadesLevel

LEVELS: tuple[PadesLevel, ...] = ("b-b", "b-t", "b-lt", "b-lta")
PAGES: tuple[StampPage, ...] = ("first", "last")

register(
    {
        "page.sign.pdf": Text(
            "PDF signature inside the PDF (PAdES)",
            "Подпись PDF внутри PDF (PAdES)",
            "PDF ішіндегі PDF қолтаңба (PAdES)",
        ),
        "page.sign.pdf.level": Text("Level", "Уровень", "Деңгей"),
        "page.sign.pdf.level.b_b": Text(
            "B-B: signature only", "B-B: только подпись", "B-B: тек қолтаңба"
        ),
        "page.sign.pdf.level.b_t": Text(
            "B-T: with a timestamp", "B-T: с меткой времени", "B-T: уақыт белгісімен"
        ),
        "page.sign.pdf.level.b_lt": Text(
            "B-LT: long-term (timestamp and certificate status inside)",
            "B-LT: долгосрочная (метка времени и статус сертификата внутри)",
            "B-LT: ұзақ мерзімді (уақыт белгісі мен сертификат мәртебесі ішінде)",
        ),
        "page.sign.pdf.level.b_lta": Text(
            "B-LTA: long-term with an archive timestamp",
            "B-LTA: долгосрочная с архивной меткой времени",
            "B-LTA: мұрағаттық уақыт белгісімен ұзақ мерзімді",
        ),
        "page.sign.pdf.stamp": Text(
            "Show the signature on the page (visible stamp)",
            "Показать подпись на странице (видимый штамп)",
            "Қолтаңбаны бетте көрсету (көрінетін мөр)",
        ),
        "page.sign.pdf.page": Text("Page", "Страница", "Бет"),
        "page.sign.pdf.page.first": Text("First page", "Первая страница", "Бірінші бет"),
        "page.sign.pdf.page.last": Text("Last page", "Последняя страница", "Соңғы бет"),
        "page.sign.pdf.corner": Text("Corner", "Угол", "Бұрыш"),
        "page.sign.pdf.corner.bottom_right": Text("Bottom right", "Внизу справа", "Төменгі оң жақ"),
        "page.sign.pdf.corner.bottom_left": Text("Bottom left", "Внизу слева", "Төменгі сол жақ"),
        "page.sign.pdf.corner.top_right": Text("Top right", "Вверху справа", "Жоғарғы оң жақ"),
        "page.sign.pdf.corner.top_left": Text("Top left", "Вверху слева", "Жоғарғы сол жақ"),
        "page.sign.pdf.no_tsa": Text(
            "Levels with a timestamp need a timestamp service (Settings).",
            "Для уровней с меткой времени нужна служба меток времени (Настройки).",
            "Уақыт белгісі бар деңгейлерге уақыт белгісі қызметі керек (Баптаулар).",
        ),
    }
)


def _key(value: str) -> str:
    return value.replace("-", "_")


class PdfOptions(QWidget):
    """Level, and where the visible stamp goes (if anywhere)."""

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.translator = translator
        self._has_tsa = False
        self.level_label = QLabel()
        self.level = QComboBox()
        self.level_label.setBuddy(self.level)
        for value in LEVELS:
            self.level.addItem("", value)
        self.no_tsa = QLabel()
        self.no_tsa.setWordWrap(True)
        self.stamp = QCheckBox()
        self.stamp.toggled.connect(self._update_stamp)
        self.page_label = QLabel()
        self.page = QComboBox()
        self.page_label.setBuddy(self.page)
        for where in PAGES:
            self.page.addItem("", where)
        self.page.setCurrentIndex(PAGES.index("last"))
        self.corner_label = QLabel()
        self.corner = QComboBox()
        self.corner_label.setBuddy(self.corner)
        for corner in CORNERS:
            self.corner.addItem("", corner)

        form = QFormLayout(self)
        form.setContentsMargins(24, 0, 0, 0)
        form.addRow(self.level_label, self.level)
        form.addRow(self.no_tsa)
        form.addRow(self.stamp)
        form.addRow(self.page_label, self.page)
        form.addRow(self.corner_label, self.corner)
        self._update_stamp()

    def retranslate(self) -> None:
        """Every visible string in the current language."""
        t = self.translator.text
        for label, combo, key in (
            (self.level_label, self.level, "page.sign.pdf.level"),
            (self.page_label, self.page, "page.sign.pdf.page"),
            (self.corner_label, self.corner, "page.sign.pdf.corner"),
        ):
            label.setText(t(key) + ":")
            combo.setAccessibleName(t(key))
            for row in range(combo.count()):
                combo.setItemText(row, t(f"{key}.{_key(str(combo.itemData(row)))}"))
        self.stamp.setText(t("page.sign.pdf.stamp"))
        self.stamp.setAccessibleName(t("page.sign.pdf.stamp"))
        self.no_tsa.setText(t("page.sign.pdf.no_tsa"))

    def set_timestamp_service(self, available: bool) -> None:
        """Offer the timestamped levels only with a TSA; default B-T with one, else B-B."""
        model = cast(QStandardItemModel, self.level.model())
        for row, value in enumerate(LEVELS):
            item = model.item(row)
            if item is not None:
                item.setEnabled(available or value == "b-b")
        if available != self._has_tsa or (not available and self.chosen_level != "b-b"):
            self.level.setCurrentIndex(LEVELS.index("b-t" if available else "b-b"))
        self._has_tsa = available
        self.no_tsa.setVisible(not available)

    @property
    def chosen_level(self) -> PadesLevel:
        """The level picked."""
        return cast("PadesLevel", self.level.currentData())

    @property
    def chosen_stamp(self) -> tuple[StampPage, Corner] | None:
        """(page, corner) of the visible stamp, or None for an invisible signature."""
        if not self.stamp.isChecked():
            return None
        return cast(StampPage, self.page.currentData()), cast(Corner, self.corner.currentData())

    def _update_stamp(self) -> None:
        on = self.stamp.isChecked()
        for widget in (self.page_label, self.page, self.corner_label, self.corner):
            widget.setEnabled(on)


__all__ = ["LEVELS", "PdfOptions"]
