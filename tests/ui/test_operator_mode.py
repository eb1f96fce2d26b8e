"""Operator mode against the live bundled CA: sign in with the GOV CA key, find the citizen,
create a code (text, QR, printable) that really re-issues, revoke with a named confirmation."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ca_live import LiveCa, ca_fixture, issue_code  # noqa: F401 - ca is a fixture
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter
from pytestqt.qtbot import QtBot
from reissue_screens import (
    ARTIFACTS,
    LANGUAGES,
    OPERATOR_PAGES,
    assert_not_blank,
    render_under_xvfb,
)

from signer_app.crypto.errors import WrongPassword
from signer_app.crypto.identity import identity_of
from signer_app.service import reissue
from signer_app.service.ca_client import CaClient
from signer_app.service.errors import CaRefused
from signer_app.service.known_keys import KnownKeys
from signer_app.ui.context import AppContext
from signer_app.ui.operator_mode import OperatorWindow, operator_keys
from signer_app.ui.reissue_qr import QUIET_ZONE, qr_matrix

CITIZEN = "850101300124"
WAIT = 30_000
CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


@pytest.fixture
def context(tmp_path: Path, ca: LiveCa) -> AppContext:
    made = AppContext.create(tmp_path / "qalam-home")
    made.settings_store.update(lambda s: replace(s, ca_url=ca.url))
    made.translator.set_language("en")
    return made


def idle(window: OperatorWindow) -> bool:
    return not window.busy_now


def open_window(qtbot: QtBot, context: AppContext, demo: dict[str, Any]) -> OperatorWindow:
    window = OperatorWindow(context, key_path=demo["psc_operator_auth"].path)
    qtbot.addWidget(window)
    window.show()
    return window


DEMO_PASSWORD = "Qwerty12"  # certs/demo/index.json: TEST ONLY


def sign_in(qtbot: QtBot, window: OperatorWindow, password: str = DEMO_PASSWORD) -> None:
    window.key_password.setText(password)
    qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    assert window.key_password.text() == ""  # not kept once used
    qtbot.waitUntil(lambda: idle(window), timeout=WAIT)


def find(qtbot: QtBot, window: OperatorWindow, iin: str) -> None:
    window.find_iin.setText(iin)
    qtbot.mouseClick(window.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: idle(window), timeout=WAIT)


def create_code(qtbot: QtBot, window: OperatorWindow, number: str) -> None:
    window.document_type.setCurrentIndex(0)  # ID card
    window.document_number.setText(number)
    qtbot.mouseClick(window.code_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: idle(window), timeout=WAIT)


def test_sign_in_find_and_a_code_that_really_re_issues(
    qtbot: QtBot, ca: LiveCa, context: AppContext, demo: dict[str, Any], tmp_path: Path
) -> None:
    window = open_window(qtbot, context, demo)
    sign_in(qtbot, window)
    assert window.stack.currentWidget() is window.desk_page, window.error_text
    assert "880612300019" in window.who.text()
    assert "operator" in window.who.text()

    find(qtbot, window, CITIZEN)
    assert "ЖҰМАБЕКОВ АСХАТ" in window.person_name.text()
    assert window.person_birth.text().startswith("1/1/85")
    assert window.person_document.text() == "yes"
    expected = CaClient(ca.url, token=window.client.token if window.client else None)
    listed = expected.person_certificates(CITIZEN)
    assert window.table.rowCount() == len(listed) > 0
    for row, cert in enumerate(listed):
        shown = window.table.item(row, 4).text()
        if cert["status"] == "revoked":
            assert shown.startswith("revoked ("), shown
        else:
            assert shown == ("expired" if cert["expired"] else "valid")
        assert window.table.item(row, 2).toolTip() == cert["serial"]

    create_code(qtbot, window, "0" + CITIZEN[-8:])
    code = window.code_text.text()
    assert CODE.match(code), window.error_text
    assert f"For IIN {CITIZEN} only, once" in window.code_valid.text()
    image = window.qr.pixmap().toImage()
    matrix = qr_matrix(code)
    module = image.width() // (len(matrix) + 2 * QUIET_ZONE)
    painted = [
        [
            image.pixelColor(
                (x + QUIET_ZONE) * module + module // 2, (y + QUIET_ZONE) * module + module // 2
            ).lightness()
            < 128
            for x in range(len(matrix))
        ]
        for y in range(len(matrix))
    ]
    assert painted == matrix  # the picture on screen is the QR symbol of the code shown
    assert any(any(row) for row in matrix)

    slip = tmp_path / "slip.pdf"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(slip))
    window.print_to(printer)
    assert slip.read_bytes().startswith(b"%PDF")
    assert slip.stat().st_size > 2000

    log = [window.log_list.item(i).text() for i in range(window.log_list.count())]
    assert [line.split(" ", 1)[1] for line in log] == [
        "signed in",
        f"looked up IIN {CITIZEN}: ЖҰМАБЕКОВ АСХАТ НҰРЛАНҰЛЫ",
        f"created a one-time code for IIN {CITIZEN} after checking the ID card",
    ]
    assert code not in "\n".join(log)  # the code is shown once, not logged

    # The citizen, at home, uses the code shown on the operator's screen.
    out = tmp_path / "citizen-keys"
    out.mkdir()
    done = reissue.with_code(
        CaClient(ca.url), tmp_path / "citizen-home", CITIZEN, code, "tulpar-qyran-2026", out
    )
    assert identity_of(done.auth).iin == CITIZEN


def test_revoking_asks_first_naming_the_person_and_then_shows_revoked(
    qtbot: QtBot, ca: LiveCa, context: AppContext, demo: dict[str, Any]
) -> None:
    window = open_window(qtbot, context, demo)
    sign_in(qtbot, window)
    find(qtbot, window, CITIZEN)
    target = f"{demo['citizen_sign'].open().certificate.serial_number:040x}"
    row = next(r for r, c in enumerate(window.certificates) if c["serial"] == target)
    questions: list[str] = []
    window.confirm = lambda _title, text: questions.append(text) is not None  # says no
    window.table.selectRow(row)
    assert window.selected_serials() == [target]
    window.reason.setCurrentIndex(0)  # keyCompromise
    qtbot.mouseClick(window.revoke_button, Qt.MouseButton.LeftButton)
    (question,) = questions
    assert "ЖҰМАБЕКОВ АСХАТ" in question
    assert CITIZEN in question
    assert "lost or stolen" in question
    assert CaClient(ca.url).certificate_status(target)["status"] == "good"  # "no" did nothing

    window.confirm = lambda _title, _text: True
    qtbot.mouseClick(window.revoke_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: idle(window), timeout=WAIT)
    status = CaClient(ca.url).certificate_status(target)
    assert (status["status"], status["reason"]) == ("revoked", "keyCompromise")
    row = next(r for r, c in enumerate(window.certificates) if c["serial"] == target)
    assert window.table.item(row, 4).text().startswith("revoked (lost or stolen key")
    assert window.selected_serials() == []  # a revoked certificate cannot be picked again
    assert "revoked certificate" in window.log_list.item(window.log_list.count() - 1).text()


def test_a_wrong_password_or_a_citizen_key_does_not_sign_in(
    qtbot: QtBot, context: AppContext, demo: dict[str, Any]
) -> None:
    window = open_window(qtbot, context, demo)
    sign_in(qtbot, window, "not-the-password")
    assert window.stack.currentWidget() is window.sign_in_page
    assert window.error_text == WrongPassword().message("en")
    window.key_file.setText(str(demo["citizen_auth"].path))
    sign_in(qtbot, window, demo["citizen_auth"].password)
    assert window.stack.currentWidget() is window.sign_in_page
    assert window.error_text in (
        CaRefused("operator_wrong_ca", "").message("en"),
        CaRefused("operator_not_registered", "").message("en"),
    )
    assert window.signin_details_button.isVisible()


@pytest.mark.parametrize(
    ("iin", "number", "ca_code"),
    [
        (CITIZEN, "012345678", "document_mismatch"),
        ("880612300019", "0" + "880612300019"[-8:], "operator_self"),
    ],
)
def test_a_refused_code_says_why_in_plain_words(
    qtbot: QtBot, context: AppContext, demo: dict[str, Any], iin: str, number: str, ca_code: str
) -> None:
    context.translator.set_language("ru")
    window = open_window(qtbot, context, demo)
    sign_in(qtbot, window)
    find(qtbot, window, iin)
    create_code(qtbot, window, number)
    assert window.code_text.text() == ""
    assert window.error_text == CaRefused(ca_code, "").message("ru")
    assert ca_code in window.details.toPlainText()


def test_an_ended_session_sends_the_operator_back_to_sign_in(
    qtbot: QtBot, ca: LiveCa, context: AppContext, demo: dict[str, Any]
) -> None:
    window = open_window(qtbot, context, demo)
    sign_in(qtbot, window)
    assert window.client is not None
    CaClient(ca.url, token=window.client.token).close_session()  # it ended elsewhere
    find(qtbot, window, CITIZEN)
    assert window.stack.currentWidget() is window.sign_in_page
    assert window.error_text in (
        CaRefused("session_expired", "").message("en"),
        CaRefused("unauthenticated", "").message("en"),
    )
    sign_in(qtbot, window)
    assert window.stack.currentWidget() is window.desk_page


def test_sign_out_ends_the_session_at_the_ca(
    qtbot: QtBot, ca: LiveCa, context: AppContext, demo: dict[str, Any]
) -> None:
    window = open_window(qtbot, context, demo)
    sign_in(qtbot, window)
    assert window.client is not None
    token = window.client.token
    qtbot.mouseClick(window.sign_out_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: idle(window), timeout=WAIT)
    assert window.stack.currentWidget() is window.sign_in_page
    with pytest.raises(CaRefused):
        CaClient(ca.url, token=token).me()


def test_the_window_speaks_the_chosen_language(
    qtbot: QtBot, context: AppContext, demo: dict[str, Any]
) -> None:
    window = open_window(qtbot, context, demo)
    context.translator.set_language("kk")
    assert window.sign_in_button.text() == "Кіру"
    assert window.windowTitle() == "Qalam — ХҚКО операторы"
    context.translator.set_language("ru")
    assert window.sign_in_button.text() == "Войти"


def test_only_gov_ca_auth_keys_offer_operator_mode(tmp_path: Path, demo: dict[str, Any]) -> None:
    known = KnownKeys(tmp_path)
    assert operator_keys(known) == []
    for name in ("citizen_auth", "psc_operator_sign", "psc_operator_auth"):
        key = demo[name]
        known.remember(key.path, key.open().certificate)
    assert operator_keys(known) == [demo["psc_operator_auth"].path.resolve()]


def test_the_operator_screens_are_drawn_in_kazakh_russian_and_english_under_xvfb() -> None:
    shots = render_under_xvfb("operator", ARTIFACTS / "reissue")
    expected = {f"operator-{page}-{lang}.png" for page in OPERATOR_PAGES for lang in LANGUAGES}
    assert {shot.name for shot in shots} == expected
    for shot in shots:
        assert_not_blank(shot)
