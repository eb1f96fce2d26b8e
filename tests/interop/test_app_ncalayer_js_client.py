"""End to end: the desktop app's API, the real ncalayer-js-client, the real dialogs, openssl.

The app (QalamApp: QtPrompter behind the SigningService, the API on a free port) runs in this
process on its qasync loop; node runs tests/node/drive.mjs as a subprocess of that loop and asks
for an attached CMS with the package's own parameter sets; the test acts as the person in the
key chooser and the confirmation dialog; `openssl cms -verify` checks what node got back.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from signer_app.ui.app import AppOptions, QalamApp
from signer_app.ui.context import AppContext
from signer_app.ui.dialogs.confirm import ConfirmDialog
from signer_app.ui.dialogs.key_chooser import KeyChooserDialog

pytestmark = pytest.mark.interop

# The dialogs are driven, not looked at: offscreen unless a display is asked for.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
DATA = "Қол қойылатын құжат / документ / document\n".encode()


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    qapp.setQuitOnLastWindowClosed(False)
    event_loop = qasync.QEventLoop(qapp)
    # Plain worker threads (qasync's QThread pool outlives a closed loop and crashes at exit).
    workers = ThreadPoolExecutor(4)
    event_loop.set_default_executor(workers)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    workers.shutdown(wait=True)
    asyncio.set_event_loop(None)
    # Every dialog and window the test made goes while the QApplication still exists: one
    # left for PySide's exit-time cleanup crashes Qt.
    for widget in qapp.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


async def until(condition: Any, what: str) -> None:
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_node_client_gets_a_cms_the_person_approved_and_openssl_verifies_it(
    loop, tmp_path, demo, node_modules, openssl, trust_chain_pem
) -> None:
    key = demo["citizen_sign"]
    home = tmp_path / "home"
    context = AppContext.create(home, preselected_keys=(key.path, demo["citizen_auth"].path))
    context.translator.set_language("en")
    app = QalamApp(context, AppOptions(home, context.preselected_keys, port=0, hidden=True))
    seen: dict[str, Any] = {}

    async def node() -> dict[str, Any]:
        plan = {
            "url": f"wss://127.0.0.1:{app.port}",
            "steps": [
                {
                    "name": "cms",
                    "call": "basicsSignCMS",
                    "params": [
                        "!!basicsStoragePKCS12",
                        base64.b64encode(DATA).decode(),
                        {"decode": True, "encapsulate": True},
                        "!!basicsSignerSignAny",
                    ],
                }
            ],
        }
        env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(app.tls.root_pem)}
        proc = await asyncio.create_subprocess_exec(
            "node",
            "drive.mjs",
            cwd=NODE_DIR,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(json.dumps(plan).encode())
        assert proc.returncode == 0, err.decode()
        return dict(json.loads(out))

    async def person() -> None:
        prompter = app.prompter
        await until(lambda: isinstance(prompter.current, KeyChooserDialog), "the key chooser")
        chooser = prompter.current
        assert isinstance(chooser, KeyChooserDialog)
        seen["asker"] = chooser.origin_label.text()
        item = chooser.item_for(key.path)
        assert item is not None
        chooser.key_list.setCurrentItem(item)
        QTest.keyClicks(chooser.password_edit, key.password)
        QTest.keyClick(chooser.password_edit, Qt.Key.Key_Return)
        await until(lambda: isinstance(prompter.current, ConfirmDialog), "the confirmation")
        confirm = prompter.current
        assert isinstance(confirm, ConfirmDialog)
        seen["preview"] = confirm.preview.toPlainText()
        seen["key"] = confirm.card.text()
        confirm.sign_button.click()

    async def scenario() -> dict[str, Any]:
        await app.start()
        try:
            result, _ = await asyncio.wait_for(asyncio.gather(node(), person()), 60)
            return result
        finally:
            await app.stop()

    result = loop.run_until_complete(scenario())
    (step,) = result["steps"]
    assert step["ok"], step
    assert seen["preview"] == DATA.decode().strip()
    assert "ЖҰМАБЕКОВ" in seen["key"]
    # node sends no Origin header: the dialogs name a local program.
    assert seen["asker"] == "A program on this computer"
    signed = step["result"][0] if isinstance(step["result"], list) else step["result"]
    body = signed.replace("-----BEGIN CMS-----", "").replace("-----END CMS-----", "")
    der = base64.b64decode("".join(body.split()))
    sig = tmp_path / "sig.der"
    sig.write_bytes(der)
    out = tmp_path / "content.bin"
    command = [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig)]
    command += ["-CAfile", str(trust_chain_pem), "-purpose", "any", "-out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr
    assert out.read_bytes() == DATA
