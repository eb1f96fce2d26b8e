"""Settings page: live language, checked addresses, key folders, keyring with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from pages_support import context_fixture, memory_keyring_fixture  # noqa: F401

from signer_app.service import remembered
from signer_app.ui.context import AppContext
from signer_app.ui.pages.settings import SettingsPage, valid_url
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs


def make_page(qtbot, ctx: AppContext) -> tuple[SettingsPage, ScriptedDialogs]:  # type: ignore[no-untyped-def]
    dialogs = ScriptedDialogs()
    page = SettingsPage(ctx, dialogs)
    qtbot.addWidget(page)
    return page, dialogs


def test_language_switches_live_and_is_saved(qtbot, context: AppContext) -> None:
    page, _ = make_page(qtbot, context)
    assert page.heading.text() == "Settings"
    page.language.setCurrentIndex(page.language.findData("kk"))
    assert context.translator.language == "kk"
    assert page.heading.text() == "Баптаулар"
    assert context.settings.locale == "kk"


def test_addresses_are_checked_before_saving(qtbot, context: AppContext) -> None:
    page, _ = make_page(qtbot, context)
    before = context.settings.tsa_url
    page.tsa.setText("tsp.example.kz")
    page.save_urls.click()
    assert "is not a web address" in page.error.text
    assert context.settings.tsa_url == before
    page.tsa.setText("https://tsp.example.kz/tsp")
    page.ca.setText("")
    page.save_urls.click()
    assert (context.settings.tsa_url, context.settings.ca_url) == ("https://tsp.example.kz/tsp", "")
    assert not valid_url("http://host:99999")


def test_key_folders_are_added_and_removed(qtbot, context: AppContext, tmp_path: Path) -> None:
    page, dialogs = make_page(qtbot, context)
    dialogs.answers.append(tmp_path)
    page.add_folder.click()
    assert context.settings.key_folders == (str(tmp_path),)
    page.folders.setCurrentRow(0)
    page.remove_folder.click()
    assert context.settings.key_folders == ()


def test_remembering_passwords_warns_and_forgetting_clears(
    qtbot,
    context: AppContext,
    memory_keyring,
) -> None:
    page, dialogs = make_page(qtbot, context)
    dialogs.answers.append(False)
    page.remember.setChecked(True)
    assert not page.remember.isChecked()
    assert not context.settings.remember_passwords
    assert "without typing the password" in dialogs.asked[-1]
    dialogs.answers.append(True)
    page.remember.setChecked(True)
    assert context.settings.remember_passwords

    remembered.remember(Path("/keys/a.p12"), "Qwerty12")
    remembered.remember(Path("/keys/b.p12"), "Qwerty12")
    page.forget.click()
    assert page.info.text() == "Remembered passwords deleted: 2."
    assert remembered.recall(Path("/keys/a.p12")) is None
    assert memory_keyring.items == {}


def test_start_on_login_writes_the_autostart_entry_and_is_saved(
    qtbot, context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    page, _ = make_page(qtbot, context)
    page.autostart.setChecked(True)
    assert context.settings.start_on_login
    assert (tmp_path / "config" / "autostart" / "kz.qalam.Qalam.desktop").is_file()
    page.autostart.setChecked(False)
    assert not context.settings.start_on_login
    assert not (tmp_path / "config" / "autostart" / "kz.qalam.Qalam.desktop").exists()
