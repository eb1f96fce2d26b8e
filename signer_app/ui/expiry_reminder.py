"""The 30-day reminder: the tray notification's words for keys about to expire, and its action.

The shell asks ``expiry_reminder`` (at start and once a day) and, when it returns a Reminder,
shows ``title`` and ``message`` in a tray notification with a button labelled ``action``;
the button calls ``open_renewal``. While the AUTH key still works, renewal needs no PSC visit
(``mode="renew"`` with that key preselected); once every AUTH key has expired, only a PSC code
helps, so the action opens the wizard in code mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtWidgets import QWidget

from ..crypto.identity import Purpose
from ..service.known_keys import REMIND_BEFORE, KnownKey, KnownKeys
from .context import AppContext
from .i18n import Text, Translator, register
from .reissue_wizard import Mode, ReissueWizard

register(
    {
        "reminder.title": Text(
            "Your key expires soon",
            "Срок действия ключа скоро истекает",
            "Кілттің мерзімі жақында аяқталады",
        ),
        "reminder.title_expired": Text(
            "Your key has expired", "Срок действия ключа истёк", "Кілттің мерзімі аяқталды"
        ),
        "reminder.one": Text(
            "The key of {name} ({file}) expires on {date} (days left: {days}). Renew it now, "
            "while it still works: no visit to a PSC is needed.",
            "Ключ {name} ({file}) действует до {date} (осталось дней: {days}). Обновите его "
            "сейчас, пока он работает: идти в ЦОН не понадобится.",
            "{name} кілті ({file}) {date} дейін жарамды ({days} күн қалды). Ол әлі жұмыс "
            "істеп тұрғанда қазір жаңартыңыз: ХҚКО-ға барудың қажеті жоқ.",
        ),
        "reminder.many": Text(
            "{count} key files expire soon, the first on {date}: {names}. Renew them now, while "
            "they still work: no visit to a PSC is needed.",
            "Скоро истекает срок у файлов ключей: {count}, первый — {date}: {names}. Обновите "
            "их сейчас, пока они работают: идти в ЦОН не понадобится.",
            "{count} кілт файлының мерзімі жақында аяқталады, біріншісі {date}: {names}. Олар "
            "әлі жұмыс істеп тұрғанда қазір жаңартыңыз: ХҚКО-ға барудың қажеті жоқ.",
        ),
        "reminder.expired": Text(
            "The key of {name} ({file}) expired on {date}. New keys now need a one-time code "
            "from a PSC operator.",
            "Срок действия ключа {name} ({file}) истёк {date}. Теперь для новых ключей нужен "
            "одноразовый код от оператора ЦОН.",
            "{name} кілтінің ({file}) мерзімі {date} аяқталды. Енді жаңа кілттер үшін ХҚКО "
            "операторынан бір реттік код қажет.",
        ),
        "reminder.renew": Text("Renew now", "Обновить сейчас", "Қазір жаңарту"),
        "reminder.with_code": Text(
            "I have a PSC code", "У меня есть код ЦОН", "Менде ХҚКО коды бар"
        ),
    }
)


@dataclass(frozen=True)
class Reminder:
    """What the tray shows, and what its button opens."""

    title: str
    message: str
    action: str
    mode: Mode
    keys: tuple[KnownKey, ...]
    renew_key: Path | None  # the still-valid AUTH key to renew with, preselected


def expiry_reminder(
    known: KnownKeys,
    translator: Translator,
    now: datetime | None = None,
    within: timedelta = REMIND_BEFORE,
) -> Reminder | None:
    """The reminder for keys ending within ``within`` (30 days), in the current language;
    None when no key needs one."""
    moment = now or datetime.now(UTC)
    due = tuple(known.expiring(moment, within))
    if not due:
        return None
    t = translator.text
    live_auth = [
        k
        for k in due
        if k.identity.purpose is Purpose.AUTH and k.certificate.not_valid_after_utc > moment
    ]
    first = due[0]
    date = translator.date(first.certificate.not_valid_after_utc)
    if not live_auth:
        message = t(
            "reminder.expired", name=first.identity.common_name, file=first.path.name, date=date
        )
        return Reminder(
            t("reminder.title_expired"), message, t("reminder.with_code"), "code", due, None
        )
    if len(due) == 1:
        message = t(
            "reminder.one",
            name=first.identity.common_name,
            file=first.path.name,
            date=date,
            days=translator.number(max(first.days_left(moment), 0)),
        )
    else:
        names = ", ".join(dict.fromkeys(k.identity.common_name for k in due))
        message = t("reminder.many", count=translator.number(len(due)), date=date, names=names)
    return Reminder(
        t("reminder.title"), message, t("reminder.renew"), "renew", due, live_auth[0].path
    )


def open_renewal(
    context: AppContext, reminder: Reminder, parent: QWidget | None = None
) -> ReissueWizard:
    """The tray button's action: the wizard, in the mode the reminder chose, shown."""
    wizard = ReissueWizard(context, parent, mode=reminder.mode, key_path=reminder.renew_key)
    wizard.show()
    wizard.raise_()
    return wizard


__all__ = ["Reminder", "expiry_reminder", "open_renewal"]
