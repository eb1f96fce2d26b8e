"""Verify page and its view-model: the full validation (chain, revocation, timestamps) read as
one verdict, readable signer lines with the certificate's status, and a copy for support."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pages_support import context_fixture  # noqa: F401
from PySide6.QtGui import QGuiApplication
from tsa_helpers import closed_port_url
from validation_helpers import RunningCa

from signer_app.crypto import cms, xmldsig
from signer_app.service.tsa_client import HttpTsa
from signer_app.ui.context import AppContext
from signer_app.ui.pages.verify import VerifyPage
from signer_app.ui.pages.verify_model import NeedsOriginal, VerifySettings, verify_file
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs


def online(ctx: AppContext, ca: RunningCa) -> VerifySettings:
    """Validation against the bundled CA served on its test port."""
    return VerifySettings(ctx.data_dir, rewrites=ca.rewrites)


def unreachable(ctx: AppContext) -> VerifySettings:
    """The CA's addresses lead where nothing listens: the machine is offline."""
    from validation_helpers import CERTIFIED_BASE

    return VerifySettings(ctx.data_dir, timeout=2, rewrites={CERTIFIED_BASE: closed_port_url()})


def make_page(qtbot, ctx: AppContext, settings: VerifySettings | None = None) -> VerifyPage:  # type: ignore[no-untyped-def]
    page = VerifyPage(ctx, ScriptedDialogs(), settings=settings)
    qtbot.addWidget(page)
    return page


def check(qtbot, page: VerifyPage, signed: Path, original: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    before = page.checks
    page.signed.setText(str(signed))
    page.original.setText(str(original) if original else "")
    page.start()
    qtbot.waitUntil(lambda: page.checks > before)


def test_a_timestamped_demo_signature_passes_and_copies(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    citizen_sign,
    demo,
    bundled_ca: RunningCa,
) -> None:
    signed = tmp_path / "a.txt.cms"
    stamp = HttpTsa(bundled_ca.tsa_url).stamp
    signed.write_bytes(cms.add_signature_timestamp(cms.sign(b"hello", citizen_sign), stamp))
    page = make_page(qtbot, context, online(context, bundled_ca))
    check(qtbot, page, signed)
    assert page.report is not None
    assert page.report.indication == "TOTAL_PASSED"
    assert page.verdict.text() == "The signature is valid"
    texts = [label.text() for label in page.findChildren(type(page.verdict))]
    assert any(demo["citizen_sign"].iin in t for t in texts)
    assert any("proved by a timestamp" in t for t in texts)
    assert "valid (not revoked, checked by OCSP)" in texts
    page.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert "Verdict: valid (TOTAL_PASSED)" in copied
    assert "level T" in copied
    assert demo["citizen_sign"].iin in copied


def test_a_revoked_demo_key_fails_and_says_when(
    qtbot, context: AppContext, tmp_path: Path, demo, bundled_ca: RunningCa
) -> None:
    signed = tmp_path / "r.cms"
    signed.write_bytes(cms.sign(b"hello", demo["revoked_sign"].open()))
    page = make_page(qtbot, context, online(context, bundled_ca))
    check(qtbot, page, signed)
    assert page.report is not None
    assert (page.report.indication, page.report.sub_indication) == ("TOTAL_FAILED", "REVOKED")
    assert page.verdict.text() == "The signature is NOT valid"
    assert "was revoked" in page.scope.text()
    signer = page.report.signers[0]
    assert signer.certificate_status == "revoked"
    assert signer.revoked_at is not None
    texts = [label.text() for label in page.findChildren(type(page.verdict))]
    assert any(t.startswith("revoked on ") and "key_compromise" in t for t in texts)


def test_an_unreachable_ca_is_indeterminate_with_the_plain_reason(
    qtbot, context: AppContext, tmp_path: Path, citizen_sign
) -> None:
    signed = tmp_path / "a.txt.cms"
    signed.write_bytes(cms.sign(b"hello", citizen_sign))
    page = make_page(qtbot, context, unreachable(context))
    check(qtbot, page, signed)
    assert page.report is not None
    assert page.report.verdict == "indeterminate"
    assert page.verdict.text() == "The signature cannot be confirmed"
    assert page.report.signers[0].certificate_status == "unknown"
    texts = [label.text() for label in page.findChildren(type(page.verdict))]
    assert any(t.startswith("status unknown: ") for t in texts)
    assert "Reason: " in page.scope.text()


def test_detached_signature_asks_for_the_original_then_checks_it(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    citizen_sign,
    bundled_ca: RunningCa,
) -> None:
    original = tmp_path / "report.pdf"
    original.write_bytes(b"%PDF report")
    signed = tmp_path / "report.pdf.sig"
    signed.write_bytes(cms.sign(original.read_bytes(), citizen_sign, detached=True))
    page = make_page(qtbot, context, online(context, bundled_ca))
    check(qtbot, page, signed)
    assert "Add the original file" in page.error.text
    check(qtbot, page, signed, original)
    assert page.report is not None
    assert page.report.verdict == "valid"
    original.write_bytes(b"%PDF report, changed")
    check(qtbot, page, signed, original)
    assert page.report.verdict == "invalid"
    assert "NOT valid" in page.verdict.text()
    assert "changed after signing" in page.scope.text()


def test_expired_certificate_makes_the_verdict_indeterminate(demo, tmp_path: Path) -> None:
    expired = demo["expired_sign"].open()
    then = expired.certificate.not_valid_after_utc.replace(
        year=expired.certificate.not_valid_after_utc.year + 1
    )
    signed = tmp_path / "old.cms"
    signed.write_bytes(cms.sign(b"x", expired, signing_time=then))
    report = verify_file(signed, settings=VerifySettings(tmp_path, offline=True))
    assert report.verdict == "indeterminate"
    assert report.signers[0].certificate_status == "expired"


def test_xml_signatures_are_reported(tmp_path: Path, citizen_sign, bundled_ca: RunningCa) -> None:
    doc = tmp_path / "doc.signed.xml"
    doc.write_text(xmldsig.sign_xml("<a>1</a>", citizen_sign), encoding="utf-8")
    report = verify_file(doc, settings=VerifySettings(tmp_path, rewrites=bundled_ca.rewrites))
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
    page = make_page(qtbot, context, VerifySettings(context.data_dir, offline=True))
    check(qtbot, page, signed)
    assert page.error.text
    assert page.report is None
    assert "Traceback" not in page.error.details.toPlainText()


def test_detached_without_original_is_its_own_error(tmp_path: Path, citizen_sign) -> None:
    signed = tmp_path / "x.sig"
    signed.write_bytes(cms.sign(b"x", citizen_sign, detached=True))
    with pytest.raises(NeedsOriginal):
        verify_file(signed, settings=VerifySettings(tmp_path, offline=True))
    assert datetime.now(UTC)
