"""Whose key this is, as a small card: name, IIN, BIN, organisation, purpose, validity.

Shared by the key chooser, the confirmation dialog and the pages. ``identity_lines`` gives the
same facts as plain lines (for list items and tests); ``IdentityCard`` shows them and follows
the language switch. A key whose password has not opened it yet has no identity: the card then
shows the file's name and says the password will reveal the owner.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from ...crypto.identity import Identity, Purpose
from ..i18n import Text, Translator, register

register(
    {
        "identity.iin": Text("IIN {iin}", "ИИН {iin}", "ЖСН {iin}"),
        "identity.bin": Text("BIN {bin}", "БИН {bin}", "БСН {bin}"),
        "identity.purpose.sign": Text(
            "for signing (SIGN)", "для подписи (SIGN)", "қол қоюға арналған (SIGN)"
        ),
        "identity.purpose.auth": Text(
            "for logging in (AUTH)", "для входа (AUTH)", "кіруге арналған (AUTH)"
        ),
        "identity.purpose.unknown": Text(
            "purpose not stated", "назначение не указано", "мақсаты көрсетілмеген"
        ),
        "identity.valid_until": Text(
            "valid until {date}", "действителен до {date}", "{date} дейін жарамды"
        ),
        "identity.expired": Text("expired on {date}", "истёк {date}", "{date} мерзімі өткен"),
        "identity.not_yet_valid": Text(
            "valid from {date}", "действует с {date}", "{date} бастап жарамды"
        ),
        "identity.locked": Text(
            "Key file {name}: type its password to see whose key it is.",
            "Файл ключа {name}: введите пароль, чтобы увидеть владельца.",
            "{name} кілт файлы: иесін көру үшін құпиясөзін енгізіңіз.",
        ),
        "identity.none": Text("No key chosen.", "Ключ не выбран.", "Кілт таңдалмаған."),
    }
)


def purpose_text(translator: Translator, purpose: Purpose) -> str:
    """The purpose in words (AUTH / SIGN kept as NCALayer users know them)."""
    return translator.text(f"identity.purpose.{purpose.value}")


def validity_text(translator: Translator, who: Identity, now: datetime | None = None) -> str:
    """ "valid until …", "expired on …" or "valid from …" in the current language."""
    status = who.status_at(now or datetime.now(UTC))
    if status == "expired":
        return translator.text("identity.expired", date=translator.date(who.not_after))
    if status == "not_yet_valid":
        return translator.text("identity.not_yet_valid", date=translator.date(who.not_before))
    return translator.text("identity.valid_until", date=translator.date(who.not_after))


def identity_lines(translator: Translator, who: Identity) -> list[str]:
    """The owner's name, then IIN/BIN and organisation, then purpose and validity."""
    ids = []
    if who.iin:
        ids.append(translator.text("identity.iin", iin=who.iin))
    if who.bin:
        ids.append(translator.text("identity.bin", bin=who.bin))
    if who.organisation:
        ids.append(who.organisation)
    lines = [who.full_name]
    if ids:
        lines.append(" · ".join(ids))
    lines.append(f"{purpose_text(translator, who.purpose)} · {validity_text(translator, who)}")
    return lines


class IdentityCard(QFrame):
    """A framed card naming a key's owner; ``show_identity`` / ``show_locked`` / ``clear``."""

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._translator = translator
        self._identity: Identity | None = None
        self._path: Path | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.name_label = QLabel()
        font = self.name_label.font()
        font.setBold(True)
        self.name_label.setFont(font)
        self.details_label = QLabel()
        for label in (self.name_label, self.details_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.name_label)
        layout.addWidget(self.details_label)
        translator.changed.connect(self.retranslate)
        self.retranslate()

    def show_identity(self, identity: Identity, path: Path | None = None) -> None:
        """Show whose key this is."""
        self._identity, self._path = identity, path
        self.retranslate()

    def show_locked(self, path: Path) -> None:
        """A key file whose owner is not known until its password opens it."""
        self._identity, self._path = None, path
        self.retranslate()

    def clear(self) -> None:
        """No key."""
        self._identity, self._path = None, None
        self.retranslate()

    def text(self) -> str:
        """Everything the card shows, as plain text (accessibility and tests)."""
        return f"{self.name_label.text()}\n{self.details_label.text()}".strip()

    def retranslate(self) -> None:
        """Redraw in the current language."""
        t = self._translator
        if self._identity is not None:
            first, *rest = identity_lines(t, self._identity)
            self.name_label.setText(first)
            self.details_label.setText("\n".join(rest))
        elif self._path is not None:
            self.name_label.setText(self._path.name)
            self.details_label.setText(t.text("identity.locked", name=self._path.name))
        else:
            self.name_label.setText(t.text("identity.none"))
            self.details_label.setText("")
        self.setAccessibleName(self.text())


__all__ = ["IdentityCard", "identity_lines", "purpose_text", "validity_text"]
