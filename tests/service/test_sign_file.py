"""SigningService.sign_file: a local file signed through the same key choice and confirmation,
streamed, with progress, cancellable, and never leaving a partial output file."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tsa_helpers import http_tsa

from signer_app.crypto import cms, xmldsig
from signer_app.crypto.errors import FileIOError, FileNotFound, InvalidInput
from signer_app.service import file_signing
from signer_app.service.errors import ActionCanceled, NotAvailable
from signer_app.service.file_signing import OutputExists, output_path
from signer_app.service.prompter import ScriptedAnswer, ScriptedPrompter, SignRequestView
from signer_app.service.request_log import RequestLog
from signer_app.service.signing import KeyQuery, SigningService
from signer_app.service.tsa_client import HttpTsa

T = TypeVar("T")
LOCAL = KeyQuery(None)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def approve(key: Any) -> ScriptedAnswer:
    return ScriptedAnswer(key=key.path, password=key.password)


def leftovers(folder: Path) -> list[str]:
    """Temporary files a job might have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(os.urandom(3 << 20) + b"end")  # a few chunks
    return path


def test_output_names_say_what_they_hold() -> None:
    assert output_path(Path("/d/report.pdf"), "cms", detached=False).name == "report.pdf.cms"
    assert output_path(Path("/d/report.pdf"), "cms", detached=True).name == "report.pdf.sig"
    assert output_path(Path("/d/doc.xml"), "xml", detached=False).name == "doc.signed.xml"
    assert output_path(Path("/d/doc.txt"), "xml", detached=False).name == "doc.txt.signed.xml"


def test_detached_file_is_streamed_with_progress_and_verifies(demo, report: Path) -> None:
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))
    service = SigningService(prompter)
    seen: list[tuple[int, int]] = []
    out = output_path(report, "cms", detached=True)

    written = run(
        service.sign_file(
            LOCAL, report, out, detached=True, progress=lambda d, t: seen.append((d, t))
        )
    )

    assert written == out
    result = cms.verify(out.read_bytes(), report.read_bytes())
    assert result.valid
    assert result.detached
    size = report.stat().st_size
    assert seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    (confirm,) = prompter.of_kind("confirm")
    assert isinstance(confirm, SignRequestView)
    assert confirm.origin is None
    assert confirm.detached
    assert confirm.documents[0].name == str(report)
    assert confirm.documents[0].size == size
    assert leftovers(report.parent) == []


def test_attached_cms_holds_the_document(demo, tmp_path: Path) -> None:
    doc = tmp_path / "note.txt"
    doc.write_text("Сәлем, әлем", encoding="utf-8")
    service = SigningService(ScriptedPrompter(approve(demo["citizen_sign"])))
    out = run(service.sign_file(LOCAL, doc, output_path(doc, "cms", False)))
    result = cms.verify(out.read_bytes())
    assert result.valid
    assert result.content == doc.read_bytes()


def test_xml_is_signed_inside_the_document(demo, tmp_path: Path) -> None:
    doc = tmp_path / "doc.xml"
    doc.write_text("<root><a>1</a></root>", encoding="utf-8")
    service = SigningService(ScriptedPrompter(approve(demo["citizen_sign"])))
    out = run(service.sign_file(LOCAL, doc, output_path(doc, "xml", False), fmt="xml"))
    assert out.name == "doc.signed.xml"
    assert xmldsig.verify_xml(out.read_bytes()).valid


def test_timestamped_signature_carries_a_token(demo, report: Path) -> None:
    with http_tsa() as (url, queries):
        service = SigningService(ScriptedPrompter(approve(demo["citizen_sign"])), tsa=HttpTsa(url))
        out = run(
            service.sign_file(
                LOCAL, report, report.with_suffix(".sig"), detached=True, timestamp=True
            )
        )
    assert len(queries) == 1
    (signer,) = cms.verify(out.read_bytes(), report.read_bytes()).signers
    assert signer.valid
    assert signer.timestamp_time is not None


def test_a_timestamped_xml_document_becomes_a_xades_t(demo, tmp_path: Path) -> None:
    from signer_app.crypto import xades

    doc = tmp_path / "doc.xml"
    doc.write_text("<root><a>1</a></root>", encoding="utf-8")
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))
    with http_tsa() as (url, queries):
        service = SigningService(prompter, tsa=HttpTsa(url))
        out = run(
            service.sign_file(LOCAL, doc, output_path(doc, "xml", False), fmt="xml", timestamp=True)
        )
    assert len(queries) == 1
    checked = xmldsig.verify_xml(out.read_bytes())
    assert checked.valid
    (found,) = xades.inspect(out.read_bytes(), [s.certificate for s in checked.signatures])
    assert not found.problems
    assert len(found.timestamp_tokens) == 1
    (request,) = prompter.of_kind("confirm")
    assert isinstance(request, SignRequestView)
    assert request.signature_format == "XAdES-T"


