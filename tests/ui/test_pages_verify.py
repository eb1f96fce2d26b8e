"""Verify page and its view-model: one verdict, readable signer lines, copy for support."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pages_support import context_fixture  # noqa: F401
from PySide6.QtGui import QGuiApplication

from signer_app.crypto import cms, xmldsig
from signer_app.ui.context import AppContext
from signer_app.ui.pages.verify import VerifyPage
from signer_app.ui.pages.verify_model import NeedsOriginal, from_cms, verify_file
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs


def make_page(qtbot, ctx: AppContext) -> VerifyPage:  # type: ignore[no-untyped-def]
    page = VerifyPage(ctx, ScriptedDialogs())
    qtbot.addWidget(page)
    return page


def check(qtbot, page: VerifyPage, signed: Path, original: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    before = page.checks
    page.signed.setText(str(signed))
    page.original.setText(str(original) if original else "")
    page.start()
    qtbot.waitUntil(lambda: page.checks > before)


def test_a_valid_attached_signature_reads_plainly_and_copies(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    citizen_sign,
    demo,
) -> None:
    signed = tmp_path / "a.txt.cms"
    signed.write_bytes(cms.sign(b"hello", citizen_sign))
    page = make_page(qtbot, context)
    check(qtbot, page, signed)
    assert page.verdict.text() == "The signature is valid"
    texts = [label.text() for label in page.findChildren(type(page.verdict))]
    assert any(demo["citizen_sign"].iin in t for t in texts)
    assert any("as stated by the signer's computer" in t for t in texts)
    page.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert "Verdict: valid" in copied
    assert demo["citizen_sign"].iin in copied


def test_detached_signature_asks_for_the_original_then_checks_it(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    citizen_sign,
) -> None:
    original = tmp_path / "report.pdf"
    original.write_bytes(b"%PDF report")
    signed = tmp_path / "report.pdf.sig"
    signed.write_bytes(cms.sign(original.read_bytes(), citizen_sign, detached=True))
    page = make_page(qtbot, context)
    check(qtbot, page, signed)
    assert "Add the original file" in page.error.text
    check(qtbot, page, signed, original)
    assert page.report is not None
    assert page.report.verdict == "valid"
    original.write_bytes(b"%PDF report, changed")
    check(qtbot, page, signed, original)
    assert page.report.verdict == "invalid"
    assert "NOT valid" in page.verdict.text()


def test_expired_certificate_makes_the_verdict_indeterminate(demo) -> None:
    expired = demo["expired_sign"].open()
    then = expired.certificate.not_valid_after_utc.replace(
        year=expired.certificate.not_valid_after_utc.year + 1
    )
    report = from_cms(cms.verify(cms.sign(b"x", expired, signing_time=then)))
    assert report.verdict == "indeterminate"
    assert report.signers[0].certificate_status == "expired"


def test_xml_signatures_are_reported(tmp_path: Path, citizen_sign) -> None:
    doc = tmp_path / "doc.signed.xml"
    doc.write_text(xmldsig.sign_xml("<a>1</a>", citizen_sign), encoding="utf-8")
    report = verify_file(doc)
    assert (report.kind, report.verdict, len(report.signers)) == ("xml", "valid", 1)


@pytest.mark.parametrize("content", [b"", b"\x30\x03garbage", b"plain text, no signature"])
def test_bad_signature_files_are_a_plain_message(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    content: bytes,
) -> None:
    signed = tmp_path / "bad.cms"
    signed.write_bytes(content)
    page = make_page(qtbot, context)
    check(qtbot, page, signed)
    assert page.error.text
    assert page.report is None
    assert "Traceback" not in page.error.details.toPlainText()


def test_detached_without_original_is_its_own_error(tmp_path: Path, citizen_sign) -> None:
    signed = tmp_path / "x.sig"
    signed.write_bytes(cms.sign(b"x", citizen_sign, detached=True))
    with pytest.raises(NeedsOriginal):
        verify_file(signed)
    assert datetime.now(UTC)
