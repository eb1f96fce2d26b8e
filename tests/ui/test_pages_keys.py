"""My keys: key files found without blocking, certificates shown after a password, import,
export, back-up, password change, and each kind of bad input as a plain message."""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pages_support import context_fixture, drive  # noqa: F401
from PySide6.QtWidgets import QDialog
from tsa_helpers import closed_port_url
from validation_helpers import CERTIFIED_BASE, RunningCa

from signer_app.crypto.keystores import open_pkcs12
from signer_app.crypto.revocation import RevocationStatus
from signer_app.service.verification import check_certificate
from signer_app.ui.context import AppContext
from signer_app.ui.pages.keys import KeysPage
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs
from signer_app.ui.widgets.page_password import ChangePasswordDialog, KeyPasswordDialog, strength


def make_page(qtbot, ctx: AppContext, **kwargs) -> tuple[KeysPage, ScriptedDialogs]:  # type: ignore[no-untyped-def]
    dialogs = ScriptedDialogs()
    page = KeysPage(ctx, dialogs, **kwargs)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.scans >= 1)
    return page, dialogs


def select(page: KeysPage, path: Path) -> None:
    for row in range(page.files.count()):
        if page.files.item(row).toolTip() == str(path):
            page.files.setCurrentRow(row)
            return
    raise AssertionError(f"{path} is not listed")


def type_password(qtbot, password: str):  # type: ignore[no-untyped-def]
    def act(dialog: QDialog) -> None:
        assert isinstance(dialog, KeyPasswordDialog)
        dialog.password.setText(password)
        dialog.try_open()
        qtbot.waitUntil(lambda: dialog.buttons.isEnabled())

    return drive(qtbot, act)


@pytest.fixture
def keys_folder(tmp_path: Path, demo) -> Path:
    folder = tmp_path / "keys"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(demo["citizen_sign"].path, folder / "citizen.p12")
    shutil.copy(demo["citizen_auth"].path, folder / "sub" / "auth.p12")
    (folder / "notes.txt").write_text("not a key")
    return folder


def test_key_files_come_from_preselected_recent_and_folders(
    qtbot,
    context: AppContext,
    keys_folder: Path,
    demo,
) -> None:
    context.settings_store.update(
        lambda s: replace(
            s, key_folders=(str(keys_folder),), recent_keys=(str(demo["ceo_sign"].path),)
        )
    )
    ctx = replace(context, preselected_keys=(demo["citizen_sign"].path,))
    page, _ = make_page(qtbot, ctx)
    listed = [page.files.item(i).toolTip() for i in range(page.files.count())]
    assert listed == [
        str(demo["citizen_sign"].path),
        str(demo["ceo_sign"].path),
        str(keys_folder / "citizen.p12"),
        str(keys_folder / "sub" / "auth.p12"),
    ]
    assert "preselected" in page.files.item(0).text()


def test_a_folder_that_disappears_is_a_message_not_a_crash(
    qtbot,
    context: AppContext,
    keys_folder: Path,
) -> None:
    context.settings_store.update(lambda s: replace(s, key_folders=(str(keys_folder),)))
    page, _ = make_page(qtbot, context)
    assert page.files.count() == 2
    shutil.rmtree(keys_folder)
    page.refresh()
    qtbot.waitUntil(lambda: page.scans >= 2)
    assert page.files.count() == 0
    assert f"The folder {keys_folder} is not there any more" in page.notice.text()


