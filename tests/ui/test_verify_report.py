"""The Verify page's "Save report…": the file dialog's choice gets the printable report (PDF or
HTML in the page's language), an existing file is replaced only when the person says so, and
the button waits for a report."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pages_support import context_fixture  # noqa: F401
from validation_helpers import RunningCa

from signer_app.crypto import cms
from signer_app.ui.context import AppContext
from signer_app.ui.pages.verify import VerifyPage
from signer_app.ui.pages.verify_model import VerifySettings
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs


def checked_page(qtbot, context: AppContext, ca: RunningCa, signed: Path) -> VerifyPage:  # type: ignore[no-untyped-def]
    page = VerifyPage(
        context, ScriptedDialogs(), settings=VerifySettings(context.data_dir, rewrites=ca.rewrites)
    )
    qtbot.addWidget(page)
    assert not page.save_button.isEnabled()
    page.signed.setText(str(signed))
    page.start()
    qtbot.waitUntil(lambda: page.checks > 0)
    assert page.save_button.isEnabled()
    return page


def test_save_report_writes_the_pdf_the_dialog_names(
    qtbot, context: AppContext, tmp_path: Path, citizen_sign, bundled_ca: RunningCa
) -> None:
    signed = tmp_path / "a.txt.cms"
    signed.write_bytes(cms.sign(b"hello", citizen_sign))
    page = checked_page(qtbot, context, bundled_ca, signed)
    target = tmp_path / "report.pdf"
    page.dialogs.answers.append(target)
    page.save_button.click()
    assert target.read_bytes().startswith(b"%PDF")
    assert str(target) in page.saved.text()


def test_save_report_as_html_in_the_pages_language(
    qtbot, context: AppContext, tmp_path: Path, citizen_sign, bundled_ca: RunningCa
) -> None:
    signed = tmp_path / "a.txt.cms"
    signed.write_bytes(cms.sign(b"hello", citizen_sign))
    page = checked_page(qtbot, context, bundled_ca, signed)
    context.translator.set_language("ru")
    target = tmp_path / "report.html"
    page.dialogs.answers.append(target)
    page.save_button.click()
    html = target.read_text(encoding="utf-8")
    assert "Действительна" in html
    assert hashlib.sha256(signed.read_bytes()).hexdigest() in html


def test_an_existing_file_is_kept_unless_the_person_agrees(
    qtbot, context: AppContext, tmp_path: Path, citizen_sign, bundled_ca: RunningCa
) -> None:
    signed = tmp_path / "a.txt.cms"
    signed.write_bytes(cms.sign(b"hello", citizen_sign))
    page = checked_page(qtbot, context, bundled_ca, signed)
    target = tmp_path / "old.html"
    target.write_text("keep me", encoding="utf-8")
    page.dialogs.answers.extend([target, False])
    page.save_button.click()
    assert target.read_text(encoding="utf-8") == "keep me"
    page.dialogs.answers.extend([target, True])
    page.save_button.click()
    assert "<!DOCTYPE html>" in target.read_text(encoding="utf-8")


def test_a_cancelled_dialog_writes_nothing(
    qtbot, context: AppContext, tmp_path: Path, citizen_sign, bundled_ca: RunningCa
) -> None:
    signed = tmp_path / "a.txt.cms"
    signed.write_bytes(cms.sign(b"hello", citizen_sign))
    page = checked_page(qtbot, context, bundled_ca, signed)
    page.dialogs.answers.append(None)
    page.save_button.click()
    assert page.saved.text() == ""
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["a.txt.cms"]


def test_a_folder_that_cannot_be_written_shows_the_error(
    qtbot, context: AppContext, tmp_path: Path, citizen_sign, bundled_ca: RunningCa
) -> None:
    signed = tmp_path / "a.txt.cms"
    signed.write_bytes(cms.sign(b"hello", citizen_sign))
    page = checked_page(qtbot, context, bundled_ca, signed)
    page.dialogs.answers.append(tmp_path / "missing" / "r.pdf")
    page.save_button.click()
    assert page.saved.text() == ""
    assert page.error.isVisibleTo(page)
