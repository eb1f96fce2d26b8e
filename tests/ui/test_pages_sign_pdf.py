"""Sign page, PDF: a PAdES signature made from the page verifies (ours and pyHanko's verdict),
the level and visible stamp are the person's choice, a co-signature takes the next field, and
every failure (GOST key, encrypted PDF, TSA down, cancel) is a plain message with no output."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pades_helpers import DEMO_ROOTS, encrypted_pdf_bytes, write_pdf
from pages_support import context_fixture  # noqa: F401
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from validation_helpers import RunningCa, demo_anchors

from signer_app.crypto.validation import TOTAL_PASSED
from signer_app.service import pdf_signing
from signer_app.service.prompter import ScriptedAnswer, ScriptedPrompter
from signer_app.service.signing import SigningService
from signer_app.service.tsa_client import HttpTsa
from signer_app.service.verification import validate_file
from signer_app.ui.context import AppContext
from signer_app.ui.main_window import MainWindow
from signer_app.ui.pages.sign import SignPage
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs

NO_REVOCATION = CertRevTrustPolicy(
    RevocationCheckingPolicy(RevocationCheckingRule.NO_CHECK, RevocationCheckingRule.NO_CHECK)
)


def make_page(
    qtbot, ctx: AppContext, answers, tsa_url: str | None = None
) -> tuple[SignPage, ScriptedDialogs, ScriptedPrompter]:  # type: ignore[no-untyped-def]
    prompter = ScriptedPrompter(answers)
    dialogs = ScriptedDialogs()
    service = SigningService(prompter, tsa=HttpTsa(tsa_url) if tsa_url else None)
    page = SignPage(ctx, service, dialogs)
    qtbot.addWidget(page)
    return page, dialogs, prompter


def approve(key) -> ScriptedAnswer:  # type: ignore[no-untyped-def]
    return ScriptedAnswer(key=key.path, password=key.password)


def sign(loop: asyncio.AbstractEventLoop, page: SignPage, *paths: Path) -> None:
    page.add_files(list(paths))
    page.start()
    assert page.task is not None
    loop.run_until_complete(page.task)


def files_in(folder: Path) -> list[str]:
    """The documents in ``folder`` (the app's data dir, if made, aside)."""
    return sorted(name for name in os.listdir(folder) if name != "data")


def signatures(path: Path) -> list:  # type: ignore[type-arg]
    return PdfFileReader(io.BytesIO(path.read_bytes())).embedded_regular_signatures


def pyhanko_judges_valid(path: Path, index: int = 0) -> bool:
    roots = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in demo_anchors()]
    context = ValidationContext(trust_roots=roots, revinfo_policy=NO_REVOCATION)
    return bool(validate_pdf_signature(signatures(path)[index], context).bottom_line)


def test_a_pdf_signed_from_the_page_verifies_with_ours_and_pyhanko(
    qtbot, context: AppContext, loop, tmp_path: Path, demo, bundled_ca: RunningCa
) -> None:
    doc = write_pdf(tmp_path, pages=2, name="contract.pdf")
    before = doc.read_bytes()
    page, _, prompter = make_page(qtbot, context, approve(demo["citizen_sign"]), bundled_ca.tsa_url)
    page.add_files([doc])
    assert page.pdf.isEnabled()
    assert page.pdf.isChecked()
    assert page.pdf_options.chosen_level == "b-t"  # a TSA is set: a signing time by default
    sign(loop, page)
    out = tmp_path / "contract.signed.pdf"
    assert page.error.text == ""
    assert page.status.text() == f"Signed: {out}"
    assert doc.read_bytes() == before
    report = validate_file(out.read_bytes(), data_dir=tmp_path, rewrites=bundled_ca.rewrites)
    assert report.indication == TOTAL_PASSED
    assert report.signers[0].level == "T"
    assert pyhanko_judges_valid(out)
    confirm = prompter.of_kind("confirm")[0]
    assert confirm.kind == "pdf"
    assert confirm.documents[0].name == str(doc)
    assert "2 page(s)" in confirm.documents[0].preview
    assert files_in(tmp_path) == ["contract.pdf", "contract.signed.pdf"]