def test_wrong_password_keeps_the_dialog_then_the_certificate_shows(
    qtbot,
    context: AppContext,
    demo,
) -> None:
    key = demo["citizen_sign"]
    dialog = KeyPasswordDialog(context.translator, key.path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.password.setText("wrong")
    dialog.try_open()
    qtbot.waitUntil(lambda: dialog.attempts == 1)
    assert dialog.isVisible()
    assert "attempt 1" in dialog.error.text
    assert dialog.password.text() == ""

    checked: list[x509.Certificate] = []

    def checker(cert, chain):  # type: ignore[no-untyped-def]
        checked.append(cert)
        return RevocationStatus("revoked", "ocsp", revoked_at=datetime(2026, 1, 2, tzinfo=UTC))

    ctx = replace(context, preselected_keys=(key.path,))
    page, _ = make_page(qtbot, ctx, status_checker=checker)
    page.exec_dialog = type_password(qtbot, key.password)
    page.open_selected()
    assert page.card.isVisibleTo(page)
    assert page.card.values["iin"].text() == key.iin
    assert page.card.values["purpose"].text() == "signing (SIGN)"
    qtbot.waitUntil(lambda: "REVOKED" in page.status_label.text())
    assert len(checked) == 1
    assert context.settings.recent_keys[0] == str(key.path)


def checker_to(ctx: AppContext, rewrites: dict[str, str], timeout: float = 5):  # type: ignore[no-untyped-def]
    """The page's real checker, with the CA's addresses led to ``rewrites``."""

    def check(cert, chain):  # type: ignore[no-untyped-def]
        return check_certificate(
            cert, chain, data_dir=ctx.data_dir, rewrites=rewrites, timeout=timeout
        )

    return check


def open_with(qtbot, context: AppContext, key, checker) -> KeysPage:  # type: ignore[no-untyped-def]
    page, _ = make_page(
        qtbot, replace(context, preselected_keys=(key.path,)), status_checker=checker
    )
    page.exec_dialog = type_password(qtbot, key.password)
    page.open_selected()
    qtbot.waitUntil(lambda: "checking" not in page.status_label.text())
    return page


def test_a_good_demo_key_is_valid_by_ocsp(
    qtbot, context: AppContext, demo, bundled_ca: RunningCa
) -> None:
    page = open_with(qtbot, context, demo["citizen_auth"], checker_to(context, bundled_ca.rewrites))
    assert page.status_label.text() == ("Revocation status: valid, not revoked (checked by OCSP)")
    assert "SHA-256:" in page.details.toPlainText()


def test_a_revoked_demo_key_says_when_and_why(
    qtbot, context: AppContext, demo, bundled_ca: RunningCa
) -> None:
    page = open_with(qtbot, context, demo["revoked_sign"], checker_to(context, bundled_ca.rewrites))
    text = page.status_label.text()
    assert text.startswith("Revocation status: REVOKED on ")
    assert "key_compromise" in text


def test_an_unreachable_ca_leaves_the_status_unknown_with_why(
    qtbot, context: AppContext, demo
) -> None:
    unreachable = checker_to(context, {CERTIFIED_BASE: closed_port_url()}, timeout=2)
    page = open_with(qtbot, context, demo["citizen_auth"], unreachable)
    assert page.status_label.text().startswith(
        "Revocation status: unknown (the CA could not be asked: "
    )


def test_the_page_checks_revocation_by_default(qtbot, context: AppContext) -> None:
    page, _ = make_page(qtbot, context)
    assert page.status_checker is not None
    assert page.status_checker.__qualname__.startswith("online_checker")


def _refuse_reads(monkeypatch: pytest.MonkeyPatch, refused: Path) -> None:
    """Make reading `refused` fail as it does for a normal user without read permission."""
    real_read, real_open = Path.read_bytes, Path.open

    def denied() -> PermissionError:
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(refused))

    def read_bytes(self: Path) -> bytes:
        if self == refused:
            raise denied()
        return real_read(self)

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == refused:
            raise denied()
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(Path, "open", open_)


