"""QtPrompter behind the real SigningService: the person drives the real dialogs with keys.

Each test runs the service's request as a task on a qasync loop (the app's own loop) and acts
like the person: waits for a dialog, types, presses buttons, then checks what the request
returned. Nothing is scripted below the dialogs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pages_support import memory_keyring_fixture
from pkcs11 import TokenFlag
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from softhsm import PIN, SoftHsm, softhsm

from signer_app.crypto import cms
from signer_app.crypto.errors import PinLocked
from signer_app.service.errors import ActionCanceled, TooManyAttempts
from signer_app.service.prompter import KeyRequest, KeyType
from signer_app.service.signing import KeyQuery, SigningService
from signer_app.service.tokens import ENV_VAR, TokenRegistry
from signer_app.ui.context import AppContext
from signer_app.ui.dialogs.confirm import ConfirmDialog
from signer_app.ui.dialogs.error import ErrorDialog
from signer_app.ui.dialogs.key_chooser import KeyChooserDialog
from signer_app.ui.prompter import QtPrompter
from signer_app.ui.widgets.token_watch import TokenWatch

__all__ = ["memory_keyring_fixture", "softhsm"]  # fixtures, used by name

T = TypeVar("T")
ORIGIN = "https://portal.example.kz"


@pytest.fixture
def context(tmp_path: Path, demo: dict[str, Any]) -> AppContext:
    """English, the demo citizen's two keys preselected (as `make run` does)."""
    ctx = AppContext.create(
        tmp_path / "home",
        preselected_keys=(demo["citizen_sign"].path, demo["citizen_auth"].path),
    )
    ctx.translator.set_language("en")
    return ctx


def drive(
    loop: asyncio.AbstractEventLoop,
    request: Coroutine[Any, Any, T],
    person: Callable[[asyncio.Task[T]], Coroutine[Any, Any, None]],
) -> T:
    """Run ``request`` as a task while ``person`` acts on the dialogs; the request's result."""

    async def scenario() -> T:
        task = asyncio.ensure_future(request)
        await asyncio.wait_for(person(task), 20)
        return await asyncio.wait_for(task, 20)

    return loop.run_until_complete(scenario())


