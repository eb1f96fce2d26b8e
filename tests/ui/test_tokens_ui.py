"""Tokens in *My keys*, against real SoftHSM2 tokens: they appear and disappear as the watcher
reports, their keys show after the PIN, the PIN changes with NCALayer's wording for tries left
and locked, and a missing driver says what to install."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pages_support import context_fixture, drive  # noqa: F401
from pkcs11 import TokenFlag
from PySide6.QtWidgets import QDialog, QDialogButtonBox
from softhsm import PIN, SoftHsm, softhsm

from signer_app.crypto.errors import PinCountLow, PinLocked
from signer_app.crypto.pkcs11 import PinState
from signer_app.crypto.revocation import RevocationStatus
from signer_app.service.tokens import ENV_VAR, TokenRegistry
from signer_app.ui.context import AppContext
from signer_app.ui.dialogs.pin_change import PinChangeDialog, TokenPinDialog
from signer_app.ui.pages.keys import KeysPage
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs
from signer_app.ui.widgets.token_panel import TokenPanel
from signer_app.ui.widgets.token_watch import TokenWatch

__all__ = ["softhsm"]  # fixture, used by name

STORAGE = "AKKaztokenStore"
NEW_PIN = "24681357"
WRONG = "00000000"


def good(_cert: object, _chain: object) -> RevocationStatus:
    return RevocationStatus("good", "ocsp")


def registry_for(hsm: SoftHsm, **settings: str) -> TokenRegistry:
    return TokenRegistry(settings, environ={ENV_VAR: f"{STORAGE}={hsm.lib}"}, platform="linux")


def make_page(qtbot: Any, context: AppContext, watch: TokenWatch) -> tuple[KeysPage, TokenPanel]:
    page = KeysPage(replace(context, token_watch=watch), ScriptedDialogs(), status_checker=good)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.scans >= 1)
    assert page.token_panel is not None
    return page, page.token_panel


def rows(panel: TokenPanel) -> list[str]:
    return [panel.list.item(i).text() for i in range(panel.list.count())]


@pytest.fixture
def kaztoken(softhsm: SoftHsm, demo: dict[str, Any]) -> SoftHsm:
    """A Kaztoken-like token with the citizen's SIGN key and certificate."""
    softhsm.init_token("kaztoken")
    softhsm.import_entry("kaztoken", demo["citizen_sign"].open(), b"\x02")
    softhsm.activate()
    return softhsm


def test_a_token_created_while_the_page_is_shown_appears_and_a_deleted_one_disappears(
    qtbot: Any, context: AppContext, softhsm: SoftHsm
) -> None:
    softhsm.activate()
    watch = TokenWatch(registry_for(softhsm), storages=(STORAGE,))
    _page, panel = make_page(qtbot, context, watch)
    assert rows(panel) == []
    assert "No token is connected." in panel.notice.text()

    softhsm.init_token("alpha")
    softhsm.activate()
    watch.poll()  # what the worker thread does every two seconds
    (row,) = rows(panel)
    assert row.startswith("Kaztoken: alpha\nserial ")
    assert row.endswith("PIN: OK")
    assert "No token is connected." not in panel.notice.text()

    softhsm.remove("alpha")
    watch.poll()
    assert rows(panel) == []
    assert "No token is connected." in panel.notice.text()


def test_the_watcher_thread_reports_to_the_page_without_blocking_it(
    qtbot: Any, context: AppContext, kaztoken: SoftHsm
) -> None:
    watch = TokenWatch(registry_for(kaztoken), interval=0.05, storages=(STORAGE,))
    _page, panel = make_page(qtbot, context, watch)
    watch.start()
    try:
        # The page is only told through the queued signal: waiting here spins the UI loop.
        qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=20_000)
        kaztoken.remove("kaztoken")
        qtbot.waitUntil(lambda: panel.list.count() == 0, timeout=20_000)
    finally:
        watch.stop()
    assert not watch.running


def open_with(qtbot: Any, pins: list[str], seen: list[str]):  # type: ignore[no-untyped-def]
    """Play the person at the PIN dialog: each PIN in turn, noting what the dialog says."""

    def act(dialog: QDialog) -> None:
        assert isinstance(dialog, TokenPinDialog)
        for pin in pins:
            dialog.pin.setText(pin)
            dialog.try_open()
            qtbot.waitUntil(lambda: dialog.buttons.isEnabled())
            seen.append(dialog.error.text)
            seen.append(dialog.token.info.pin_state.value)

    return drive(qtbot, act)


