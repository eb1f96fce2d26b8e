"""Files opened with Qalam (`qalam app FILE…`, a file manager's "Open with", a second start):
a file that carries a signature goes to Verify, anything else to Sign, and a running Qalam is
handed the files instead of a second one starting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pades_helpers import write_pdf
from pages_support import context_fixture  # noqa: F401

from signer_app import cli
from signer_app.crypto import cms, pades
from signer_app.service.prompter import ScriptedPrompter
from signer_app.service.signing import SigningService
from signer_app.ui.app import AppOptions, QalamApp
from signer_app.ui.context import AppContext
from signer_app.ui.file_routing import carries_signature, route
from signer_app.ui.main_window import MainWindow
from signer_app.ui.single_instance import (
    SingleInstance,
    ask_running_instance,
    handoff,
    parse_handoff,
    server_name,
)
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs

ROOT = Path(__file__).resolve().parents[2]
SIGNED_XML = (
    b'<?xml version="1.0"?><doc><a>1</a><ds:Signature '
    b'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></doc>'
)


@pytest.fixture
def files(tmp_path: Path, demo) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    plain = write_pdf(tmp_path, pages=1, name="plain.pdf")
    signed = pades.sign_pdf(plain, demo["citizen_sign"].open(), tmp_path / "signed.pdf")
    text = tmp_path / "letter.txt"
    text.write_text("hello")
    detached = tmp_path / "letter.txt.sig"
    detached.write_bytes(cms.sign(b"hello", demo["citizen_sign"].open(), detached=True))
    xml = tmp_path / "order.xml"
    xml.write_text("<order><item>1</item></order>")
    signed_xml = tmp_path / "order.signed.xml"
    signed_xml.write_bytes(SIGNED_XML)
    return {
        "plain": plain,
        "signed": signed,
        "text": text,
        "detached": detached,
        "xml": xml,
        "signed_xml": signed_xml,
    }


def test_what_carries_a_signature_is_told_by_content_and_usual_names(files) -> None:
    verdicts = {name: carries_signature(path) for name, path in files.items()}
    assert verdicts == {
        "plain": False,
        "signed": True,
        "text": False,
        "detached": True,
        "xml": False,
        "signed_xml": True,
    }
    assert not carries_signature(files["plain"].with_name("missing.pdf"))


def test_a_detached_signature_goes_to_verify_with_its_original_and_the_rest_to_sign(
    files,
) -> None:
    routing = route([files["text"], files["detached"], files["plain"]])
    assert routing.verify == files["detached"]
    assert routing.original == files["text"]
    assert routing.sign == (files["plain"],)
    assert route([files["plain"], files["xml"]]).verify is None


def window(qtbot, ctx: AppContext) -> MainWindow:  # type: ignore[no-untyped-def]
    main = MainWindow(ctx, SigningService(ScriptedPrompter([])), ScriptedDialogs())
    qtbot.addWidget(main)
    return main


def test_an_unsigned_pdf_opens_on_sign_with_pdf_chosen(qtbot, context: AppContext, files) -> None:
    main = window(qtbot, context)
    main.open_files([files["plain"]])
    assert main.current_page == "sign"
    assert main.sign_page.paths() == [files["plain"]]
    assert main.sign_page.pdf.isChecked()


def test_a_signed_pdf_opens_on_verify_and_is_checked(qtbot, context: AppContext, files) -> None:
    main = window(qtbot, context)
    main.open_files([files["signed"]])
    assert main.current_page == "verify"
    assert main.verify_page.signed.text() == str(files["signed"])
    assert main.verify_page.original.text() == ""
    qtbot.waitUntil(lambda: main.verify_page.checks == 1, timeout=30000)
    assert main.verify_page.report is not None
    assert main.sign_page.paths() == []


def test_qalam_app_with_a_file_opens_the_window_on_sign(loop, tmp_path, files) -> None:
    home = tmp_path / "home"
    context = AppContext.create(home)
    app = QalamApp(context, AppOptions(home, port=0, hidden=True, files=(files["plain"],)))

    async def scenario() -> None:
        await app.start()
        await app.stop()

    loop.run_until_complete(scenario())
    assert app.window.current_page == "sign"
    assert app.window.sign_page.paths() == [files["plain"]]


def test_qalam_app_takes_files_and_resolves_them(monkeypatch, tmp_path) -> None:
    seen: list[Any] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QALAM_HOME", str(tmp_path))
    monkeypatch.setattr("signer_app.ui.app.run_app", lambda options: seen.append(options) or 0)
    assert cli.main(["app", "doc.pdf", "sub/sig.p7s"]) == 0
    assert seen[0].files == (tmp_path / "doc.pdf", tmp_path / "sub" / "sig.p7s")
    assert cli.main(["app"]) == 0
    assert seen[1].files == ()


def test_the_handoff_carries_any_file_name(tmp_path: Path) -> None:
    odd = [tmp_path / "a b.pdf", tmp_path / "line\nbreak.xml", tmp_path / "қолтаңба 100%.sig"]
    show, files = parse_handoff(handoff(odd))
    assert show
    assert files == odd
    assert parse_handoff(b"show\n") == (True, [])
    assert parse_handoff(b"open \nnonsense\n") == (False, [])


def test_a_second_start_with_a_file_hands_it_to_the_first(qtbot, tmp_path: Path) -> None:
    name = server_name(tmp_path)
    assert not ask_running_instance(name)
    first = SingleInstance(name)
    assert first.listen()
    woken: list[bool] = []
    opened: list[list[Path]] = []
    first.activated.connect(lambda: woken.append(True))
    first.files_opened.connect(opened.append)
    doc = tmp_path / "contract 1.pdf"
    # The second start runs in another process, as it does when a file manager starts it.
    code = "from signer_app.ui.single_instance import ask_running_instance as a;import sys;"
    code += "from pathlib import Path;"
    code += f"sys.exit(0 if a({name!r}, [Path({str(doc)!r})]) else 3)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=10000)
    assert proc.returncode == 0
    qtbot.waitUntil(lambda: bool(opened), timeout=5000)
    assert woken == [True]
    assert opened == [[doc]]
    first.close()