async def until(condition: Callable[[], object], what: str = "condition") -> None:
    """Let the loop run until ``condition()`` holds."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def shown(prompter: QtPrompter, kind: type[T]) -> T:
    """The dialog of ``kind`` once it is on screen."""
    await until(
        lambda: isinstance(prompter.current, kind) and prompter.current.isVisible(), kind.__name__
    )
    assert isinstance(prompter.current, kind)
    return prompter.current


def pick(chooser: KeyChooserDialog, path: Path, password: str) -> None:
    """Select a key, type its password, press Enter (the default button)."""
    item = chooser.item_for(path)
    assert item is not None, f"{path} is not listed"
    chooser.key_list.setCurrentItem(item)
    chooser.password_edit.setFocus()
    QTest.keyClicks(chooser.password_edit, password)
    QTest.keyClick(chooser.password_edit, Qt.Key.Key_Return)


def make(context: AppContext) -> tuple[SigningService, QtPrompter]:
    prompter = QtPrompter(context)
    return SigningService(prompter, origins=context.origins), prompter


def test_choose_key_wrong_then_right_password_confirm_signs(loop, context, demo) -> None:
    service, prompter = make(context)
    key = demo["citizen_sign"]
    seen: dict[str, str] = {}

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        assert ORIGIN in chooser.origin_label.text()
        pick(chooser, key.path, "not-the-password")
        await until(lambda: "wrong" in chooser.message, "the wrong-password sentence")
        seen["wrong"] = chooser.message
        assert chooser.isVisible(), "a wrong password keeps the chooser open"
        await until(lambda: chooser.password_edit.isEnabled(), "the chooser to take input again")
        pick(chooser, key.path, key.password)
        confirm = await shown(prompter, ConfirmDialog)
        assert not chooser.isVisible()
        seen["origin"] = confirm.origin_label.text()
        seen["documents"] = confirm.documents_label.text()
        seen["key"] = confirm.card.text()
        QTest.keyClick(confirm, Qt.Key.Key_Return)

    result = drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"hello, portal"]), person)
    check = cms.verify(result.signatures[0])
    assert check.valid
    assert check.content == b"hello, portal"
    assert seen["wrong"] == "The password is wrong. Attempts left: 2."
    assert seen["origin"] == ORIGIN
    assert "SHA-256: " in seen["documents"]
    assert "13 bytes" in seen["documents"]
    assert "ЖҰМАБЕКОВ" in seen["key"]
    assert "850101300124" in seen["key"]
    assert context.settings.recent_keys[0] == str(key.path)
    assert prompter.current is None


@pytest.mark.parametrize("stage", ["chooser", "chooser_esc", "confirm", "confirm_esc"])
def test_cancel_at_each_step_cancels_the_request(loop, context, demo, stage: str) -> None:
    service, prompter = make(context)
    key = demo["citizen_sign"]

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        if stage == "chooser":
            chooser.cancel_button.click()
            return
        if stage == "chooser_esc":
            QTest.keyClick(chooser, Qt.Key.Key_Escape)
            return
        pick(chooser, key.path, key.password)
        confirm = await shown(prompter, ConfirmDialog)
        if stage == "confirm":
            confirm.cancel_button.click()
        else:
            QTest.keyClick(confirm, Qt.Key.Key_Escape)

    with pytest.raises(ActionCanceled):
        drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"data"]), person)
    assert prompter.current is None
    assert context.origins.decision(ORIGIN) != "deny"


@pytest.mark.parametrize("where", ["chooser", "confirm"])
def test_block_the_site_refuses_its_next_request_before_any_dialog(
    loop, context, demo, where: str
) -> None:
    service, prompter = make(context)
    key = demo["citizen_sign"]

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        if where == "chooser":
            chooser.block_button.click()
            return
        pick(chooser, key.path, key.password)
        confirm = await shown(prompter, ConfirmDialog)
        assert confirm.block_button.isVisible()
        confirm.block_button.click()

    with pytest.raises(ActionCanceled):
        drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"data"]), person)
    assert context.origins.decision(ORIGIN) == "deny"

    async def nobody(task: asyncio.Task[Any]) -> None:
        await asyncio.sleep(0)

    with pytest.raises(ActionCanceled):
        drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"again"]), nobody)
    assert prompter.current is None


def test_a_local_program_cannot_be_blocked(loop, context, demo) -> None:
    service, prompter = make(context)
    key = demo["citizen_sign"]

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        assert not chooser.block_button.isVisible()
        assert chooser.origin_label.text() == "A program on this computer"
        pick(chooser, key.path, key.password)
        confirm = await shown(prompter, ConfirmDialog)
        assert not confirm.block_button.isVisible()
        confirm.sign_button.click()

    result = drive(loop, service.sign_cms(KeyQuery(None), [b"x"]), person)
    assert cms.verify(result.signatures[0]).valid


def test_filters_grey_out_the_refused_key_with_its_reason(loop, context, demo) -> None:
    service, prompter = make(context)
    auth, sign = demo["citizen_auth"], demo["citizen_sign"]
    seen: dict[str, Any] = {}

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        assert "be a SIGN key" in chooser.filters_label.text()
        pick(chooser, auth.path, auth.password)
        await until(lambda: chooser.is_greyed(auth.path), "the AUTH key greyed out")
        await until(lambda: chooser.password_edit.isEnabled(), "input again")
        item = chooser.item_for(auth.path)
        assert item is not None
        seen["item"] = item.text()
        seen["message"] = chooser.message
        seen["sign_greyed"] = chooser.is_greyed(sign.path)
        pick(chooser, sign.path, sign.password)
        confirm = await shown(prompter, ConfirmDialog)
        confirm.sign_button.click()

    query = KeyQuery(ORIGIN, key_type=KeyType.SIGNATURE)
    result = drive(loop, service.sign_cms(query, [b"x"]), person)
    assert cms.verify(result.signatures[0]).valid
    assert "Not accepted by this site: this is a AUTH key" in seen["item"]
    assert "does not fit the request" in seen["message"]
    assert seen["sign_greyed"] is False


def test_three_wrong_passwords_end_the_request_and_say_so(loop, context, demo) -> None:
    service, prompter = make(context)
    key = demo["citizen_sign"]
    seen: dict[str, Any] = {}

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        for left in (2, 1):
            pick(chooser, key.path, "nope")
            await until(lambda n=left: f"Attempts left: {n}" in chooser.message, f"{left} left")
            await until(lambda: chooser.password_edit.isEnabled(), "input again")
        pick(chooser, key.path, "nope")
        await until(lambda: "3 times" in chooser.message, "no attempts left")
        seen["visible"] = chooser.isVisible()
        seen["ok_hidden"] = not chooser.ok_button.isVisible()
        seen["close"] = chooser.cancel_button.text()

    with pytest.raises(TooManyAttempts):
        drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"x"]), person)
    assert seen == {"visible": True, "ok_hidden": True, "close": "Close"}


def test_a_request_cancelled_while_its_dialog_is_open_closes_the_dialog(
    loop, context, demo
) -> None:
    service, prompter = make(context)
    key = demo["citizen_sign"]
    dialogs: list[Any] = []

    async def closes_at_chooser(task: asyncio.Task[Any]) -> None:
        dialogs.append(await shown(prompter, KeyChooserDialog))
        task.cancel()

    async def closes_at_confirm(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        pick(chooser, key.path, key.password)
        dialogs.append(await shown(prompter, ConfirmDialog))
        task.cancel()

    for person in (closes_at_chooser, closes_at_confirm):
        with pytest.raises(asyncio.CancelledError):
            drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"x"]), person)
    assert [d.isVisible() for d in dialogs] == [False, False]
    assert prompter.current is None


def test_get_key_info_needs_no_confirmation_and_leaves_no_dialog(loop, context, demo) -> None:
    service, prompter = make(context)
    key = demo["citizen_auth"]

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        assert "which key is yours" in chooser.asks_label.text()
        pick(chooser, key.path, key.password)

    entry = drive(loop, service.get_key_info(KeyQuery(ORIGIN)), person)
    assert entry.certificate == key.open().certificate
    loop.run_until_complete(asyncio.sleep(0.05))
    assert prompter.chooser is None or not prompter.chooser.isVisible()


def test_report_error_shows_the_plain_sentence_and_details_on_demand(loop, context) -> None:
    from signer_app.crypto.errors import TsaUnavailable

    prompter = QtPrompter(context)
    error = TsaUnavailable("connection refused", url="http://127.0.0.1:8080/tsp")
    seen: dict[str, Any] = {}

    async def person(task: asyncio.Task[Any]) -> None:
        dialog = await shown(prompter, ErrorDialog)
        seen["message"] = dialog.message_label.text()
        seen["details_hidden"] = not dialog.details.isVisible()
        dialog.details_button.click()
        seen["details"] = dialog.details.toPlainText()
        context.translator.set_language("kk")
        seen["kk"] = dialog.message_label.text()
        QTest.keyClick(dialog, Qt.Key.Key_Escape)

    drive(loop, prompter.report_error(ORIGIN, error, "en"), person)
    assert seen["message"].startswith("The timestamp service at http://127.0.0.1:8080/tsp")
    assert seen["details_hidden"]
    assert "tsa_unavailable" in seen["details"]
    assert "connection refused" in seen["details"]
    assert seen["kk"] == error.message("kk")


# ----------------------------------------------------------------------------- tokens

TOKEN_STORAGE = "AKKaztokenStore"


@pytest.fixture
def kaztoken(softhsm: SoftHsm, demo: dict[str, Any]) -> SoftHsm:
    """A Kaztoken-like token with the citizen's AUTH and SIGN keys."""
    softhsm.init_token("kaztoken")
    softhsm.import_entry("kaztoken", demo["citizen_auth"].open(), b"\x01")
    softhsm.import_entry("kaztoken", demo["citizen_sign"].open(), b"\x02")
    softhsm.activate()
    return softhsm