def test_token_keys_show_after_a_wrong_then_the_right_pin_with_identity_and_status(
    qtbot: Any, context: AppContext, kaztoken: SoftHsm, demo: dict[str, Any]
) -> None:
    watch = TokenWatch(registry_for(kaztoken), storages=(STORAGE,))
    watch.poll()
    page, panel = make_page(qtbot, context, watch)
    panel.list.setCurrentRow(0)
    seen: list[str] = []
    panel.exec_dialog = open_with(qtbot, [WRONG, PIN], seen)
    panel.open_selected()
    # SoftHSM2 sets "few tries left" after a wrong PIN: the dialog says it in those words.
    assert seen[0].startswith(PinCountLow().message("en"))
    assert seen[1] == "count_low"
    assert WRONG not in seen[0]
    assert PIN not in "".join(seen)
    assert rows(panel)[0].endswith("PIN: OK")  # a right PIN resets the count
    key = demo["citizen_sign"]
    assert len(rows(panel)) == 2
    assert "signing (SIGN)" in rows(panel)[1]
    assert panel.selected_certificate() is not None  # the key row is selected
    assert page.card.isVisibleTo(page)
    assert page.card.values["iin"].text() == key.iin
    qtbot.waitUntil(lambda: "checked by OCSP" in page.status_label.text())
    assert not page.export_button.isEnabled()  # file actions do not apply to a token key

    kaztoken.remove("kaztoken")
    watch.poll()
    assert rows(panel) == []  # the keys read from it went with it
    assert not page.card.isVisibleTo(page)


def change_with(qtbot: Any, attempts: list[tuple[str, str, str]], seen: list[str]):  # type: ignore[no-untyped-def]
    def act(dialog: QDialog) -> None:
        assert isinstance(dialog, PinChangeDialog)
        for old, new, repeat in attempts:
            dialog.old.setText(old)
            dialog.new.setText(new)
            dialog.repeat.setText(repeat)
            dialog.try_change()
            qtbot.waitUntil(lambda: dialog.buttons.isEnabled())
            seen.append(dialog.error.text)

    return drive(qtbot, act)


def test_pin_change_keeps_the_dialog_on_a_wrong_old_pin_then_changes_it(
    qtbot: Any, context: AppContext, kaztoken: SoftHsm
) -> None:
    registry = registry_for(kaztoken)
    watch = TokenWatch(registry, storages=(STORAGE,))
    watch.poll()
    _page, panel = make_page(qtbot, context, watch)
    panel.list.setCurrentRow(0)
    seen: list[str] = []
    panel.exec_dialog = change_with(
        qtbot,
        [(PIN, NEW_PIN, "13572468"), (WRONG, NEW_PIN, NEW_PIN), (PIN, NEW_PIN, NEW_PIN)],
        seen,
    )
    panel.change_pin()
    assert seen[0] == "The two new PINs differ. Type the same PIN twice."
    assert seen[1].startswith(PinCountLow().message("en"))
    assert panel.info.text() == "The PIN of the token kaztoken was changed."
    registry.open(STORAGE, NEW_PIN).close()


def test_a_locked_token_is_said_and_no_pin_is_tried(
    qtbot: Any, context: AppContext, kaztoken: SoftHsm
) -> None:
    kaztoken.set_pin_flags("kaztoken", TokenFlag.USER_PIN_LOCKED)
    kaztoken.activate()
    watch = TokenWatch(registry_for(kaztoken), storages=(STORAGE,))
    watch.poll()
    _page, panel = make_page(qtbot, context, watch)
    assert rows(panel)[0].endswith("PIN: LOCKED")
    panel.list.setCurrentRow(0)
    token = panel.selected_token()
    assert token is not None
    assert token.info.pin_state is PinState.LOCKED
    for dialog in (
        PinChangeDialog(context.translator, watch.registry, token),
        TokenPinDialog(context.translator, watch.registry, token),
    ):
        qtbot.addWidget(dialog)
        assert dialog.error.text.startswith(PinLocked().message("en"))
        assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
        if isinstance(dialog, PinChangeDialog):
            dialog.old.setText(PIN)
            dialog.new.setText(NEW_PIN)
            dialog.repeat.setText(NEW_PIN)
            dialog.try_change()
        else:
            dialog.pin.setText(PIN)
            dialog.try_open()
        assert dialog.buttons.isEnabled()  # nothing was sent to the token
        assert dialog.error.text.startswith(PinLocked().message("en"))


def test_a_missing_configured_driver_says_what_to_install(
    qtbot: Any, context: AppContext, softhsm: SoftHsm, tmp_path: Path
) -> None:
    registry = registry_for(softhsm, AKJaCartaStore=str(tmp_path / "libjcPKCS11-2.so"))
    _page, panel = make_page(qtbot, context, TokenWatch(registry, storages=(STORAGE,)))
    text = panel.notice.text()
    assert (
        f"JaCarta: its driver was not found ({tmp_path / 'libjcPKCS11-2.so'}). Install JaCarta "
        "Unified Client (Aladdin R.D.) and the packages pcscd libccid (sudo apt install pcscd "
        "libccid)"
    ) in text
    context.translator.set_language("ru")
    assert "JaCarta: драйвер не найден" in panel.notice.text()


def test_no_driver_at_all_gives_the_generic_guidance(qtbot: Any, context: AppContext) -> None:
    registry = TokenRegistry(environ={}, platform="linux")
    _page, panel = make_page(qtbot, context, TokenWatch(registry, storages=(STORAGE,)))
    if any(s.present for s in registry.statuses()):
        pytest.skip("a vendor token driver is installed on this machine")
    assert "No token driver is installed on this computer." in panel.notice.text()
    assert "sudo apt install pcscd libccid opensc" in panel.notice.text()