def test_the_visible_stamp_sits_in_the_corner_of_the_page_chosen(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    doc = write_pdf(tmp_path, pages=3)
    page, _, _ = make_page(qtbot, context, approve(demo["citizen_sign"]))
    page.add_files([doc])
    options = page.pdf_options
    assert not options.page.isEnabled()
    options.stamp.setChecked(True)
    assert options.page.isEnabled()
    assert options.corner.isEnabled()
    options.page.setCurrentIndex(options.page.findData("last"))
    options.corner.setCurrentIndex(options.corner.findData("bottom-right"))
    sign(loop, page)
    out = tmp_path / "doc.signed.pdf"
    kids = PdfFileReader(io.BytesIO(out.read_bytes())).root["/Pages"]["/Kids"]
    annotations = [[a.get_object() for a in k.get_object().get("/Annots", [])] for k in kids]
    assert annotations[0] == []
    assert annotations[1] == []
    (widget,) = [a for a in annotations[2] if a.get("/FT") == "/Sig"]
    # A4 (595 x 842 points): 200 x 60, half an inch (36 points) from the bottom right edges.
    assert [int(v) for v in widget["/Rect"]] == [595 - 36 - 200, 36, 595 - 36, 36 + 60]
    assert "/AP" in widget  # drawn: the signer's name and the time
    assert pyhanko_judges_valid(out)


@pytest.mark.interop
def test_pyhanko_cli_judges_a_stamped_pdf_from_the_page_valid(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    doc = write_pdf(tmp_path)
    page, _, _ = make_page(qtbot, context, approve(demo["citizen_sign"]))
    page.add_files([doc])
    page.pdf_options.stamp.setChecked(True)
    sign(loop, page)
    command = [
        sys.executable, "-m", "pyhanko", "sign", "validate", "--trust", str(DEMO_ROOTS),
        "--trust-replace", "--no-revocation-check", "--pretty-print",
        str(tmp_path / "doc.signed.pdf"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The signature is judged VALID." in done.stdout


def test_a_signed_pdf_is_co_signed_in_the_next_field(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    doc = write_pdf(tmp_path)
    page, _, _ = make_page(
        qtbot, context, [approve(demo["citizen_sign"]), approve(demo["citizen_sign"])]
    )
    sign(loop, page, doc)
    first = tmp_path / "doc.signed.pdf"
    page.files.clear()
    sign(loop, page, first)
    second = tmp_path / "doc.signed.signed.pdf"
    names = [s.field_name for s in signatures(second)]
    assert names == ["Signature1", "Signature2"]
    assert pyhanko_judges_valid(second, 0)
    assert pyhanko_judges_valid(second, 1)


def test_pdf_is_offered_by_content_and_only_for_pdfs(
    qtbot, context: AppContext, tmp_path: Path
) -> None:
    page, _, _ = make_page(qtbot, context, [])
    named_wrong = write_pdf(tmp_path, name="scan.dat")
    not_a_pdf = tmp_path / "notes.pdf"
    not_a_pdf.write_text("just text")
    assert not page.pdf.isEnabled()
    page.add_files([named_wrong])
    assert page.pdf.isEnabled()
    assert page.pdf.isChecked()
    assert page.pdf_options.isVisibleTo(page)
    assert not page.timestamp.isVisibleTo(page)
    page.add_files([not_a_pdf])
    assert not page.pdf.isEnabled()
    assert page.detached.isChecked()
    assert not page.pdf_options.isVisibleTo(page)


def test_levels_with_a_timestamp_need_a_tsa(qtbot, context: AppContext, tmp_path: Path) -> None:
    page, _, _ = make_page(qtbot, context, [])
    page.add_files([write_pdf(tmp_path)])
    options = page.pdf_options
    model = options.level.model()
    assert options.chosen_level == "b-b"
    assert [model.item(row).isEnabled() for row in range(4)] == [True, False, False, False]
    assert options.no_tsa.isVisibleTo(page)
    page.service.tsa = HttpTsa("http://127.0.0.1:9/tsp")
    page.retranslate()
    assert options.chosen_level == "b-t"
    assert [model.item(row).isEnabled() for row in range(4)] == [True] * 4
    assert not options.no_tsa.isVisibleTo(page)


def test_a_gost_key_is_refused_before_the_confirmation(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    doc = write_pdf(tmp_path)
    page, _, prompter = make_page(qtbot, context, approve(demo["citizen_gost_sign"]))
    sign(loop, page, doc)
    assert "PDF signatures cannot be made with a ECGOST3410-2015 key" in page.error.text
    assert "RSA or EC" in page.error.text
    assert prompter.of_kind("confirm") == []
    assert prompter.of_kind("error") == []  # said once, on the page, not again in a dialog
    assert files_in(tmp_path) == ["doc.pdf"]


@pytest.mark.parametrize(
    ("content", "sentence"),
    [
        (encrypted_pdf_bytes(), "password-protected"),
        (b"%PDF-1.7\nbroken beyond repair", "not a readable PDF"),
    ],
    ids=["encrypted", "broken"],
)
def test_an_unsignable_pdf_is_a_plain_message_before_any_dialog(
    qtbot, context: AppContext, loop, tmp_path: Path, demo, content: bytes, sentence: str
) -> None:
    doc = tmp_path / "in.pdf"
    doc.write_bytes(content)
    page, _, prompter = make_page(qtbot, context, approve(demo["citizen_sign"]))
    sign(loop, page, doc)
    assert sentence in page.error.text
    assert prompter.shown == []
    assert doc.read_bytes() == content
    assert files_in(tmp_path) == ["in.pdf"]


def test_the_tsa_down_is_a_plain_message_and_no_file(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    doc = write_pdf(tmp_path)
    page, _, prompter = make_page(
        qtbot, context, approve(demo["citizen_sign"]), "http://127.0.0.1:9/tsp"
    )
    assert page.pdf_options.chosen_level == "b-t"
    sign(loop, page, doc)
    assert "timestamp" in page.error.text.lower()
    assert prompter.of_kind("error") == []  # said once, on the page
    assert files_in(tmp_path) == ["doc.pdf"]


def test_errors_speak_the_page_language(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    doc = tmp_path / "in.pdf"
    doc.write_bytes(encrypted_pdf_bytes())
    context.translator.set_language("kk")
    page, _, _ = make_page(qtbot, context, [])
    sign(loop, page, doc)
    assert "құпиясөзбен қорғалған" in page.error.text
    assert page.pdf.text() == "PDF ішіндегі PDF қолтаңба (PAdES)"


def test_cancel_while_pyhanko_signs_leaves_no_file(
    qtbot, context: AppContext, loop, tmp_path: Path, demo, monkeypatch
) -> None:
    doc = write_pdf(tmp_path)
    started = threading.Event()
    release = threading.Event()
    real = pdf_signing.sign_pdf_file

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf_signing, "sign_pdf_file", slow)
    page, _, _ = make_page(qtbot, context, approve(demo["citizen_sign"]))
    page.add_files([doc])
    page.start()
    assert page.task is not None
    loop.run_until_complete(asyncio.wait_for(asyncio.to_thread(started.wait, 30), 35))
    assert page.progress.maximum() == 0  # one pyHanko step: a busy bar, not a percentage
    page.cancel()
    release.set()
    loop.run_until_complete(asyncio.wait([page.task]))
    assert page.status.text() == "Signing was cancelled; no file was written."
    assert files_in(tmp_path) == ["doc.pdf"]
    assert page.sign_button.isEnabled()


def test_verify_opens_the_verify_page_on_the_signed_pdf(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    doc = write_pdf(tmp_path)
    service = SigningService(ScriptedPrompter(approve(demo["citizen_sign"])))
    window = MainWindow(context, service, ScriptedDialogs())
    qtbot.addWidget(window)
    page = window.sign_page
    assert not page.verify_button.isVisibleTo(page)
    sign(loop, page, doc)
    out = tmp_path / "doc.signed.pdf"
    assert page.verify_button.isVisibleTo(page)
    page.verify_button.click()
    assert window.current_page == "verify"
    assert window.verify_page.signed.text() == str(out)
    qtbot.waitUntil(lambda: window.verify_page.checks == 1, timeout=30000)
    assert window.verify_page.report is not None
    assert window.verify_page.report.file.name == "doc.signed.pdf"


def test_files_handed_over_during_a_job_do_not_change_its_format(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    doc = write_pdf(tmp_path)
    text = tmp_path / "note.txt"
    text.write_text("hello")
    page, _, _ = make_page(qtbot, context, approve(demo["citizen_sign"]))
    page.add_files([doc])
    page.start()
    page.add_files([text])  # a file manager opened it with Qalam meanwhile
    assert page.pdf.isChecked()
    assert not page.pdf.isEnabled()
    assert page.task is not None
    loop.run_until_complete(page.task)
    assert (tmp_path / "doc.signed.pdf").is_file()
    assert page.detached.isChecked()  # the list is no longer PDFs only
    assert not page.pdf.isEnabled()