def test_timestamp_without_a_tsa_is_refused_before_any_dialog(demo, report: Path) -> None:
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))
    with pytest.raises(NotAvailable):
        run(
            SigningService(prompter).sign_file(
                LOCAL, report, report.with_suffix(".s"), timestamp=True, detached=True
            )
        )
    assert prompter.shown == []


def test_cancel_flag_stops_the_job_and_leaves_no_file(demo, report: Path) -> None:
    stop = threading.Event()
    service = SigningService(ScriptedPrompter(approve(demo["citizen_sign"])))
    out = output_path(report, "cms", detached=True)

    with pytest.raises(ActionCanceled):
        run(
            service.sign_file(
                LOCAL,
                report,
                out,
                detached=True,
                progress=lambda d, t: stop.set(),
                cancel=stop.is_set,
            )
        )

    assert not out.exists()
    assert leftovers(report.parent) == []


def test_cancelling_the_task_mid_file_leaves_no_file(demo, report: Path) -> None:
    service = SigningService(ScriptedPrompter(approve(demo["citizen_sign"])))
    out = output_path(report, "cms", detached=True)
    release = threading.Event()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        started = asyncio.Event()

        def progress(done: int, total: int) -> None:
            if not started.is_set():
                loop.call_soon_threadsafe(started.set)
                release.wait(10)  # hold the worker mid-file until the task is cancelled

        task = asyncio.create_task(
            service.sign_file(LOCAL, report, out, detached=True, progress=progress)
        )
        await started.wait()
        task.cancel()
        for _ in range(3):
            await asyncio.sleep(0)  # the task sees the cancel and tells the worker to stop
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())
    assert not out.exists()
    assert leftovers(report.parent) == []


def test_refusal_at_confirmation_writes_nothing(demo, report: Path) -> None:
    no = ScriptedAnswer(key=demo["citizen_sign"].path, password="Qwerty12", decision="cancel")
    out = output_path(report, "cms", detached=True)
    with pytest.raises(ActionCanceled):
        run(SigningService(ScriptedPrompter(no)).sign_file(LOCAL, report, out, detached=True))
    assert not out.exists()
    assert leftovers(report.parent) == []


def test_existing_output_is_kept_unless_replacing_was_agreed(demo, report: Path) -> None:
    out = output_path(report, "cms", detached=True)
    out.write_bytes(b"precious")
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))
    with pytest.raises(OutputExists) as caught:
        run(SigningService(prompter).sign_file(LOCAL, report, out, detached=True))
    assert prompter.shown == []
    assert out.read_bytes() == b"precious"
    assert str(out) in caught.value.message("kk")

    run(SigningService(prompter).sign_file(LOCAL, report, out, detached=True, overwrite=True))
    assert cms.verify(out.read_bytes(), report.read_bytes()).valid


def _refuse_to_open(monkeypatch: pytest.MonkeyPatch, refused: Path) -> None:
    """Make opening `refused` fail as a file without read permission does for a normal user."""
    real_open = Path.open

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == refused:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)


@pytest.mark.parametrize("case", ["missing", "empty", "folder", "unreadable"])
def test_bad_input_is_refused_before_any_dialog(
    demo, tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "input.bin"
    expected: type[Exception] = InvalidInput
    if case == "missing":
        expected = FileNotFound
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"secret")
        path.chmod(0)
        if os.geteuid() == 0:  # root reads any file (CI runs as root): the OS refusal is faked
            _refuse_to_open(monkeypatch, path)
        expected = FileIOError
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))
    with pytest.raises(expected):
        run(SigningService(prompter).sign_file(LOCAL, path, tmp_path / "o.sig", detached=True))
    assert prompter.shown == []


def test_attached_signature_of_a_huge_file_asks_for_detached(
    demo, report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_signing, "MAX_IN_MEMORY", 1 << 20)
    with pytest.raises(InvalidInput) as caught:
        run(SigningService(ScriptedPrompter([])).sign_file(LOCAL, report, report.with_suffix(".c")))
    assert "detached" in caught.value.message("en")


def test_sign_file_goes_to_the_request_log(demo, report: Path, tmp_path: Path) -> None:
    service = SigningService(ScriptedPrompter([approve(demo["citizen_sign"])]))
    service.request_log = RequestLog(tmp_path / "data")
    run(service.sign_file(LOCAL, report, report.with_suffix(".sig"), detached=True))
    with pytest.raises(ActionCanceled):  # the script is used up: the next request is refused
        run(service.sign_file(LOCAL, report, report.with_suffix(".sig2"), detached=True))
    refused, done = service.request_log.entries()
    assert (done.outcome, done.kind, done.count, done.origin) == ("done", "cms", 1, None)
    assert done.key_owner
    assert demo["citizen_sign"].name.split()[0] in done.key_owner
    assert refused.outcome == "refused"
    assert refused.key_owner is None
