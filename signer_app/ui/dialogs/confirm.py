"""The confirmation: who asks (the site's origin, first and large), what is signed, with which key.

What is signed: the kind (CMS, XML, a hash the site computed, a raw signature), how many
documents and their total size, each document's SHA-256 and a text/XML preview (the service's
DocumentView). The key: the owner card. Answers: True (Sign), None (Cancel, Esc) or "block"
("Cancel and always block this site", not offered for a local program, which has no origin
to block). Sign is the default button, so Enter signs once the person has read it. Warnings
about the key (revocation status unknown) are shown under its owner card.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...service.key_status import localized
from ...service.prompter import SignRequestView
from ..i18n import Text, Translator, register
from ..style import error_style
from ..widgets.identity import IdentityCard
from .base import AsyncDialog
from .key_chooser import BLOCK

MAX_DOCUMENTS_LISTED = 3

register(
    {
        "confirm.title": Text(
            "Confirm the signature — Qalam",
            "Подтверждение подписи — Qalam",
            "Қолтаңбаны растау — Qalam",
        ),
        "confirm.asks": Text(
            "asks you to sign:", "просит вас подписать:", "сізден қол қоюды сұрайды:"
        ),
        "confirm.kind.cms": Text("a CMS signature", "подпись CMS", "CMS қолтаңбасы"),
        "confirm.kind.xml": Text("an XML document", "XML-документ", "XML құжаты"),
        "confirm.kind.hash": Text(
            "a hash computed by the site (you cannot see the document itself)",
            "хеш, вычисленный сайтом (сам документ вам не виден)",
            "сайт есептеген хеш (құжаттың өзі сізге көрінбейді)",
        ),
        "confirm.kind.pdf": Text(
            "a PDF document (the signature goes inside it)",
            "PDF-документ (подпись помещается внутрь)",
            "PDF құжаты (қолтаңба оның ішіне қойылады)",
        ),
        "confirm.kind.raw": Text(
            "a raw signature of data", "простая подпись данных", "деректердің қарапайым қолтаңбасы"
        ),
        "confirm.summary": Text(
            "{kind}: {count} document(s), {size} bytes in all",
            "{kind}: документов — {count}, всего {size} байт",
            "{kind}: {count} құжат, барлығы {size} байт",
        ),
        "confirm.detached": Text(
            "The signature is kept apart from the document (detached).",
            "Подпись хранится отдельно от документа (откреплённая).",
            "Қолтаңба құжаттан бөлек сақталады (бөлінген).",
        ),
        "confirm.document": Text(
            "Document {number}: {name}{size} bytes",
            "Документ {number}: {name}{size} байт",
            "{number}-құжат: {name}{size} байт",
        ),
        "confirm.sha256": Text("SHA-256: {digest}", "SHA-256: {digest}", "SHA-256: {digest}"),
        "confirm.more": Text(
            "…and {count} more document(s).",
            "…и ещё документов: {count}.",
            "…және тағы {count} құжат.",
        ),
        "confirm.preview": Text("Preview", "Просмотр", "Алдын ала қарау"),
        "confirm.key": Text(
            "Signed with the key of:", "Подпись ключом:", "Қол қойылатын кілт иесі:"
        ),
        "confirm.sign": Text("Sign", "Подписать", "Қол қою"),
        "confirm.cancel": Text("Cancel", "Отмена", "Болдырмау"),
        "confirm.block": Text(
            "Cancel and always block this site",
            "Отменить и всегда блокировать этот сайт",
            "Болдырмау және бұл сайтты әрдайым бұғаттау",
        ),
        "confirm.local": Text(
            "A program on this computer",
            "Программа на этом компьютере",
            "Осы компьютердегі бағдарлама",
        ),
    }
)


class ConfirmDialog(AsyncDialog):
    """Sign / Cancel / Cancel and always block this site, for one SignRequestView."""

    def __init__(
        self, translator: Translator, request: SignRequestView, parent: QWidget | None = None
    ) -> None:
        super().__init__(translator, parent)
        self.request = request
        self.setMinimumWidth(560)
        self.origin_label = QLabel()
        font = self.origin_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.origin_label.setFont(font)
        self.origin_label.setWordWrap(True)
        self.origin_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.asks_label = QLabel()
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.detached_label = QLabel()
        self.documents_label = QLabel()
        self.documents_label.setWordWrap(True)
        self.documents_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.documents_label.setFont(mono)
        self.preview_label = QLabel()
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setMaximumHeight(110)
        self.preview.setPlainText(request.documents[0].preview if request.documents else "")
        self.preview.setTabChangesFocus(True)
        self.preview_label.setBuddy(self.preview)
        self.key_label = QLabel()
        self.card = IdentityCard(translator)
        self.card.show_identity(request.key.identity, Path(request.key.path))
        # What the service could not establish about the key (its CA did not answer whether
        # the certificate is revoked): said beside the key, in the warning colour.
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet(error_style(self.palette()))
        self.warnings_label.setVisible(bool(request.warnings))

        self.buttons = QDialogButtonBox()
        self.sign_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.RejectRole)
        self.block_button = QPushButton()
        self.block_button.setAutoDefault(False)
        self.block_button.setVisible(request.origin is not None)
        for button in (self.sign_button, self.cancel_button):
            button.setAutoDefault(False)
        self.sign_button.setDefault(True)
        self.sign_button.clicked.connect(lambda: self.answer(True))
        self.cancel_button.clicked.connect(self.reject)
        self.block_button.clicked.connect(lambda: self.answer(BLOCK))

        layout = QVBoxLayout(self)
        layout.addWidget(self.origin_label)
        layout.addWidget(self.asks_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.detached_label)
        layout.addWidget(self.documents_label)
        layout.addWidget(self.preview_label)
        layout.addWidget(self.preview)
        layout.addWidget(self.key_label)
        layout.addWidget(self.card)
        layout.addWidget(self.warnings_label)
        bottom = QHBoxLayout()
        bottom.addWidget(self.block_button)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        layout.addLayout(bottom)
        self.setTabOrder(self.sign_button, self.cancel_button)
        self.setTabOrder(self.cancel_button, self.block_button)
        self.setTabOrder(self.block_button, self.preview)
        self.retranslate()
        self.sign_button.setFocus()

    def retranslate(self) -> None:
        """Every string in the current language."""
        t = self.translator
        r = self.request
        self.setWindowTitle(t.text("confirm.title"))
        self.origin_label.setText(r.origin if r.origin else t.text("confirm.local"))
        self.origin_label.setAccessibleName(self.origin_label.text())
        self.asks_label.setText(t.text("confirm.asks"))
        kind = t.text(f"confirm.kind.{r.kind}")
        if r.signature_format:  # a standard's name ("XAdES-T"): the same in every language
            kind = f"{kind} ({r.signature_format})"
        self.summary_label.setText(
            t.text("confirm.summary", kind=kind, count=r.count, size=t.number(r.total_size))
        )
        self.detached_label.setText(t.text("confirm.detached"))
        self.detached_label.setVisible(r.detached)
        lines = []
        for number, doc in enumerate(r.documents[:MAX_DOCUMENTS_LISTED], start=1):
            name = f"{doc.name}, " if doc.name else ""
            lines.append(
                t.text("confirm.document", number=number, name=name, size=t.number(doc.size))
            )
            lines.append(t.text("confirm.sha256", digest=doc.sha256))
        if r.count > MAX_DOCUMENTS_LISTED:
            lines.append(t.text("confirm.more", count=r.count - MAX_DOCUMENTS_LISTED))
        self.documents_label.setText("\n".join(lines))
        self.preview_label.setText(t.text("confirm.preview"))
        self.preview.setAccessibleName(t.text("confirm.preview"))
        self.key_label.setText(t.text("confirm.key"))
        self.warnings_label.setText("\n".join(localized(w, t.language) for w in r.warnings))
        self.sign_button.setText(t.text("confirm.sign"))
        self.cancel_button.setText(t.text("confirm.cancel"))
        self.block_button.setText(t.text("confirm.block"))
        for button in (self.sign_button, self.cancel_button, self.block_button):
            button.setAccessibleName(button.text())


__all__ = ["ConfirmDialog"]
