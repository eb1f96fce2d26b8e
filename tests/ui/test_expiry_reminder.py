"""The 30-day reminder names the expiring keys in the current language and opens the renewal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from signer_app.service.known_keys import KnownKeys
from signer_app.ui.context import AppContext
from signer_app.ui.expiry_reminder import expiry_reminder, open_renewal
from signer_app.ui.i18n import Translator


def remembered(tmp_path: Path, demo: dict[str, Any], *names: str) -> KnownKeys:
    known = KnownKeys(tmp_path / "home")
    for name in names:
        known.remember(demo[name].path, demo[name].open().certificate)
    return known


def test_no_reminder_while_every_key_has_more_than_30_days(
    tmp_path: Path, demo: dict[str, Any]
) -> None:
    known = remembered(tmp_path, demo, "citizen_auth")
    ends = demo["citizen_auth"].open().certificate.not_valid_after_utc
    assert expiry_reminder(known, Translator("en"), now=ends - timedelta(days=31)) is None


def test_one_auth_key_ending_in_ten_days_offers_renewal_with_it(
    tmp_path: Path, demo: dict[str, Any]
) -> None:
    known = remembered(tmp_path, demo, "citizen_auth")
    ends = demo["citizen_auth"].open().certificate.not_valid_after_utc
    now = ends - timedelta(days=10, hours=1)
    reminder = expiry_reminder(known, Translator("ru"), now=now)
    assert reminder is not None
    assert reminder.title == "Срок действия ключа скоро истекает"
    assert "ЖҰМАБЕКОВ АСХАТ" in reminder.message
    assert "осталось дней: 10" in reminder.message
    assert demo["citizen_auth"].path.name in reminder.message
    assert (reminder.mode, reminder.renew_key) == ("renew", demo["citizen_auth"].path.resolve())
    assert reminder.action == "Обновить сейчас"


def test_several_keys_are_counted_and_named_once(tmp_path: Path, demo: dict[str, Any]) -> None:
    known = remembered(tmp_path, demo, "citizen_auth", "citizen_sign")
    latest = max(
        demo[n].open().certificate.not_valid_after_utc for n in ("citizen_auth", "citizen_sign")
    )
    reminder = expiry_reminder(known, Translator("kk"), now=latest - timedelta(days=5))
    assert reminder is not None
    assert reminder.message.startswith("2 кілт файлының")
    assert reminder.message.count("ЖҰМАБЕКОВ АСХАТ") == 1
    assert reminder.renew_key == demo["citizen_auth"].path.resolve()


def test_an_expired_auth_key_sends_the_person_to_a_psc_code(
    tmp_path: Path, demo: dict[str, Any]
) -> None:
    known = remembered(tmp_path, demo, "citizen_auth")
    ends = demo["citizen_auth"].open().certificate.not_valid_after_utc
    reminder = expiry_reminder(known, Translator("en"), now=ends + timedelta(days=2))
    assert reminder is not None
    assert reminder.title == "Your key has expired"
    assert "one-time code from a PSC operator" in reminder.message
    assert (reminder.mode, reminder.renew_key) == ("code", None)
    assert reminder.action == "I have a PSC code"


def test_the_action_opens_the_wizard_on_the_key_to_renew(
    qtbot: QtBot, tmp_path: Path, demo: dict[str, Any]
) -> None:
    context = AppContext.create(tmp_path / "home")
    context.translator.set_language("en")
    known = remembered(tmp_path, demo, "citizen_auth")
    ends = demo["citizen_auth"].open().certificate.not_valid_after_utc
    reminder = expiry_reminder(known, context.translator, now=ends - timedelta(days=3))
    assert reminder is not None
    wizard = open_renewal(context, reminder)
    qtbot.addWidget(wizard)
    assert wizard.isVisible()
    assert wizard.mode == "renew"
    assert wizard.page is wizard.current_page
    assert wizard.current_page.path() == demo["citizen_auth"].path.resolve()
