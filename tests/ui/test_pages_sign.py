"""Sign page: files signed next to the originals through the service, progress, cancel without
a partial file, no silent overwrite, bad input as a plain message."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from pages_support import context_fixture  # noqa: F401
from PySide6.QtWidgets import QApplication

from signer_app.crypto import cms
from signer_app.service.prompter import ScriptedAnswer, ScriptedPrompter
from signer_app.service.signing import SigningService
from signer_app.ui.context import AppContext
from signer_app.ui.pages import sign as sign_module
from signer_app.ui.pages.sign import SignPage
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs


def make_page(
    qtbot, ctx: AppContext, answers
) -> tuple[SignPage, ScriptedDialogs, ScriptedPrompter]:  # type: ignore[no-untyped-def]
    prompter = ScriptedPrompter(answers)
    dialogs = ScriptedDialogs()
    page = SignPage(ctx, SigningService(prompter), dialogs)
    qtbot.addWidget(page)
    return page, dialogs, prompter


def finish(loop: asyncio.AbstractEventLoop, page: SignPage) -> None:
    assert page.task is not None
    loop.run_until_complete(page.task)


def approve(key) -> ScriptedAnswer:  # type: ignore[no-untyped-def]
    return ScriptedAnswer(key=key.path, password=key.password)


def test_dropped_files_are_signed_next_to_the_originals(
    qtbot,
    context: AppContext,
    loop,
    tmp_path: Path,
    demo,
) -> None:
    doc = tmp_path / "report.pdf"
    doc.write_bytes(b"%PDF-1.7 quarterly report")
    page, _, prompter = make_page(qtbot, context, approve(demo["citizen_sign"]))
    page.files.dropped.emit([doc])
    page.attached.setChecked(True)
    page.start()
    assert page.busy
    finish(loop, page)
    out = tmp_path / "report.pdf.cms"
    assert cms.verify(out.read_bytes()).content == doc.read_bytes()
    assert page.results.item(0).text() == str(out)
    assert page.status.text() == f"Signed: {out}"
    assert prompter.of_kind("confirm")[0].origin is None
    assert page.sign_button.isEnabled()


def test_large_file_shows_progress_and_cancel_leaves_no_file(
    qtbot,
    context: AppContext,
    loop,
    tmp_path: Path,
    demo,
    monkeypatch,
) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        handle.truncate(16 << 20)  # 16 chunks
    page, _, _ = make_page(qtbot, context, approve(demo["citizen_sign"]))
    page.add_files([big])
    seen: list[int] = []
    shown: list[bool] = []
    cancelled = threading.Event()
    original = page._progress_for

    def held_progress():  # type: ignore[no-untyped-def]
        report = original()

        def hold(done: int, total: int) -> None:
            report(done, total)
            cancelled.wait(5)  # the worker waits mid-file until the person presses Cancel

        return hold

    monkeypatch.setattr(page, "_progress_for", held_progress)

    def moved(permille: int) -> None:
        seen.append(permille)
        if not cancelled.is_set():
            shown.append(page.progress.isVisibleTo(page) and page.cancel_button.isVisibleTo(page))
            page.cancel_button.click()
            cancelled.set()

    page._relay.moved.connect(moved)
    page.start()
    finish(loop, page)
    assert seen
    assert 0 < seen[0] < sign_module.PROGRESS_STEPS
    assert shown == [True]
    assert page.status.text() == "Signing was cancelled; no file was written."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]
    assert not page.progress.isVisibleTo(page)


def test_an_existing_signature_is_replaced_only_when_agreed(
    qtbot,
    context: AppContext,
    loop,
    tmp_path: Path,
    demo,
) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("hello")
    old = tmp_path / "a.txt.sig"
    old.write_bytes(b"older signature")
    page, dialogs, prompter = make_page(qtbot, context, approve(demo["citizen_sign"]))
    page.add_files([doc])
    dialogs.answers.append(False)
    page.start()
    finish(loop, page)
    assert old.read_bytes() == b"older signature"
    assert "skipped" in page.status.text()
    assert prompter.shown == []

    dialogs.answers.append(True)
    page.start()
    finish(loop, page)
    assert cms.verify(old.read_bytes(), doc.read_bytes()).valid


def test_empty_file_is_a_plain_message(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    page, _, prompter = make_page(qtbot, context, approve(demo["citizen_sign"]))
    page.add_files([empty])
    page.start()
    finish(loop, page)
    assert "empty" in page.error.text
    assert prompter.shown == []
    assert not (tmp_path / "empty.txt.sig").exists()


def test_refusing_in_the_dialog_writes_nothing(
    qtbot, context: AppContext, loop, tmp_path: Path, demo
) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("hello")
    no = ScriptedAnswer(key=demo["citizen_sign"].path, password="Qwerty12", decision="cancel")
    page, _, _ = make_page(qtbot, context, no)
    page.add_files([doc])
    page.start()
    finish(loop, page)
    assert page.status.text() == "Signing was cancelled; no file was written."
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]


def test_timestamp_needs_a_tsa_and_xml_may_be_stamped(qtbot, context: AppContext) -> None:
    page, _, _ = make_page(qtbot, context, [])
    assert not page.timestamp.isEnabled()
    assert page.no_tsa.isVisibleTo(page)
    page.service.tsa = object()  # type: ignore[assignment]
    page.retranslate()
    assert page.timestamp.isEnabled()
    page.xml.setChecked(True)
    assert page.timestamp.isEnabled()  # a XAdES-T
    assert QApplication.instance() is not None
