"""Debian's headless Chromium opens resources/portal/ and signs through a real `qalam serve`.

The page is served by python's http.server on loopback; Chromium trusts our server certificate
through --ignore-certificate-errors-spki-list (the SPKI pin of the generated leaf; the flag is
honoured together with --user-data-dir) and is driven over the DevTools protocol from python
(Runtime.evaluate to click and read, DOM.setFileInputFiles for the file input). The page's
results are then verified here with openssl and xmlsec1: the page itself says "signed", not
"valid", because the local API has no verification method.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from websockets.asyncio.client import connect

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "resources" / "portal"
CHROMIUM = "/usr/bin/chromium"
# Forget the previous outcome, then click: the next signed/error/cancelled state is this click's.
CLICK = "document.body.dataset.state = 'clicked'; document.getElementById('{}').click()"
FILE_CONTENT = "Келісімшарт № 7\nДоговор № 7\nContract no. 7\n".encode()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def portal_url() -> Iterator[str]:
    """resources/portal served on a free loopback port."""
    handler = functools.partial(QuietHandler, directory=str(PORTAL))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()
    httpd.server_close()


def spki_pin(cert_pem: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list takes."""
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class Chromium:
    """A headless Chromium with its DevTools endpoint; one page target."""

    def __init__(self, url: str, profile: Path, pin: str) -> None:
        profile.mkdir()
        self.profile = profile
        command = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--window-size=1000,1100",
            f"--user-data-dir={profile}",
            f"--ignore-certificate-errors-spki-list={pin}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            url,
        ]
        self.log = (profile.parent / "chromium.log").open("w")
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)

    def page_ws_url(self, timeout: float = 20) -> str:
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"chromium exited with {self.proc.returncode}: see {self.log.name}")
            if active.is_file() and active.read_text().strip():
                port = active.read_text().split()[0]
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as reply:
                    targets = json.load(reply)
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.1)
        pytest.fail("chromium's DevTools endpoint did not come up")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


class DevTools:
    """The smallest DevTools protocol client: send a command, wait for its reply."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message["result"])

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_state(self, states: set[str], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = await self.evaluate("(document.body && document.body.dataset.state) || ''")
            if state in states:
                return str(state)
            await asyncio.sleep(0.05)
        status = await self.evaluate("document.getElementById('status').textContent")
        raise AssertionError(f"page state {state!r} (status: {status!r}), wanted {states}")


def verify_cms(openssl: str, der: bytes, chain: Path, tmp: Path, content: bytes | None) -> bytes:
    sig = tmp / f"portal-{hashlib.sha256(der).hexdigest()[:8]}.der"
    sig.write_bytes(der)
    command = [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig)]
    command += ["-CAfile", str(chain), "-purpose", "any", "-out", str(sig) + ".out"]
    if content is not None:
        (tmp / "content.bin").write_bytes(content)
        command += ["-content", str(tmp / "content.bin")]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr
    return Path(str(sig) + ".out").read_bytes()


def pem_to_der(pem: str) -> bytes:
    body = pem.replace("-----BEGIN CMS-----", "").replace("-----END CMS-----", "")
    return base64.b64decode("".join(body.split()))


def test_portal_signs_in_headless_chromium(
    qalam_serve, portal_url, demo, openssl, xmlsec1, trust_chain_pem, tmp_path
):
    import shutil

    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: apt-get install chromium (CI installs it)")
    key = demo["citizen_sign"]
    served = qalam_serve([{"key": str(key.path), "password": key.password}] * 3)
    upload = tmp_path / "contract.txt"
    upload.write_bytes(FILE_CONTENT)
    browser = Chromium(
        f"{portal_url}?port={served.port}", tmp_path / "profile", spki_pin(served.server_pem)
    )
    screenshot = tmp_path / "portal.png"

    async def scenario() -> dict[str, Any]:
        async with connect(browser.page_ws_url(), max_size=64 * 2**20) as ws:
            cdp = DevTools(ws)
            await cdp.wait_state({"ready", "error"})
            assert await cdp.evaluate("document.body.dataset.state") == "ready", await cdp.evaluate(
                "document.getElementById('status').textContent"
            )
            results: dict[str, Any] = {}

            text = await cdp.evaluate("document.getElementById('text').value")
            await cdp.evaluate(CLICK.format("sign-text"))
            await cdp.wait_state({"signed", "error", "cancelled"})
            results["text"] = (text, await cdp.evaluate("window.lastResult"))
            results["text_status"] = await cdp.evaluate(
                "document.getElementById('status').textContent"
            )

            document = await cdp.send("DOM.getDocument")
            node = await cdp.send(
                "DOM.querySelector", nodeId=document["root"]["nodeId"], selector="#file"
            )
            await cdp.send("DOM.setFileInputFiles", files=[str(upload)], nodeId=node["nodeId"])
            await cdp.evaluate(CLICK.format("sign-file"))
            await cdp.wait_state({"signed", "error", "cancelled"})
            results["file"] = await cdp.evaluate("window.lastResult")

            await cdp.evaluate(CLICK.format("sign-xml"))
            await cdp.wait_state({"signed", "error", "cancelled"})
            results["xml"] = await cdp.evaluate("window.lastResult")
            results["status"] = await cdp.evaluate("document.getElementById('status').textContent")

            shot = await cdp.send(
                "Page.captureScreenshot", format="png", captureBeyondViewport=True
            )
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            return results

    try:
        results = asyncio.run(asyncio.wait_for(scenario(), 45))
    finally:
        browser.stop()
    print(f"screenshot: {screenshot}")

    assert screenshot.stat().st_size > 10_000
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The page names the signer it read from the certificate inside each result.
    text, first = results["text"]
    for result in (first, results["file"], results["xml"]):
        assert result is not None
        assert result["signer"]["cn"] == key.name
        assert result["signer"]["iin"] == key.iin
    assert results["text_status"].startswith("Қол қойылды / Подписано / Signed by ")
    assert f"{key.name} (IIN {key.iin})" in results["status"]
    assert "not verified by this page" in results["status"]

    # And what the page got really verifies.
    assert first["kind"] == "CMS attached"
    signed = verify_cms(openssl, pem_to_der(first["result"]), trust_chain_pem, tmp_path, None)
    assert signed == text.encode("utf-8")
    assert results["file"]["kind"] == "CMS detached"
    verify_cms(
        openssl, pem_to_der(results["file"]["result"]), trust_chain_pem, tmp_path, FILE_CONTENT
    )
    xml_path = tmp_path / "portal-signed.xml"
    xml_path.write_bytes(results["xml"]["result"].encode("utf-8"))
    trust: list[str] = []
    for number, cert in enumerate(x509.load_pem_x509_certificates(trust_chain_pem.read_bytes())):
        path = tmp_path / f"trust{number}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        trust += ["--trusted-pem" if cert.subject == cert.issuer else "--untrusted-pem", str(path)]
    done = subprocess.run(
        [xmlsec1, "--verify", *trust, str(xml_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