def test_choosing_a_module_file_checks_it_then_saves_it_and_lists_its_tokens(
    qtbot: Any, context: AppContext, kaztoken: SoftHsm, tmp_path: Path
) -> None:
    watch = TokenWatch(TokenRegistry(environ={}, platform="linux"))
    page, panel = make_page(qtbot, context, watch)
    assert rows(panel) == []
    dialogs = page.dialogs
    assert isinstance(dialogs, ScriptedDialogs)
    not_module = tmp_path / "notes.so"
    not_module.write_text("not a library")
    dialogs.answers.extend([not_module, kaztoken.lib])
    panel.choose_module()
    qtbot.waitUntil(lambda: bool(panel.error.text))
    assert "does not load" in panel.error.text
    assert context.settings.pkcs11_modules == {}  # a bad file is not saved

    changed: list[TokenRegistry] = []
    watch.registry_changed.connect(changed.append)
    panel.choose_module()
    qtbot.waitUntil(lambda: bool(panel.info.text()))
    assert context.settings.pkcs11_modules == {"PKCS11": str(kaztoken.lib)}
    assert changed == [watch.registry]
    assert rows(panel)[0].startswith("PKCS#11 module: kaztoken")


def test_the_app_starts_the_watcher_and_stops_it_on_quit(
    loop: Any, tmp_path: Path, kaztoken: SoftHsm
) -> None:
    from signer_app.ui.app import AppOptions, QalamApp

    home = tmp_path / "home"
    context = AppContext.create(home)
    context.settings_store.update(lambda s: replace(s, pkcs11_modules={STORAGE: str(kaztoken.lib)}))
    context.translator.set_language("en")
    app = QalamApp(context, AppOptions(home, port=0, hidden=True))
    page = app.window.findChild(KeysPage)
    assert page is not None
    panel = page.token_panel
    assert panel is not None
    assert app.service.tokens is app.token_watch.registry  # one registry for both

    async def scenario() -> None:
        await app.start()
        try:
            assert app.token_watch.running
            for _ in range(2000):
                if panel.list.count():
                    return
                await asyncio.sleep(0.01)
        finally:
            await app.stop()

    loop.run_until_complete(scenario())
    assert not app.token_watch.running
    assert rows(panel)[0].startswith("Kaztoken: kaztoken")


def test_a_new_pin_the_token_refuses_is_said_and_the_pin_stays(
    qtbot: Any, context: AppContext, kaztoken: SoftHsm
) -> None:
    registry = registry_for(kaztoken)
    watch = TokenWatch(registry, storages=(STORAGE,))
    watch.poll()
    _page, panel = make_page(qtbot, context, watch)
    panel.list.setCurrentRow(0)
    seen: list[str] = []
    panel.exec_dialog = change_with(qtbot, [(PIN, "12", "12"), ("", "", "")], seen)
    panel.change_pin()
    assert "too short or too long" in seen[0]
    assert "12" not in seen[0].replace(PIN, "")  # neither PIN is repeated back
    assert seen[1] == "Type the current PIN and the new one."
    assert panel.info.text() == ""
    registry.open(STORAGE, PIN).close()  # unchanged


def test_a_token_pulled_out_before_its_pin_is_typed_is_said_plainly(
    qtbot: Any, context: AppContext, kaztoken: SoftHsm
) -> None:
    watch = TokenWatch(registry_for(kaztoken), storages=(STORAGE,))
    watch.poll()
    _page, panel = make_page(qtbot, context, watch)
    panel.list.setCurrentRow(0)
    kaztoken.remove("kaztoken")  # the watcher has not polled yet: the row is still there
    seen: list[str] = []
    panel.exec_dialog = open_with(qtbot, [PIN], seen)
    panel.open_selected()
    # SoftHSM2 answers a deleted token folder with CKR_GENERAL_ERROR; a real driver with
    # "no token": either way one plain sentence and the dialog stays.
    assert seen[0].startswith("The token could not do this")
    assert len(rows(panel)) == 1  # no keys were added


def test_settings_show_the_chosen_module_and_can_stop_using_it(
    qtbot: Any, context: AppContext, kaztoken: SoftHsm
) -> None:
    from signer_app.ui.pages.settings import SettingsPage

    watch = TokenWatch(TokenRegistry(environ={}, platform="linux"))
    page, panel = make_page(qtbot, context, watch)
    settings = SettingsPage(replace(context, token_watch=watch), ScriptedDialogs())
    qtbot.addWidget(settings)
    assert settings.module.text() == "none (choose one in My keys)"
    assert not settings.forget_module.isEnabled()
    dialogs = page.dialogs
    assert isinstance(dialogs, ScriptedDialogs)
    dialogs.answers.append(kaztoken.lib)
    panel.choose_module()
    qtbot.waitUntil(lambda: settings.module.text() == str(kaztoken.lib))
    assert rows(panel)[0].startswith("PKCS#11 module: kaztoken")

    settings.forget_module.click()
    assert context.settings.pkcs11_modules == {}
    assert settings.module.text() == "none (choose one in My keys)"
    assert rows(panel) == []  # its tokens went with it
