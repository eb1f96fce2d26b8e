"""`qalam serve --scripted` as a real process: the root it prints is what a client trusts."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from api_helpers import basics
from websockets.asyncio.client import connect

from signer_app.cli import main
from signer_app.crypto import cms

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_scripted_subprocess_signs_over_wss(demo, tmp_path):
    key = demo["citizen_sign"]
    script = tmp_path / "answers.json"
    script.write_text(json.dumps({"key": str(key.path), "password": key.password}))
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "signer_app.cli", "serve", "--scripted", str(script)]
    command += ["--data-dir", str(tmp_path / "home"), "--port", str(port)]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
            if line.startswith("Root certificate to trust:"):
                break
        root = tmp_path / "home" / "tls" / "root.pem"
        assert f"wss://127.0.0.1:{port}/" in "".join(lines)
        assert str(root) in lines[-1]

        async def scenario() -> None:
            context = ssl.create_default_context(cafile=str(root))
            async with connect(f"wss://127.0.0.1:{port}/", ssl=context) as ws:
                assert await ws.recv() == '{"result":{"version":"1.4"}}'
                await ws.send(json.dumps(basics()))
                reply = json.loads(await ws.recv())
                assert cms.verify(reply["body"]["result"][0]).valid

        asyncio.run(asyncio.wait_for(scenario(), 20))
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "WARNING: qalam serve --scripted" in err
    assert "method=kz.gov.pki.knca.basics.sign outcome=ok" in err
    assert key.password not in err
    assert proc.returncode == 0


def test_serve_refuses_a_non_loopback_address(tmp_path, capsys):
    code = main(
        [
            "serve",
            "--scripted",
            "x.json",
            "--host",
            "0.0.0.0",  # noqa: S104 - the point of the test
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "loopback" in capsys.readouterr().err


def test_serve_without_tty_or_script_refuses(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    assert "--scripted" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["not json", '{"decision": "maybe"}'])
def test_serve_refuses_a_bad_script(tmp_path, capsys, content):
    script = tmp_path / "s.json"
    script.write_text(content)
    assert main(["serve", "--scripted", str(script), "--data-dir", str(tmp_path)]) == 2


def _serve(tmp_path: Path, key: Any, *extra: str) -> tuple[subprocess.Popen[str], int, Path]:
    """`qalam serve --scripted` approving ``key``, with ``extra`` options; (process, port, root)
    once it listens."""
    folder = tmp_path / f"serve-{free_port()}"
    folder.mkdir()
    script = folder / "answers.json"
    script.write_text(json.dumps({"key": str(key.path), "password": key.password}))
    port = free_port()
    command = [sys.executable, "-m", "signer_app.cli", "serve", "--scripted", str(script)]
    command += ["--data-dir", str(folder / "home"), "--port", str(port), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line or line.startswith("Root certificate to trust:"):
            break
    return proc, port, folder / "home" / "tls" / "root.pem"


def _sign_once(port: int, root: Path) -> dict[str, Any]:
    async def scenario() -> dict[str, Any]:
        context = ssl.create_default_context(cafile=str(root))
        async with connect(f"wss://127.0.0.1:{port}/", ssl=context) as ws:
            await ws.recv()
            await ws.send(json.dumps(basics()))
            reply: dict[str, Any] = json.loads(await ws.recv())
            return reply

    return asyncio.run(asyncio.wait_for(scenario(), 20))


@pytest.mark.parametrize("reachable", [True, False])
def test_serve_url_map_sends_revocation_checks_to_the_mapped_ca(
    demo, bundled_ca, tmp_path, reachable: bool
) -> None:
    """The demo certificates name http://127.0.0.1:8080: mapped to the served CA, it says the
    revoked key is revoked and nothing is signed; mapped to a dead port, the CA cannot be asked
    and the key stays selectable (with a warning), so the signature is made."""
    target = bundled_ca.url if reachable else f"http://127.0.0.1:{free_port()}"
    key = demo["revoked_sign"]
    proc, port, root = _serve(tmp_path, key, "--url-map", f"http://127.0.0.1:8080={target}")
    try:
        reply = _sign_once(port, root)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    if reachable:
        assert reply == {"status": True, "body": {}}, err
    else:
        assert cms.verify(reply["body"]["result"][0]).valid, err


def test_serve_refuses_a_bad_url_map(tmp_path, capsys) -> None:
    script = tmp_path / "s.json"
    script.write_text("{}")
    args = ["serve", "--scripted", str(script), "--data-dir", str(tmp_path)]
    assert main([*args, "--url-map", "127.0.0.1:8080"]) == 2
    assert "FROM=TO" in capsys.readouterr().err
