"""The printable validation report: self-contained HTML in kk/ru/en with the verdict, the
signer's identity and the file's fingerprint; everything from a certificate escaped; the same
report printed to PDF by Qt; and `qalam verify --report`."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from validation_helpers import CERTS, RunningCa, demo_anchors

from signer_app import __version__
from signer_app.cli import EXIT_INVALID, EXIT_OK, main
from signer_app.crypto import cms
from signer_app.crypto.keystores import KeyEntry, SoftwareKey
from signer_app.crypto.validation import TimestampReport, ValidationReport, validate_cms
from signer_app.service.report_html import ReportFile, render_html, word
from signer_app.service.report_pdf import render_pdf, save_report

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the PDF tests need a Qt application

DOCUMENT = "Келісімшарт № 9\n".encode()
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def demo_chain() -> list[x509.Certificate]:
    return list(x509.load_pem_x509_certificates((CERTS / "trust" / "demo-chain.pem").read_bytes()))


@pytest.fixture
def passed(bundled_ca: RunningCa, demo) -> tuple[ValidationReport, bytes]:
    signature = cms.sign(DOCUMENT, demo["citizen_sign"].open())
    report = validate_cms(signature, anchors=demo_anchors(), fetching=bundled_ca.fetching())
    assert report.passed
    return report, signature


def hostile_entry() -> KeyEntry:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, HOSTILE),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "A&B \"quoted\" 'Ltd'"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return KeyEntry("hostile", certificate, SoftwareKey(key))


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_html_names_the_verdict_the_signer_and_the_file(passed, demo, language) -> None:
    report, signature = passed
    page = render_html(report, ReportFile.of("contract.cms", signature), language)
    assert page.startswith("<!DOCTYPE html>")
    assert f'<html lang="{language}">' in page
    assert word("TOTAL_PASSED", language) in page
    assert "TOTAL_PASSED" in page
    assert demo["citizen_sign"].iin in page
    assert hashlib.sha256(signature).hexdigest() in page
    assert f"{report.validation_time:%Y-%m-%d %H:%M:%S}" in page
    assert __version__ in page
    assert "@media print" in page
    # self-contained: nothing is loaded from elsewhere, nothing runs
    assert not re.search(r"<script|<link|src=|url\(|@import", page, re.IGNORECASE)


def test_the_words_differ_by_language(passed) -> None:
    report, signature = passed
    pages = {
        lang: render_html(report, ReportFile.of("a", signature), lang)
        for lang in ["kk", "ru", "en"]
    }
    assert "Жарамды" in pages["kk"]
    assert "Действительна" in pages["ru"]
    assert "Valid" in pages["en"]


def test_revocation_chain_and_signing_time_source_are_shown(passed) -> None:
    report, signature = passed
    page = render_html(report, ReportFile.of("a", signature), "en")
    assert "not revoked — OCSP" in page
    assert "trust anchor" in page
    assert "claimed by the signer (not proof)" in page
    assert "Level reached" in page


def test_text_from_a_certificate_is_escaped() -> None:
    signature = cms.sign(DOCUMENT, hostile_entry())
    report = validate_cms(signature, anchors=demo_anchors())
    assert not report.passed
    page = render_html(report, ReportFile.of('x"><script>.cms', signature), "en")
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "A&amp;B &quot;quoted&quot; &#x27;Ltd&#x27;" in page
    assert word("INDETERMINATE", "en") in page


def test_the_pdf_has_pages(qapp, passed) -> None:
    report, signature = passed
    pdf = render_pdf(report, ReportFile.of("contract.cms", signature), "kk")
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1
    assert pdf.rstrip().endswith(b"%%EOF")


def test_save_report_picks_the_format_by_name(qapp, passed, tmp_path: Path) -> None:
    report, signature = passed
    file = ReportFile.of("contract.cms", signature)
    html = save_report(report, file, tmp_path / "r.html", "ru")
    assert "Действительна" in html.read_text(encoding="utf-8")
    pdf = save_report(report, file, tmp_path / "r.PDF", "ru")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_save_report_into_a_missing_folder_is_a_clear_error(passed, tmp_path: Path) -> None:
    from signer_app.crypto.errors import QalamError

    report, signature = passed
    with pytest.raises(QalamError):
        save_report(report, ReportFile.of("a", signature), tmp_path / "no" / "r.html")


def test_qalam_verify_writes_the_report(demo, tmp_path: Path, monkeypatch, capsys) -> None:
    signed = tmp_path / "contract.cms"
    signed.write_bytes(cms.sign(DOCUMENT, demo["citizen_sign"].open()))
    chain = tmp_path / "chain.pem"
    chain.write_bytes((CERTS / "trust" / "demo-chain.pem").read_bytes())
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    out = tmp_path / "report.html"
    home = ["--data-dir", str(tmp_path / "home"), "--intermediates", str(chain)]
    code = main(["verify", str(signed), "--offline", *home, "--report", str(out)])
    assert code == EXIT_INVALID  # offline: revocation unknown, cannot be confirmed
    page = out.read_text(encoding="utf-8")
    assert "Cannot be confirmed" in page
    assert demo["citizen_sign"].iin in page
    assert hashlib.sha256(signed.read_bytes()).hexdigest() in page
    assert f"Report: {out}" in capsys.readouterr().err


def test_qalam_verify_writes_a_pdf_report(
    bundled_ca: RunningCa, qapp, demo, tmp_path: Path
) -> None:
    signed = tmp_path / "contract.cms"
    signed.write_bytes(cms.sign(DOCUMENT, demo["citizen_sign"].open()))
    out = tmp_path / "report.pdf"
    online = ["--url-map", f"http://127.0.0.1:8080={bundled_ca.url}"]
    home = ["--data-dir", str(tmp_path / "home")]
    assert main(["verify", str(signed), *online, *home, "--report", str(out)]) == EXIT_OK
    assert out.read_bytes().startswith(b"%PDF")


def _with_both_kinds(report: ValidationReport) -> ValidationReport:
    """``report`` with a signature and an archive timestamp, signed at the archive's time."""
    moment = report.validation_time
    stamps = (
        TimestampReport(moment, False, "TSA one", problem="broken"),
        TimestampReport(moment, True, "TSA two", kind="archive"),
    )
    signer = replace(
        report.signers[0],
        timestamps=stamps,
        signing_time=moment,
        signing_time_source="archive_timestamp",
    )
    return replace(report, signers=(signer,))


@pytest.mark.parametrize(
    ("language", "signature_word", "archive_word", "source_word"),
    [
        ("en", "signature timestamp", "archive timestamp", "from an archive timestamp"),
        ("ru", "метка времени подписи", "архивная метка времени", "по архивной метке"),
        ("kk", "қолтаңбаның уақыт белгісі", "мұрағаттық уақыт белгісі", "мұрағаттық уақыт"),
    ],
)
def test_the_html_tells_signature_from_archive_timestamps(
    passed, language, signature_word, archive_word, source_word
) -> None:
    report, signature = passed
    page = render_html(_with_both_kinds(report), ReportFile.of("a", signature), language)
    assert f"{signature_word}: " in page
    assert f"{archive_word}: " in page
    assert source_word in page