def with_token(context: AppContext, hsm: SoftHsm) -> tuple[SigningService, QtPrompter]:
    registry = TokenRegistry(environ={ENV_VAR: f"{TOKEN_STORAGE}={hsm.lib}"}, platform="linux")
    watch = TokenWatch(registry, storages=(TOKEN_STORAGE,))
    watch.poll()  # what the app's watcher thread has done by the time a site asks
    prompter = QtPrompter(replace(context, token_watch=watch))
    return SigningService(prompter, origins=context.origins, tokens=registry), prompter


def pick_token(chooser: KeyChooserDialog, pin: str) -> None:
    (token,) = chooser._tokens.values()
    item = chooser.item_for(Path(chooser.token_id(token)))
    assert item is not None
    chooser.key_list.setCurrentItem(item)
    assert chooser.password_label.text() == "PIN"
    chooser.password_edit.setFocus()
    QTest.keyClicks(chooser.password_edit, pin)
    QTest.keyClick(chooser.password_edit, Qt.Key.Key_Return)


TOKEN_QUERY = KeyQuery(ORIGIN, (TOKEN_STORAGE,), KeyType.SIGNATURE)


def test_choose_a_token_key_wrong_then_right_pin_confirm_signs(
    loop, context, kaztoken, demo
) -> None:
    service, prompter = with_token(context, kaztoken)
    seen: dict[str, str] = {}

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        seen["storage"] = chooser.storage_combo.itemText(0)
        pick_token(chooser, "00000000")
        await until(lambda: "Attempts left" in chooser.message, "the wrong-PIN sentence")
        seen["wrong"] = chooser.message
        assert chooser.isVisible(), "a wrong PIN keeps the chooser open"
        await until(lambda: chooser.password_edit.isEnabled(), "the chooser to take input again")
        pick_token(chooser, PIN)
        confirm = await shown(prompter, ConfirmDialog)
        seen["key"] = confirm.card.text()
        QTest.keyClick(confirm, Qt.Key.Key_Return)

    result = drive(loop, service.sign_cms(TOKEN_QUERY, [b"signed on a token"]), person)
    check = cms.verify(result.signatures[0])
    assert check.valid
    assert result.certificate == demo["citizen_sign"].open().certificate
    assert seen["storage"] == "AKKaztokenStore: kaztoken"
    # SoftHSM2 flags "count low" after a wrong PIN: the token's words, then the request's count.
    assert (
        seen["wrong"] == "Wrong PIN. Few tries are left before the token locks. Attempts left: 2."
    )
    assert "ЖҰМАБЕКОВ" in seen["key"]
    assert "00000000" not in seen["wrong"]


