"""A certificate's owner as a card: name, IIN/BIN, organisation, purpose, role, validity.

Shared by *My keys* and *Verify*; the texts for purposes, roles and validity live here so both
pages word them alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from ...crypto.identity import Identity, Purpose, Role
from ..i18n import Text, Translator, register

register(
    {
        "page.id.name": Text("Name", "Имя", "Аты-жөні"),
        "page.id.iin": Text("IIN", "ИИН", "ЖСН"),
        "page.id.bin": Text("BIN", "БИН", "БСН"),
        "page.id.organisation": Text("Organisation", "Организация", "Ұйым"),
        "page.id.purpose": Text("Purpose", "Назначение", "Мақсаты"),
        "page.id.role": Text("Role", "Роль", "Рөлі"),
        "page.id.issuer": Text("Issued by", "Кем выдан", "Берген"),
        "page.id.validity": Text("Validity", "Срок действия", "Жарамдылық мерзімі"),
        "page.id.none": Text("—", "—", "—"),
        "page.purpose.auth": Text(
            "authentication (AUTH)", "аутентификация (AUTH)", "аутентификация (AUTH)"
        ),
        "page.purpose.sign": Text("signing (SIGN)", "подпись (SIGN)", "қол қою (SIGN)"),
        "page.purpose.unknown": Text("unknown", "неизвестно", "белгісіз"),
        "page.validity.valid": Text(
            "valid until {date}", "действителен до {date}", "{date} дейін жарамды"
        ),
        "page.validity.soon": Text(
            "valid until {date}: expires in {days} days",
            "действителен до {date}: истекает через {days} дн.",
            "{date} дейін жарамды: {days} күннен кейін мерзімі бітеді",
        ),
        "page.validity.expired": Text(
            "expired on {date}", "срок истёк {date}", "мерзімі {date} бітті"
        ),
        "page.validity.not_yet": Text(
            "not valid before {date}", "действителен только с {date}", "{date} бастап жарамды"
        ),
        "page.role.individual": Text("individual", "физическое лицо", "жеке тұлға"),
        "page.role.legal_entity": Text("legal entity", "юридическое лицо", "заңды тұлға"),
        "page.role.head": Text("head of organisation", "первый руководитель", "бірінші басшы"),
        "page.role.signer": Text(
            "person with signing authority", "лицо с правом подписи", "қол қою құқығы бар тұлға"
        ),
        "page.role.financial_signer": Text(
            "financial document signer",
            "право подписи финансовых документов",
            "қаржы құжаттарына қол қою құқығы",
        ),
        "page.role.hr": Text("HR officer", "сотрудник отдела кадров", "кадр бөлімінің қызметкері"),
        "page.role.employee": Text("employee", "сотрудник", "қызметкер"),
        "page.role.other": Text("other ({name})", "другая ({name})", "басқа ({name})"),
    }
)

_SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse

# Days before the end of validity from which the card warns.
EXPIRY_WARNING_DAYS = 30

_ROLE_KEYS = {
    Role.INDIVIDUAL: "page.role.individual",
    Role.LEGAL_ENTITY: "page.role.legal_entity",
    Role.HEAD: "page.role.head",
    Role.SIGNER: "page.role.signer",
    Role.FINANCIAL_SIGNER: "page.role.financial_signer",
    Role.HR: "page.role.hr",
    Role.EMPLOYEE: "page.role.employee",
}


def purpose_text(translator: Translator, purpose: Purpose) -> str:
    """AUTH / SIGN in words."""
    return translator.text(f"page.purpose.{purpose.value}")


def roles_text(translator: Translator, roles: tuple[Role, ...]) -> str:
    """The roles in words, comma-separated ('—' for none)."""
    if not roles:
        return translator.text("page.id.none")
    words = []
    for role in roles:
        key = _ROLE_KEYS.get(role)
        words.append(
            translator.text(key) if key else translator.text("page.role.other", name=role.label)
        )
    return ", ".join(words)


def validity_state(who: Identity, now: datetime) -> str:
    """ "valid", "soon" (within EXPIRY_WARNING_DAYS), "expired" or "not_yet"."""
    status = who.status_at(now)
    if status == "expired":
        return "expired"
    if status == "not_yet_valid":
        return "not_yet"
    return "soon" if (who.not_after - now).days < EXPIRY_WARNING_DAYS else "valid"


def validity_text(translator: Translator, who: Identity, now: datetime | None = None) -> str:
    """ "valid until …", "expires in N days", "expired on …" or "not valid before …"."""
    moment = now or datetime.now(UTC)
    state = validity_state(who, moment)
    if state == "not_yet":
        return translator.text("page.validity.not_yet", date=translator.date(who.not_before))
    date = translator.date(who.not_after)
    if state == "soon":
        days = translator.number(max(0, (who.not_after - moment).days))
        return translator.text("page.validity.soon", date=date, days=days)
    return translator.text(f"page.validity.{state}", date=date)


class IdentityCard(QWidget):
    """The owner of one certificate, one row per fact; re-worded when the language changes."""

    FIELDS = ("name", "iin", "bin", "organisation", "purpose", "role", "issuer", "validity")

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.translator = translator
        self.identity: Identity | None = None
        self.labels: dict[str, QLabel] = {}
        self.values: dict[str, QLabel] = {}
        layout = QFormLayout(self)
        for name in self.FIELDS:
            label, value = QLabel(), QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(value.textInteractionFlags() | _SELECTABLE)
            label.setBuddy(value)
            self.labels[name], self.values[name] = label, value
            layout.addRow(label, value)
        translator.changed.connect(self.retranslate)
        self.retranslate()

    def set_identity(self, who: Identity | None) -> None:
        """Show ``who`` (None clears the card)."""
        self.identity = who
        self.retranslate()

    def retranslate(self) -> None:
        """Labels and values in the current language."""
        t = self.translator
        for name, label in self.labels.items():
            label.setText(t.text(f"page.id.{name}") + ":")
            self.values[name].setAccessibleName(t.text(f"page.id.{name}"))
        who = self.identity
        none = t.text("page.id.none")
        if who is None:
            for value in self.values.values():
                value.setText(none)
            return
        iin = who.iin or none
        self.values["name"].setText(who.full_name)
        self.values["iin"].setText(iin)
        self.values["bin"].setText(who.bin or none)
        self.values["organisation"].setText(who.organisation or none)
        self.values["purpose"].setText(purpose_text(t, who.purpose))
        self.values["role"].setText(roles_text(t, who.roles))
        self.values["issuer"].setText(who.issuer_common_name or none)
        self.values["validity"].setText(validity_text(t, who))