@pytest.mark.parametrize("case", ["corrupt", "not_pkcs12", "empty", "unreadable"])
def test_bad_key_files_get_a_plain_message(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    demo,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / f"{case}.p12"
    if case == "corrupt":
        path.write_bytes(demo["citizen_sign"].path.read_bytes()[:300])
    elif case == "not_pkcs12":
        path.write_bytes(b"%PDF-1.7 a document, not a key")
    elif case == "empty":
        path.write_bytes(b"")
    else:
        shutil.copy(demo["citizen_sign"].path, path)
        path.chmod(0)
        if os.geteuid() == 0:  # root reads any file (CI runs as root): the refusal is faked
            _refuse_reads(monkeypatch, path)
    dialog = KeyPasswordDialog(context.translator, path)
    qtbot.addWidget(dialog)
    dialog.password.setText("Qwerty12")
    dialog.try_open()
    qtbot.waitUntil(lambda: dialog.buttons.isEnabled())
    expected = "not allowed to read" if case == "unreadable" else "damaged or is not a key file"
    assert expected in dialog.error.text
    assert dialog.store is None

    page, dialogs = make_page(qtbot, context)
    dialogs.answers.append(path)
    page.import_key()
    assert page.error.text  # refused with a sentence, nothing copied
    assert "Traceback" not in page.error.details.toPlainText()


def test_import_copies_into_the_chosen_folder_and_never_overwrites_silently(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    demo,
) -> None:
    page, dialogs = make_page(qtbot, context)
    target_folder = tmp_path / "mine"
    target_folder.mkdir()
    source = demo["citizen_sign"].path
    dialogs.answers.extend([source, target_folder])
    page.import_key()
    copied = target_folder / source.name
    assert copied.read_bytes() == source.read_bytes()
    assert "was copied" in page.info.text()
    qtbot.waitUntil(lambda: page.files.count() == 1)

    copied.write_bytes(b"the person's own file")
    dialogs.answers.extend([source, target_folder, False])  # "replace it?" - no
    page.import_key()
    assert copied.read_bytes() == b"the person's own file"
    assert "already exists" in dialogs.asked[-1]


def test_export_certificate_as_pem_and_der(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    demo,
) -> None:
    key = demo["citizen_sign"]
    page, dialogs = make_page(qtbot, replace(context, preselected_keys=(key.path,)))
    page.exec_dialog = type_password(qtbot, key.password)
    page.open_selected()
    certificate = open_pkcs12(key.path, key.password).entry.certificate
    dialogs.answers.extend([tmp_path / "me.pem", tmp_path / "me.cer"])
    page.export_certificate()
    page.export_certificate()
    assert x509.load_pem_x509_certificate((tmp_path / "me.pem").read_bytes()) == certificate
    assert x509.load_der_x509_certificate((tmp_path / "me.cer").read_bytes()) == certificate


def test_back_up_copies_the_key_file(qtbot, context: AppContext, tmp_path: Path, demo) -> None:
    key = demo["citizen_sign"]
    page, dialogs = make_page(qtbot, replace(context, preselected_keys=(key.path,)))
    dialogs.answers.append(tmp_path / "backup.p12")
    page.back_up()
    assert (tmp_path / "backup.p12").read_bytes() == key.path.read_bytes()
    assert "Keep it somewhere safe" in page.info.text()


def test_change_password_keeps_the_dialog_on_a_wrong_old_password(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    demo,
) -> None:
    path = tmp_path / "mine.p12"
    shutil.copy(demo["citizen_sign"].path, path)
    dialog = ChangePasswordDialog(context.translator, path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.old.setText("Qwerty12")
    dialog.new.setText("Short1")
    dialog.repeat.setText("Short2")
    dialog.try_change()
    assert "differ" in dialog.error.text
    dialog.repeat.setText("Short1")
    dialog.try_change()
    assert "too short" in dialog.error.text

    dialog.old.setText("not-it")
    dialog.new.setText("N3w-Passw0rd!")
    dialog.repeat.setText("N3w-Passw0rd!")
    assert dialog.meter.text() == "Strong."
    dialog.try_change()
    qtbot.waitUntil(lambda: dialog.buttons.isEnabled())
    assert dialog.isVisible()
    assert "password is not right" in dialog.error.text
    assert open_pkcs12(path, "Qwerty12")  # untouched

    dialog.old.setText("Qwerty12")
    dialog.try_change()
    qtbot.waitUntil(lambda: dialog.changed)
    assert open_pkcs12(path, "N3w-Passw0rd!")


def test_strength_guidance() -> None:
    assert strength("qwerty") == "weak"
    assert strength("Qwerty12") == "fair"
    assert strength("Long-Passw0rd!") == "strong"


def test_forgot_password_and_renew_open_the_reissue_wizard(qtbot, context) -> None:  # type: ignore[no-untyped-def]
    page, _ = make_page(qtbot, context)
    assert page.forgot_button.text() == "I forgot my password / I lost my key…"
    wizard = page.start_reissue("code")
    assert wizard.isVisible()
    assert wizard.mode == "code"
    wizard.close()
    renew = page.start_reissue("renew")
    assert renew.mode == "renew"
    renew.close()
