"""The real listener, in-process: wss with the local root, limits, Host check, cancel on close."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import ssl
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from api_helpers import approve, basics, common
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from signer_app.api.dispatch import Dispatcher
from signer_app.api.server import (
    REPLY_FRAGMENT,
    ApiServer,
    ServerConfig,
    fragments,
    host_allowed,
)
from signer_app.api.tls import TlsFiles, ensure_tls
from signer_app.crypto import cms
from signer_app.service.prompter import Prompter, ScriptedPrompter, SignRequestView
from signer_app.service.signing import SigningService

GREETING = '{"result":{"version":"1.4"}}'


@asynccontextmanager
async def running(
    prompter: Prompter, data_dir: Path, **config: Any
) -> AsyncIterator[tuple[ApiServer, ssl.SSLContext, str]]:
    files = ensure_tls(data_dir)
    server = ApiServer(
        Dispatcher(SigningService(prompter)),
        ServerConfig(port=0, also_ipv6=False, **config),
        files,
    )
    await server.start()
    context = ssl.create_default_context(cafile=str(files.root_pem))
    try:
        yield server, context, f"wss://127.0.0.1:{server.bound_port()}/"
    finally:
        await server.stop()


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


async def raw_http(port: int, context: ssl.SSLContext, host: str, upgrade: bool = True) -> str:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"
    )
    headers = ["GET / HTTP/1.1", f"Host: {host}"]
    if upgrade:
        headers += [
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
        ]
    writer.write(("\r\n".join(headers) + "\r\n\r\n").encode())
    await writer.drain()
    data = await reader.read(4096)
    writer.close()
    return data.decode("latin-1")


def test_greeting_heartbeat_and_basics_sign_over_wss(demo, tmp_path):
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))

    async def scenario() -> None:
        async with running(prompter, tmp_path) as (server, context, url):
            async with connect(url, ssl=context, origin="https://portal.example.kz") as ws:  # type: ignore[arg-type]
                assert await ws.recv() == GREETING
                await ws.send("--heartbeat--")
                assert await ws.recv() == "--heartbeat--"
                await ws.send(json.dumps(basics()))
                reply = json.loads(await ws.recv())
                assert cms.verify(reply["body"]["result"][0]).content == b"11\n"
                await ws.send("this is not json")
                assert json.loads(await ws.recv())["code"] == "500"
                await ws.send(json.dumps(common("getActiveTokens")))
                assert json.loads(await ws.recv()) == {"code": "200", "responseObject": []}
            localhost = f"wss://localhost:{server.bound_port()}/"
            async with connect(localhost, ssl=context) as ws:
                assert await ws.recv() == GREETING

    run(scenario)
    assert prompter.of_kind("confirm")[0].origin == "https://portal.example.kz"


def test_a_large_document_and_a_bad_utf8_frame_over_wss(demo, tmp_path):
    """Frames over 1 MiB take the stepwise parser (api/frames.py): same answer, same errors;
    the ~4 MiB reply comes back as fragments of one message."""
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))
    document = bytes(range(256)) * (12 << 10)  # 3 MiB, every byte value

    async def scenario() -> None:
        async with (
            running(prompter, tmp_path) as (_, context, url),
            connect(url, ssl=context, max_size=None) as ws,  # type: ignore[arg-type]
        ):
            await ws.recv()
            data = base64.b64encode(document).decode()
            await ws.send(json.dumps(basics(data=data)))
            pieces = [piece async for piece in ws.recv_streaming()]
            assert len(pieces) > 1
            reply = json.loads("".join(pieces))
            assert cms.verify(reply["body"]["result"][0]).content == document
            await ws.send(b'{"data": "' + b"\xff" * (2 << 20) + b'"}')
            assert json.loads(await ws.recv())["code"] == "500"

    run(scenario)


@pytest.mark.parametrize(
    "pieces",
    [
        ["{", "x" * (3 * REPLY_FRAGMENT + 7), "}"],
        ["a"] * 10 + ["b" * REPLY_FRAGMENT, "", "c" * (REPLY_FRAGMENT - 1), "d", "e"],
        ["f" * (REPLY_FRAGMENT - 1), "g" * (REPLY_FRAGMENT - 1), "h" * (2 * REPLY_FRAGMENT)],
        ["short"],
    ],
)
def test_a_reply_is_cut_into_bounded_fragments_that_join_to_it(pieces: list[str]) -> None:
    cut = list(fragments(pieces))
    assert "".join(cut) == "".join(pieces)
    assert all(0 < len(fragment) <= REPLY_FRAGMENT for fragment in cut)


def test_foreign_host_header_is_refused_and_plain_get_gets_a_page(tmp_path):
    async def scenario() -> None:
        async with running(ScriptedPrompter([]), tmp_path) as (server, context, _):
            port = server.bound_port()
            refused = await raw_http(port, context, f"evil.example:{port}")
            assert refused.startswith("HTTP/1.1 403")
            rebinding = await raw_http(port, context, "127.0.0.1.nip.io")
            assert rebinding.startswith("HTTP/1.1 403")
            ok = await raw_http(port, context, f"127.0.0.1:{port}")
            assert ok.startswith("HTTP/1.1 101")
            page = await raw_http(port, context, f"localhost:{port}", upgrade=False)
            assert page.startswith("HTTP/1.1 200")
            assert "root.pem" in page

    run(scenario)


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("127.0.0.1:13579", True),
        ("localhost:13579", True),
        ("LOCALHOST", True),
        ("[::1]:13579", True),
        ("127.0.0.1:80", False),
        ("evil.example:13579", False),
        ("127.0.0.1.evil:13579", False),
        ("[::1]x", False),
        (None, False),
        ("", False),
    ],
)
def test_host_header_rule(header, allowed):
    assert host_allowed(header, {13579}) is allowed


def test_large_messages_fragmented_by_the_client_are_gathered_whole(demo, tmp_path):
    """Large frames are re-cut (api/refragment.py): fragments of them still make one request."""
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))
    document = bytes(range(256)) * (12 << 10)  # 3 MiB

    async def scenario() -> None:
        async with (
            running(prompter, tmp_path) as (_, context, url),
            connect(url, ssl=context, max_size=None) as ws,  # type: ignore[arg-type]
        ):
            await ws.recv()
            text = json.dumps(basics(data=base64.b64encode(document).decode()))
            third = len(text) // 3
            await ws.send([text[:third], text[third : 2 * third], text[2 * third :]])
            await ws.send("--heartbeat--")
            answers = [await ws.recv(), await ws.recv()]
            assert "--heartbeat--" in answers  # the reader answers it while the worker signs
            answers.remove("--heartbeat--")
            reply = json.loads(answers[0])
            assert cms.verify(reply["body"]["result"][0]).content == document

    run(scenario)


def test_starting_takes_the_loaded_objects_out_of_garbage_collection(demo, tmp_path):
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))

    async def scenario() -> None:
        gc.unfreeze()
        async with running(prompter, tmp_path):
            assert gc.get_freeze_count() > 0  # full collections no longer walk them

    run(scenario)


def test_huge_frame_closes_only_that_socket(demo, tmp_path):
    prompter = ScriptedPrompter(approve(demo["citizen_sign"]))

    async def scenario() -> None:
        async with running(prompter, tmp_path) as (_, context, url):
            async with connect(url, ssl=context, max_size=None) as big:
                assert await big.recv() == GREETING

                async def oversized() -> None:
                    await big.send("A" * (100 << 20))
                    await big.recv()

                with pytest.raises(ConnectionClosed) as closed:
                    await oversized()
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1009
            async with connect(url, ssl=context) as ws:
                assert await ws.recv() == GREETING
                await ws.send(json.dumps(basics()))
                assert json.loads(await ws.recv())["status"] is True
        assert prompter.of_kind("confirm")  # one signature, for the second socket only

    run(scenario)
    assert len(prompter.of_kind("choose_key")) == 1


def test_socket_closed_mid_dialog_cancels_it_and_heartbeats_flow_meanwhile(demo, tmp_path):
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    class Waiting(ScriptedPrompter):
        async def confirm(self, request: SignRequestView) -> bool:
            if not entered.is_set():
                entered.set()
                try:
                    await asyncio.sleep(60)
                except asyncio.CancelledError:
                    cancelled.set()
                    raise
            return await super().confirm(request)

    prompter = Waiting(approve(demo["citizen_sign"]))

    async def scenario() -> None:
        async with running(prompter, tmp_path) as (_, context, url):
            async with connect(url, ssl=context) as ws:
                await ws.recv()
                await ws.send(json.dumps(basics()))
                await asyncio.wait_for(entered.wait(), 10)
                for _ in range(3):
                    await ws.send("--heartbeat--")
                    assert await asyncio.wait_for(ws.recv(), 0.5) == "--heartbeat--"
            await asyncio.wait_for(cancelled.wait(), 5)
            async with connect(url, ssl=context) as ws:  # the dialog lock is free again
                await ws.recv()
                await ws.send(json.dumps(basics()))
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert reply["status"] is True
                assert reply["body"]["result"]

    run(scenario)
    assert cancelled.is_set()


def test_connection_limit(tmp_path):
    async def scenario() -> None:
        async with running(ScriptedPrompter([]), tmp_path, max_connections=2) as (_, context, url):
            async with connect(url, ssl=context) as one, connect(url, ssl=context) as two:
                await one.recv()
                await two.recv()
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(url, ssl=context):
                        pass
                assert refused.value.response.status_code == 503
            await asyncio.sleep(0.1)
            async with connect(url, ssl=context) as again:
                assert await again.recv() == GREETING

    run(scenario)


def test_plain_ws_port_for_tests(tmp_path):
    async def scenario() -> None:
        files: TlsFiles = ensure_tls(tmp_path)
        server = ApiServer(
            Dispatcher(SigningService(ScriptedPrompter([]))),
            ServerConfig(port=0, plain_ws_port=0, also_ipv6=False),
            files,
        )
        await server.start()
        try:
            async with connect(f"ws://127.0.0.1:{server.bound_port(1)}/") as ws:
                assert await ws.recv() == GREETING
        finally:
            await server.stop()

    run(scenario)


def test_non_loopback_listen_address_is_refused():
    everywhere = ServerConfig(host="0.0.0.0")  # noqa: S104 - the point of the test
    with pytest.raises(ValueError, match="loopback only"):
        ApiServer(Dispatcher(SigningService(ScriptedPrompter([]))), everywhere, None)
