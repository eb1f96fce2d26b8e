"""The diagnostics page over HTTPS, trusting the generated root (GET / and /diagnostics.json)."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from signer_app import __version__
from signer_app.api import trust
from signer_app.api.dispatch import Dispatcher
from signer_app.api.server import ApiServer, ServerConfig
from signer_app.api.tls import ensure_tls
from signer_app.service.origins import OriginPolicy
from signer_app.service.prompter import ScriptedAnswer, ScriptedPrompter
from signer_app.service.settings import SettingsStore
from signer_app.service.signing import SigningService
from signer_app.service.tsa_client import HttpTsa


def fetch(url: str, context: ssl.SSLContext, host: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
            body = response.read().decode("utf-8")
            return response.status, response.headers["Content-Type"], body
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode("utf-8")


@pytest.mark.parametrize("trusted", [False, True])
def test_diagnostics_page_and_json(demo, tmp_path, monkeypatch, trusted):
    if shutil.which("certutil") is None:
        pytest.fail("certutil is not installed: run scripts/setup.sh (CI installs it)")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    data = tmp_path / "data"
    files = ensure_tls(data)
    if trusted:
        trust.install(files.root_pem)
    key = demo["citizen_sign"]
    policy = OriginPolicy(SettingsStore(data))
    policy.block("https://evil.example")
    service = SigningService(
        ScriptedPrompter(ScriptedAnswer(key.path, key.password)),
        tsa=HttpTsa("http://127.0.0.1:9/tsp"),
        origins=policy,
    )
    server = ApiServer(Dispatcher(service), ServerConfig(port=0, also_ipv6=False), files)
    context = ssl.create_default_context(cafile=str(files.root_pem))

    async def scenario() -> None:
        await server.start()
        try:
            base = f"https://127.0.0.1:{server.bound_port()}"
            status, kind, page = await asyncio.to_thread(fetch, base + "/", context)
            assert status == 200
            assert kind == "text/html; charset=utf-8"
            status, kind, text = await asyncio.to_thread(fetch, base + "/diagnostics.json", context)
            assert status == 200
            assert kind.startswith("application/json")
            report = json.loads(text)
            root = trust.load_root(files.root_pem)
            assert report["version"] == __version__
            assert report["data_dir"] == str(data)
            assert report["tls"]["root_sha256"] == trust.fingerprint(root)
            assert report["tls"]["nssdb"]["state"] == ("trusted" if trusted else "no database")
            assert report["tsa_url"] == "http://127.0.0.1:9/tsp"
            assert report["storages"]["files"] == ["PKCS12"]
            assert report["sockets"]["max"] == 64
            assert report["origins_blocked"] == 1
            for shown in (trust.fingerprint(root), str(data), "http://127.0.0.1:9/tsp"):
                assert shown in page
            assert ("trusted in ~/.pki/nssdb" if trusted else "qalam trust install") in page
            for secret in (key.password, "evil.example", "PRIVATE KEY"):
                assert secret not in page
                assert secret not in text
            localhost = f"https://localhost:{server.bound_port()}/diagnostics.json"
            assert (await asyncio.to_thread(fetch, localhost, context))[0] == 200
            missing = await asyncio.to_thread(fetch, base + "/etc/passwd", context)
            assert missing[0] == 404
            foreign = await asyncio.to_thread(fetch, base + "/", context, "evil.example")
            assert foreign[0] == 403
            assert "root_sha256" not in foreign[2]
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_page_without_tls_files_still_renders(tmp_path):
    from signer_app.api import diagnostics

    server = ApiServer(Dispatcher(SigningService(ScriptedPrompter([]))), ServerConfig(port=0), None)
    report = diagnostics.collect(server, home=Path(tmp_path))
    assert report["tls"] == {"enabled": False}
    assert report["tsa_url"] is None
    assert "<h1>Qalam is running</h1>" in diagnostics.to_html(report)
