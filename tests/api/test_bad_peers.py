"""Bad input at the socket level: 200 sockets at once, and a peer that is not loopback.

Loopback by design: every 127.0.0.0/8 address (and ::1) is this machine, so a client bound to
127.0.0.2 is served. A non-loopback peer is refused with 403 "You shall not pass!" before the
handshake: tested with a mocked peer address at the handshake layer, and for real in a network
namespace where a client bound to a veth address (10.213.x.x, inside the namespace only)
connects to the server's 127.0.0.1, so the kernel reports a non-loopback peer.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from api_helpers import approve, basics
from websockets.asyncio.client import connect
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Request

from signer_app.api.dispatch import Dispatcher
from signer_app.api.server import ApiServer, ServerConfig
from signer_app.api.tls import ensure_tls
from signer_app.crypto import cms
from signer_app.service.prompter import ScriptedPrompter
from signer_app.service.signing import SigningService

ROOT = Path(__file__).resolve().parents[2]
GREETING = '{"result":{"version":"1.4"}}'


def test_200_sockets_at_once(demo, tmp_path):
    files = ensure_tls(tmp_path)
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))
    limit = 64
    server = ApiServer(
        Dispatcher(SigningService(prompter)),
        ServerConfig(port=0, also_ipv6=False, max_connections=limit),
        files,
    )
    context = ssl.create_default_context(cafile=str(files.root_pem))

    async def scenario() -> None:
        await server.start()
        url = f"wss://127.0.0.1:{server.bound_port()}/"
        held: list[Any] = []

        async def one() -> str:
            try:
                ws = await connect(url, ssl=context, open_timeout=20)
            except InvalidStatus as refused:
                body = bytes(refused.response.body or b"").decode()
                return f"{refused.response.status_code} {body.strip()}"
            held.append(ws)
            assert await asyncio.wait_for(ws.recv(), 10) == GREETING
            return "greeted"

        try:
            outcomes = await asyncio.gather(*(one() for _ in range(200)))
            assert outcomes.count("greeted") == limit
            assert outcomes.count("503 Too many connections") == 200 - limit
            # The admitted ones keep working while the others were refused ...
            await held[0].send("--heartbeat--")
            assert await asyncio.wait_for(held[0].recv(), 5) == "--heartbeat--"
            await held[1].send(json.dumps(basics()))
            reply = json.loads(await asyncio.wait_for(held[1].recv(), 20))
            assert cms.verify(reply["body"]["result"][0]).valid
            # ... and once they close, new sockets are admitted again.
            await asyncio.gather(*(ws.close() for ws in held))
            await asyncio.sleep(0.2)
            async with connect(url, ssl=context) as again:
                assert await again.recv() == GREETING
            assert server.active == 1
        finally:
            await asyncio.gather(*(ws.close() for ws in held), return_exceptions=True)
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert len(prompter.of_kind("confirm")) == 1


def _request(host: str) -> Request:
    return Request("/", Headers({"Host": host, "Connection": "Upgrade", "Upgrade": "websocket"}))


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("10.213.0.2", False),
        ("192.168.1.5", False),
        ("::ffff:10.0.0.1", False),
        ("fe80::1", False),
        ("", False),
    ],
)
def test_peer_check_at_the_handshake_layer(peer, allowed):
    server = ApiServer(
        Dispatcher(SigningService(ScriptedPrompter([]))), ServerConfig(port=13579), None
    )
    server.ports = {13579}
    responses: list[tuple[int, str]] = []

    def respond(status: int, text: str) -> tuple[int, str]:
        responses.append((int(status), text))
        return int(status), text

    class FakeConnection:  # weak-referenceable, like ServerConnection
        remote_address = (peer, 40000) if peer else None

    connection = FakeConnection()
    connection.respond = respond  # type: ignore[attr-defined]
    result = asyncio.run(server._process_request(connection, _request("127.0.0.1:13579")))  # type: ignore[arg-type]
    if allowed:
        assert result is None
    else:
        assert result == (403, "You shall not pass!\n")


def test_a_client_bound_to_127_0_0_2_is_served(tmp_path):
    files = ensure_tls(tmp_path)
    server = ApiServer(
        Dispatcher(SigningService(ScriptedPrompter([]))),
        ServerConfig(port=0, also_ipv6=False),
        files,
    )
    context = ssl.create_default_context(cafile=str(files.root_pem))

    async def scenario() -> None:
        await server.start()
        try:
            url = f"wss://127.0.0.1:{server.bound_port()}/"
            async with connect(url, ssl=context, local_addr=("127.0.0.2", 0)) as ws:
                assert ws.local_address[0] == "127.0.0.2"
                assert await ws.recv() == GREETING
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 20))


CLIENT = """
import socket, ssl, sys
port, source, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
tls = ssl.create_default_context(cafile=cafile).wrap_socket(raw, server_hostname="127.0.0.1")
tls.sendall(("GET / HTTP/1.1\\r\\nHost: 127.0.0.1:%d\\r\\nUpgrade: websocket\\r\\n"
    "Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n"
    "Sec-WebSocket-Version: 13\\r\\n\\r\\n" % port).encode())
print(tls.recv(4096).decode("latin-1"))
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def netns() -> Any:
    if shutil.which("ip") is None:
        pytest.skip("`ip` (iproute2) is missing: the real non-loopback peer test needs it")
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root (CI runs this as root)")
    name = f"qalam-{uuid.uuid4().hex[:8]}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot create a network namespace here: {exc.stderr.decode().strip()}")
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "add", "qv0", "type", "veth", "peer", "name", "qv1")
        _ip("-n", name, "addr", "add", "10.213.0.1/30", "dev", "qv0")
        _ip("-n", name, "addr", "add", "10.213.0.2/30", "dev", "qv1")
        _ip("-n", name, "link", "set", "qv0", "up")
        _ip("-n", name, "link", "set", "qv1", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, check=False)


def test_a_real_non_loopback_peer_is_refused(netns, tmp_path):
    port = 13579
    data = tmp_path / "data"
    script = tmp_path / "answers.json"
    script.write_text('{"decision": "cancel"}')
    inside = ["ip", "netns", "exec", netns]
    serve = subprocess.Popen(
        [
            *inside,
            *(sys.executable, "-m", "signer_app.cli", "serve", "--scripted", str(script)),
            *("--data-dir", str(data), "--port", str(port), "--tsa-url", ""),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = serve.stdout.readline()  # type: ignore[union-attr]
            if not line or line.startswith("Root certificate to trust:"):
                break
        cafile = str(data / "tls" / "root.pem")

        def client(source: str) -> str:
            done = subprocess.run(
                [*inside, sys.executable, "-c", CLIENT, str(port), source, cafile],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            )
            return done.stdout

        refused = client("10.213.0.2")
        assert refused.startswith("HTTP/1.1 403")
        assert "You shall not pass!" in refused
        assert client("127.0.0.1").startswith("HTTP/1.1 101")  # the same server serves loopback
        # Nothing listens on the namespace's non-loopback address at all.
        unreachable = subprocess.run(
            [
                *inside,
                sys.executable,
                "-c",
                CLIENT.replace('"127.0.0.1", port', '"10.213.0.1", port'),
                str(port),
                "10.213.0.2",
                cafile,
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert unreachable.returncode != 0
        assert "ConnectionRefusedError" in unreachable.stderr
    finally:
        serve.terminate()
        _, err = serve.communicate(timeout=10)
    assert "refused non-loopback peer 10.213.0.2" in err