def test_a_locked_token_is_greyed_with_the_reason(qtbot, context, kaztoken) -> None:
    kaztoken.set_pin_flags("kaztoken", TokenFlag.USER_PIN_LOCKED)
    kaztoken.activate()
    _service, prompter = with_token(context, kaztoken)
    watch = prompter.context.token_watch
    assert watch is not None
    request = KeyRequest(ORIGIN, "sign", (TOKEN_STORAGE,), KeyType.SIGNATURE, ())
    chooser = KeyChooserDialog(context.translator, request, (), tokens=watch.snapshot.tokens)
    qtbot.addWidget(chooser)
    (token,) = watch.snapshot.tokens
    assert chooser.is_greyed(Path(chooser.token_id(token)))
    item = chooser.item_for(Path(chooser.token_id(token)))
    assert item is not None
    assert PinLocked().message("en") in item.text()
    assert chooser.selected_token() is None


# ----------------------------------------------------------------------------- remember password


def remembering(context: AppContext) -> None:
    context.settings_store.update(lambda s: replace(s, remember_passwords=True))


def test_remember_box_is_hidden_unless_the_setting_is_on(loop, context, demo, memory_keyring):
    service, prompter = make(context)
    key = demo["citizen_sign"]

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        assert not chooser.remember_box.isVisible()
        pick(chooser, key.path, key.password)
        confirm = await shown(prompter, ConfirmDialog)
        QTest.keyClick(confirm, Qt.Key.Key_Return)

    drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"x"]), person)
    assert memory_keyring.items == {}


def test_a_remembered_password_is_kept_then_filled_in_next_time(
    loop, context, demo, memory_keyring
) -> None:
    remembering(context)
    key = demo["citizen_sign"]

    async def first(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        assert chooser.remember_box.isVisible()
        assert chooser.password_edit.text() == ""
        chooser.remember_box.setChecked(True)
        pick(chooser, key.path, key.password)
        confirm = await shown(prompter, ConfirmDialog)
        QTest.keyClick(confirm, Qt.Key.Key_Return)

    service, prompter = make(context)
    drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"first"]), first)
    assert memory_keyring.items[("qalam", str(key.path.resolve()))] == key.password

    async def second(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        assert chooser.selected_path() == key.path.resolve()
        assert chooser.password_edit.text() == key.password  # filled in from the keyring
        assert chooser.remember_box.isChecked()
        QTest.keyClick(chooser.password_edit, Qt.Key.Key_Return)
        confirm = await shown(prompter, ConfirmDialog)
        QTest.keyClick(confirm, Qt.Key.Key_Return)

    service, prompter = make(context)
    result = drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"second"]), second)
    assert cms.verify(result.signatures[0]).valid


def test_a_wrong_remembered_password_is_forgotten_and_asked_again(
    loop, context, demo, memory_keyring
) -> None:
    remembering(context)
    key = demo["citizen_sign"]
    memory_keyring.set_password("qalam", str(key.path.resolve()), "changed-since")
    service, prompter = make(context)
    seen: dict[str, str] = {}

    async def person(task: asyncio.Task[Any]) -> None:
        chooser = await shown(prompter, KeyChooserDialog)
        assert chooser.password_edit.text() == "changed-since"
        QTest.keyClick(chooser.password_edit, Qt.Key.Key_Return)
        await until(lambda: "wrong" in chooser.message, "the wrong-password sentence")
        seen["wrong"] = chooser.message
        seen["field"] = chooser.password_edit.text()
        await until(lambda: chooser.password_edit.isEnabled(), "the chooser to take input again")
        pick(chooser, key.path, key.password)
        confirm = await shown(prompter, ConfirmDialog)
        QTest.keyClick(confirm, Qt.Key.Key_Return)

    result = drive(loop, service.sign_cms(KeyQuery(ORIGIN), [b"x"]), person)
    assert cms.verify(result.signatures[0]).valid
    assert seen["wrong"] == "The password is wrong. Attempts left: 2."
    assert seen["field"] == ""
    # Forgotten, and the right one not kept: the box was unticked when the wrong one failed.
    assert ("qalam", str(key.path.resolve())) not in memory_keyring.items
