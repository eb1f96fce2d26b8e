"""Under Xvfb (a real X server, Qt's xcb platform) the dialogs are drawn and saved as PNGs.

The test runs this file as a script under `xvfb-run` with QT_QPA_PLATFORM=xcb, so the pictures
come from the X server (QScreen.grabWindow), not from Qt painting into memory. It renders the
key chooser (with a token present), the confirmation dialog, the main window, *My keys* with
a token and *Sign* with a PDF's options in kk, ru and en into
test-artifacts/screenshots/ (kept by CI as artefacts) and fails if an image is blank.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "screenshots"
SHOTS = ("key_chooser", "confirm", "main_window", "my_keys_token", "sign_pdf")


def test_dialogs_render_under_xvfb_in_three_languages() -> None:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        pytest.fail("xvfb-run is not installed: run scripts/setup.sh (package xvfb)")
    shutil.rmtree(OUT, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    done = subprocess.run(
        [xvfb_run, "-a", "-s", "-screen 0 1280x1024x24", sys.executable, __file__, str(OUT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"rendering failed:\n{done.stdout}\n{done.stderr}"
    for language in ("kk", "ru", "en"):
        for name in SHOTS:
            path = OUT / f"{name}.{language}.png"
            assert path.is_file(), f"{path.name} was not written:\n{done.stderr}"
    report = done.stdout
    assert "blank" not in report, report


# --------------------------------------------------------------------------- the renderer


def _colours(image: object) -> int:
    """How many distinct colours a sample of the image holds (1 means blank)."""
    from PySide6.QtGui import QImage

    assert isinstance(image, QImage)
    seen = set()
    step = max(1, min(image.width(), image.height()) // 60)
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            seen.add(image.pixel(x, y))
    return len(seen)


def _sign_pdf_window(context: Any) -> Any:
    """The main window on *Sign* with a PDF listed: PAdES, level, stamp page and corner."""
    import tempfile

    from signer_app.service.prompter import ScriptedPrompter
    from signer_app.service.signing import SigningService
    from signer_app.service.tsa_client import HttpTsa
    from signer_app.ui.main_window import MainWindow

    pdf = Path(tempfile.mkdtemp()) / "шарт.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    service = SigningService(ScriptedPrompter([]), tsa=HttpTsa("http://127.0.0.1:9/tsp"))
    window = MainWindow(context, service)
    window.sign_page.add_files([pdf])
    window.sign_page.pdf_options.stamp.setChecked(True)
    window.show_page("sign")
    return window


def render(out: Path) -> int:
    """Show each dialog on the X server, grab it, save it; 1 if any picture is blank."""
    import json
    from dataclasses import replace

    from PySide6.QtWidgets import QApplication, QWidget

    from signer_app.crypto.identity import identity_of
    from signer_app.crypto.keystores import open_pkcs12
    from signer_app.crypto.pkcs11 import PinState, TokenInfo
    from signer_app.crypto.revocation import RevocationStatus
    from signer_app.service.prompter import (
        DocumentView,
        KeyRequest,
        KeyType,
        KeyView,
        SignRequestView,
    )
    from signer_app.service.signing import SigningService
    from signer_app.service.tokens import PresentToken, TokenRegistry
    from signer_app.ui.context import AppContext
    from signer_app.ui.dialogs.confirm import ConfirmDialog
    from signer_app.ui.dialogs.key_chooser import KeyChooserDialog
    from signer_app.ui.main_window import MainWindow
    from signer_app.ui.pages.keys import KeysPage
    from signer_app.ui.prompter import QtPrompter
    from signer_app.ui.widgets.page_dialogs import ScriptedDialogs
    from signer_app.ui.widgets.token_watch import TokenSnapshot, TokenWatch

    app = QApplication([sys.argv[0]])
    out.mkdir(parents=True, exist_ok=True)
    index = {k["id"]: k for k in json.loads((ROOT / "certs/demo/index.json").read_text())}
    sign_key, auth_key = (
        ROOT / "certs" / index[i]["path"] for i in ("citizen_sign", "citizen_auth")
    )
    entry = open_pkcs12(sign_key, index["citizen_sign"]["password"]).entry
    identity = identity_of(entry.certificate)
    import tempfile

    context = AppContext.create(Path(tempfile.mkdtemp()), preselected_keys=(sign_key, auth_key))
    xml = '<?xml version="1.0" encoding="UTF-8"?><өтініш><аты>Жұмабеков Асхат</аты></өтініш>'
    view = SignRequestView(
        "https://egov.example.kz",
        "xml",
        (DocumentView.of(xml.encode(), "xml", None),),
        KeyView(str(sign_key), entry.alias, identity),
    )
    request = KeyRequest(
        "https://egov.example.kz",
        "sign",
        ("PKCS12", "AKKaztokenStore"),
        KeyType.SIGNATURE,
        ("be a SIGN key", "be valid now"),
    )
    # A token as the watcher would report it (no driver is loaded to draw a picture).
    info = TokenInfo("libkaztoken.so", 0, "Kaztoken", "0A1B2C3D", "Kaztoken", "v2", PinState.OK)
    token = PresentToken("AKKaztokenStore", info)
    watch = TokenWatch(TokenRegistry(environ={}, platform="linux"))
    token_context = replace(context, token_watch=watch)
    unknown = RevocationStatus("unknown", "none")
    failed = 0
    for language in ("kk", "ru", "en"):
        context.translator.set_language(language)
        chooser = KeyChooserDialog(
            context.translator, request, (sign_key, auth_key), tokens=(token,)
        )
        chooser.set_identity(sign_key, identity)
        chooser.key_list.setCurrentRow(0)
        widgets: dict[str, QWidget] = {
            "key_chooser": chooser,
            "confirm": ConfirmDialog(context.translator, view),
            "main_window": MainWindow(context, SigningService(QtPrompter(context))),
            "my_keys_token": KeysPage(token_context, ScriptedDialogs(), lambda *_: unknown),
            "sign_pdf": _sign_pdf_window(context),
        }
        watch.changed.emit(TokenSnapshot((token,)))
        for name, widget in widgets.items():
            widget.show()
            widget.raise_()
            for _ in range(20):
                app.processEvents()
            screen = widget.screen()
            picture = screen.grabWindow(widget.winId()) if screen else widget.grab()
            if picture.isNull():
                picture = widget.grab()
            path = out / f"{name}.{language}.png"
            picture.save(str(path))
            colours = _colours(picture.toImage())
            state = "ok" if colours > 8 else "blank"
            failed |= state == "blank"
            print(f"{path.name}: {picture.width()}x{picture.height()}, {colours} colours, {state}")
            widget.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    status = render(Path(sys.argv[1]))
    sys.stdout.flush()
    # Tearing down PySide's widget tree at interpreter exit can crash under xcb; the pictures
    # are written and the verdict printed, so leave without that teardown.
    os._exit(status)
