"""`qalam serve --port 0`: 127.0.0.1 and ::1 listen on the one port the system chose."""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest
from websockets.asyncio.client import connect

from signer_app.api.dispatch import Dispatcher
from signer_app.api.server import ApiServer, ServerConfig
from signer_app.api.tls import ensure_tls
from signer_app.service.prompter import ScriptedPrompter
from signer_app.service.signing import SigningService

GREETING = '{"result":{"version":"1.4"}}'


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_port_zero_binds_both_loopbacks_to_one_port(tmp_path):
    if not ipv6_loopback():
        pytest.skip("this machine has no ::1")
    files = ensure_tls(tmp_path)

    async def scenario() -> None:
        server = ApiServer(
            Dispatcher(SigningService(ScriptedPrompter([]))), ServerConfig(port=0), files
        )
        await server.start()
        try:
            sockets = server._servers[0].sockets
            families = {s.family for s in sockets}
            ports = {s.getsockname()[1] for s in sockets}
            assert families == {socket.AF_INET, socket.AF_INET6}
            assert ports == {server.bound_port()}
            context = ssl.create_default_context(cafile=str(files.root_pem))
            context.check_hostname = False  # the certificate names 127.0.0.1/localhost
            for host in ("127.0.0.1", "[::1]"):
                url = f"wss://{host}:{server.bound_port()}/"
                async with connect(url, ssl=context, open_timeout=10) as ws:
                    assert await ws.recv() == GREETING
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_port_zero_without_ipv6_still_listens_on_127_0_0_1(tmp_path):
    files = ensure_tls(tmp_path)

    async def scenario() -> None:
        config = ServerConfig(port=0, also_ipv6=False)
        server = ApiServer(Dispatcher(SigningService(ScriptedPrompter([]))), config, files)
        await server.start()
        try:
            (only,) = server._servers[0].sockets
            assert only.getsockname()[:2] == ("127.0.0.1", server.bound_port())
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))
