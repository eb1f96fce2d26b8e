"""The dialogs on their own: bad key files, drag and drop, keyboard, language switch."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from signer_app.crypto.identity import identity_of
from signer_app.service.key_status import Reason
from signer_app.service.prompter import DocumentView, KeyRequest, KeyType, KeyView, SignRequestView
from signer_app.ui.dialogs.confirm import ConfirmDialog
from signer_app.ui.dialogs.error import ErrorDialog
from signer_app.ui.dialogs.key_chooser import KeyChooserDialog
from signer_app.ui.dialogs.keyfiles import probe
from signer_app.ui.i18n import Translator

ORIGIN = "https://portal.example.kz"
REQUEST = KeyRequest(ORIGIN, "sign", ("PKCS12",), KeyType.SIGNATURE, ("be a SIGN key",))


def drop(dialog: KeyChooserDialog, path: Path) -> None:
    """Drop one local file on the dialog, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    dialog.dropEvent(event)


@pytest.fixture
def chooser(qtbot: Any) -> KeyChooserDialog:
    dialog = KeyChooserDialog(Translator("en"), REQUEST)
    qtbot.addWidget(dialog)
    return dialog


def unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Take read permission away (root reads anyway, so then the read itself is refused)."""
    path.chmod(0)
    if os.geteuid() == 0:
        real = Path.read_bytes

        def refuse(self: Path) -> bytes:
            if self == path:
                raise PermissionError(13, "Permission denied", str(path))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", refuse)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("corrupt", "This key file is damaged or is not a key file."),
        ("not_pkcs12", "This key file is damaged or is not a key file."),
        ("empty", "This key file is damaged or is not a key file."),
        ("unreadable", "You are not allowed to read or write "),
        ("missing", "The file was not found: "),
        ("folder", "This key file is damaged or is not a key file."),
    ],
)
def test_a_bad_file_dropped_in_is_said_plainly_and_greyed_out(
    chooser, tmp_path, demo, monkeypatch, kind: str, expected: str
) -> None:
    path = tmp_path / f"{kind}.p12"
    if kind == "corrupt":
        good = demo["citizen_sign"].path.read_bytes()
        path.write_bytes(good[: len(good) // 2] + bytes(64))
    elif kind == "not_pkcs12":
        path.write_text("%PDF-1.7 not a key\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "unreadable":
        path.write_bytes(demo["citizen_sign"].path.read_bytes())
        unreadable(path, monkeypatch)
    elif kind == "folder":
        path.mkdir()
    drop(chooser, path)
    assert chooser.message.startswith(f"{path.name}: {expected}")
    assert chooser.is_greyed(path)
    assert chooser.selected_path() is None
    # A good key dropped afterwards is listed, selected and waits for its password.
    good_key = demo["citizen_sign"].path
    drop(chooser, good_key)
    assert chooser.selected_path() == good_key
    assert chooser.message == ""
    assert "type its password" in chooser.card.text()


def test_probe_tells_key_files_from_other_files(demo, tmp_path) -> None:
    assert probe(demo["citizen_sign"].path).usable
    assert probe(demo["citizen_sign"].path).identity is None  # the password hides the owner
    (tmp_path / "x.p12").write_bytes(b"\x30\x03\x02\x01\x03")
    assert probe(tmp_path / "x.p12").problem is not None


def test_ok_without_a_key_or_password_says_what_is_missing(chooser, demo, qtbot) -> None:
    chooser.ok_button.click()
    assert chooser.message == "Choose a key file first."
    chooser.add_key_file(demo["citizen_sign"].path)
    chooser.ok_button.click()
    assert chooser.message == "Type the password of the key file."


def test_keyboard_only_the_chooser_has_names_tab_order_and_a_default(chooser, demo) -> None:
    chooser.add_key_file(demo["citizen_sign"].path)
    assert chooser.ok_button.isDefault()
    assert not chooser.cancel_button.autoDefault()
    for widget in (chooser.key_list, chooser.password_edit, chooser.add_button):
        assert widget.accessibleName(), widget
    assert chooser.password_edit.nextInFocusChain() is not None
    order = []
    widget = chooser.key_list
    for _ in range(60):
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget not in order:
            order.append(widget)
        widget = widget.nextInFocusChain()
    tab = [chooser.key_list, chooser.add_button, chooser.password_edit, chooser.ok_button]
    tab += [chooser.cancel_button, chooser.block_button]
    assert [w for w in order if w in tab] == tab


def sign_view(demo: dict[str, Any], origin: str | None = ORIGIN) -> SignRequestView:
    entry = demo["citizen_sign"].open()
    docs = tuple(DocumentView.of(f"doc {n}".encode(), "cms") for n in range(5))
    key = KeyView(str(demo["citizen_sign"].path), entry.alias, identity_of(entry.certificate))
    return SignRequestView(origin, "cms", docs, key, detached=True)


def test_confirmation_names_site_content_and_key_and_switches_language(qtbot, demo) -> None:
    translator = Translator("en")
    dialog = ConfirmDialog(translator, sign_view(demo))
    qtbot.addWidget(dialog)
    assert dialog.origin_label.text() == ORIGIN
    assert dialog.summary_label.text() == "a CMS signature: 5 document(s), 25 bytes in all"
    assert "…and 2 more document(s)." in dialog.documents_label.text()
    assert dialog.sign_button.isDefault()
    assert dialog.sign_button.text() == "Sign"
    translator.set_language("ru")
    assert dialog.sign_button.text() == "Подписать"
    assert dialog.summary_label.text() == "подпись CMS: документов — 5, всего 25 байт"
    assert "для подписи (SIGN)" in dialog.card.text()
    translator.set_language("kk")
    assert dialog.sign_button.text() == "Қол қою"
    assert dialog.block_button.text() == "Болдырмау және бұл сайтты әрдайым бұғаттау"
    assert "қол қоюға арналған (SIGN)" in dialog.card.text()


def test_confirmation_names_the_xades_level_when_one_is_asked_for(qtbot, demo) -> None:
    translator = Translator("ru")
    view = replace(sign_view(demo), kind="xml", signature_format="XAdES-LTA")
    dialog = ConfirmDialog(translator, view)
    qtbot.addWidget(dialog)
    assert dialog.summary_label.text().startswith("XML-документ (XAdES-LTA): ")
    translator.set_language("en")
    assert dialog.summary_label.text().startswith("an XML document (XAdES-LTA): ")


def test_confirmation_shows_the_keys_warnings_in_the_persons_language(qtbot, demo) -> None:
    warning = Reason("warning.revocation_unknown")
    translator = Translator("en")
    dialog = ConfirmDialog(translator, replace(sign_view(demo), warnings=(warning,)))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.warnings_label.isVisible()
    assert dialog.warnings_label.text() == warning.text("en")
    translator.set_language("ru")
    assert dialog.warnings_label.text() == warning.text("ru") != warning.text("en")
    quiet = ConfirmDialog(translator, sign_view(demo))
    qtbot.addWidget(quiet)
    quiet.show()
    assert not quiet.warnings_label.isVisible()
    dialog.dismiss()
    quiet.dismiss()


def test_chooser_strings_switch_language_live(chooser, demo) -> None:
    chooser.add_key_file(demo["citizen_sign"].path)
    chooser.ok_button.click()
    assert chooser.ok_button.text() == "Continue"
    chooser.translator.set_language("kk")
    assert chooser.ok_button.text() == "Жалғастыру"
    assert chooser.message == "Кілт файлының құпиясөзін енгізіңіз."
    assert chooser.password_label.text() == "Құпиясөз"


def test_error_dialog_details_expand(qtbot) -> None:
    from signer_app.crypto.errors import CorruptKeyStore

    dialog = ErrorDialog(Translator("ru"), CorruptKeyStore("not a PKCS#12 structure"), None)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.message_label.text() == "Файл ключа повреждён или не является файлом ключа."
    assert not dialog.details.isVisible()
    dialog.details_button.click()
    assert dialog.details.isVisible()
    assert "corrupt_keystore" in dialog.details.toPlainText()
    assert dialog.details_button.text() == "Скрыть подробности"


def test_dialogs_render_offscreen_without_crashing(qtbot, demo) -> None:
    dialog = ConfirmDialog(Translator("kk"), sign_view(demo, origin=None))
    qtbot.addWidget(dialog)
    dialog.show()
    picture = dialog.grab()
    assert not picture.isNull()
    assert not dialog.block_button.isVisible()
    dialog.dismiss()
