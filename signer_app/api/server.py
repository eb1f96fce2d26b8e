"""The TLS WebSocket listener on 127.0.0.1:13579 (and ::1): NCALayer's transport (§2-§3, §15).

Per socket: the greeting at once; ``--heartbeat--`` echoed at once, even while a dialog is open
(a reader task answers it, a worker task handles requests one by one, in order); one reply per
request; the worker is cancelled when the socket closes, which cancels the dialog it waits on.
Before the handshake: the peer must be loopback, the Host header 127.0.0.1/localhost/[::1]
(DNS rebinding), and the number of sockets under the limit. Frames above ``max_frame`` close
that socket (1009) and nothing else. Large incoming frames are cut into fragments before
websockets parses them (api/refragment.py) and gathered one fragment per turn, so no socket's
upload holds the event loop for long; a large reply goes out the same way, as fragments of one
message (RFC 6455 §5.4: the page still receives one message). A plain HTTPS GET of ``/`` gets
the diagnostics page (api/diagnostics.py; ``/diagnostics.json`` the same as JSON), any other
path a 404.

Audit: one line per request to the ``qalam.audit`` logger (origin, module.method, outcome,
milliseconds), never data or passwords.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import http
import ipaddress
import logging
import socket
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from . import diagnostics
from .dispatch import HEARTBEAT, HEARTBEAT_BYTES, Dispatcher
from .refragment import Refragmenter
from .tls import TlsFiles

DEFAULT_PORT = 13579
DEFAULT_MAX_FRAME = 64 << 20
DEFAULT_MAX_CONNECTIONS = 64
# A reply longer than this (characters) is sent as fragments this long: sent whole, a 50 MiB
# attached CMS (~72 MB of JSON) was encoded, framed and encrypted in one turn of the loop
# (~0.4 s; bench api heartbeat_attached); one fragment costs a few milliseconds.
REPLY_FRAGMENT = 1 << 20
MAX_PENDING = 32
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

audit = logging.getLogger("qalam.audit")
log = logging.getLogger("qalam.api")


_SAME_PORT_TRIES = 5


def _free_port(host: str) -> int:
    """A port the system calls free on ``host`` now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ServerConfig:
    """Where and how the API listens."""

    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    also_ipv6: bool = True
    plain_ws_port: int | None = None
    max_frame: int = DEFAULT_MAX_FRAME
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_allowed(header: str | None, ports: set[int]) -> bool:
    """A Host header naming the loopback with one of our ports (or no port)."""
    if not header:
        return False
    value = header.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        name += "]"
        port = rest[1:] if rest.startswith(":") else ("" if not rest else None)
    else:
        name, _, port = value.partition(":")
    if name not in LOOPBACK_NAMES or port is None:
        return False
    return port == "" or (port.isdigit() and int(port) in ports)


def server_ssl_context(files: TlsFiles) -> ssl.SSLContext:
    """TLS 1.2+ with the local server certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.server_pem, files.server_key)
    return context


class _Connection(ServerConnection):
    """A server connection whose large incoming frames websockets parses in small fragments."""

    _cutter: Refragmenter | None = None
    _plain = False  # frames came with the handshake: the stream is left as it is

    def data_received(self, data: bytes) -> None:
        """Feed ``data`` to websockets, re-cut once the handshake is done (api/refragment.py)."""
        if self._cutter is None and not self._plain and self.protocol.state is State.OPEN:
            reader = getattr(self.protocol, "reader", None)
            if getattr(reader, "buffer", b"") or not hasattr(self.protocol, "max_message_size"):
                self._plain = True
            else:
                self._cutter = Refragmenter(self.protocol.max_message_size)
        if self._cutter is None:
            super().data_received(data)
            return
        for piece in self._cutter.feed(data):
            super().data_received(piece)


async def _receive(ws: ServerConnection) -> bytes | bytearray:
    """The next message, undecoded; a fragmented one is gathered piece by piece.

    ``recv`` would join a 70 MB message's fragments in one call (~50 ms of copying and page
    faults on the event loop); here each fragment is appended in its own turn.
    """
    message: bytes | bytearray = b""
    gathered: bytearray | None = None
    async for piece in ws.recv_streaming(decode=False):
        if gathered is not None:
            gathered += piece
        elif message:
            gathered = bytearray(message)
            gathered += piece
        else:
            message = piece
    return gathered if gathered is not None else message


def fragments(pieces: Sequence[str]) -> Iterator[str]:
    """The pieces re-cut into fragments of at most REPLY_FRAGMENT characters: long pieces
    sliced, runs of short ones (the envelope around a spliced CMS) joined."""
    run: list[str] = []
    size = 0
    for piece in pieces:
        if run and size + len(piece) > REPLY_FRAGMENT:
            yield "".join(run)
            run, size = [], 0
        if len(piece) > REPLY_FRAGMENT:
            for start in range(0, len(piece), REPLY_FRAGMENT):
                yield piece[start : start + REPLY_FRAGMENT]
        elif piece:
            run.append(piece)
            size += len(piece)
    if run:
        yield "".join(run)


async def _turns(parts: Iterable[str]) -> AsyncIterator[str]:
    for part in parts:
        yield part
        await asyncio.sleep(0)  # the other sockets' turn before the next fragment


async def send_reply(ws: ServerConnection, pieces: Sequence[str]) -> None:
    """One text message; a long one as fragments, each encoded and encrypted in its own turn."""
    if sum(map(len, pieces)) <= REPLY_FRAGMENT:
        await ws.send("".join(pieces))
    else:
        await ws.send(_turns(fragments(pieces)))


class ApiServer:
    """The listeners, the connection count, and one handler task per socket."""

    def __init__(self, dispatcher: Dispatcher, config: ServerConfig, tls: TlsFiles | None) -> None:
        if not is_loopback(config.host):
            raise ValueError(f"refusing to listen on {config.host}: loopback only")
        self.dispatcher = dispatcher
        self.config = config
        self.tls = tls
        self.active = 0
        self._servers: list[Server] = []
        self._admitted: weakref.WeakSet[ServerConnection] = weakref.WeakSet()
        self.ports: set[int] = set()

    async def _page(self, connection: ServerConnection, request: Request) -> Response:
        path = request.path.partition("?")[0]
        if path not in diagnostics.PATHS:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not found\n")
        report = await asyncio.to_thread(diagnostics.collect, self)
        if path.endswith(".json"):
            body, kind = diagnostics.to_json(report), "application/json; charset=utf-8"
        else:
            body, kind = diagnostics.to_html(report), "text/html; charset=utf-8"
        response = connection.respond(http.HTTPStatus.OK, body)
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = kind
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        peer = connection.remote_address[0] if connection.remote_address else ""
        if not is_loopback(str(peer)):
            audit.warning("refused non-loopback peer %s", peer)
            return connection.respond(http.HTTPStatus.FORBIDDEN, "You shall not pass!\n")
        if not host_allowed(request.headers.get("Host"), self.ports):
            audit.warning(
                "refused Host %r (origin=%s)", request.headers.get("Host"), _origin(request)
            )
            return connection.respond(http.HTTPStatus.FORBIDDEN, "Forbidden host\n")
        if "upgrade" not in request.headers.get("Connection", "").lower():
            return await self._page(connection, request)
        # Admitted sockets count from their handshake on, so parallel handshakes cannot overshoot.
        open_now = sum(1 for c in self._admitted if c.state is not State.CLOSED)
        if open_now >= self.config.max_connections:
            audit.warning("refused a socket: %d open (origin=%s)", open_now, _origin(request))
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "Too many connections\n")
        self._admitted.add(connection)
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        self.active += 1
        origin = _origin(ws.request) if ws.request else None
        queue: asyncio.Queue[bytes | bytearray] = asyncio.Queue(MAX_PENDING)
        worker = asyncio.create_task(self._worker(ws, queue, origin))
        try:
            await ws.send(self.dispatcher.config.greeting)
            while True:
                # Undecoded: a 70 MB text frame's UTF-8 decode would hold the loop for ~45 ms;
                # the dispatcher decodes (and so validates) it in steps (api/frames.py).
                message = await _receive(ws)
                if message == HEARTBEAT_BYTES:
                    await ws.send(HEARTBEAT)
                    continue
                try:
                    queue.put_nowait(message)
                except asyncio.QueueFull:
                    audit.warning("origin=%s sent more than %d requests ahead", origin, MAX_PENDING)
                    await ws.close(1008, "too many pending requests")
                    break
        except ConnectionClosed:
            pass
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            self.active -= 1

    async def _worker(
        self, ws: ServerConnection, queue: asyncio.Queue[bytes | bytearray], origin: str | None
    ) -> None:
        while True:
            text = await queue.get()
            started = time.perf_counter()
            try:
                reply = await self.dispatcher.handle(text, origin)
            except asyncio.CancelledError:
                audit.info("origin=%s request cancelled: the socket closed", origin or "-")
                raise
            elapsed = (time.perf_counter() - started) * 1000
            audit.info(
                "origin=%s method=%s.%s outcome=%s ms=%.1f",
                origin or "-",
                reply.module,
                reply.method,
                reply.outcome,
                elapsed,
            )
            if reply.pieces is not None:
                try:
                    await send_reply(ws, reply.pieces)
                except ConnectionClosed:
                    return

    async def _listen(self, port: int, context: ssl.SSLContext | None) -> Server:
        hosts: list[str] = [self.config.host]
        if self.config.also_ipv6 and self.config.host == "127.0.0.1":
            hosts.append("::1")
        options = dict(
            process_request=self._process_request,
            max_size=self.config.max_frame,
            compression=None,
            create_connection=_Connection,
            ssl=context,
            server_header=None,
        )
        if port == 0 and len(hosts) > 1:
            # "Any port" must be one port for both addresses (a page told 127.0.0.1:P finds
            # [::1]:P too): take a port free on the first address, bind both to it, and try
            # another if the second address has it taken.
            for _ in range(_SAME_PORT_TRIES):
                try:
                    chosen = _free_port(self.config.host)
                    return await serve(self._handler, hosts, chosen, **options)  # type: ignore[arg-type]
                except OSError:
                    continue
        try:
            return await serve(self._handler, hosts, port, **options)  # type: ignore[arg-type]
        except OSError:
            if len(hosts) == 1:
                raise
            log.info("::1 is not available; listening on %s only", self.config.host)
            return await serve(self._handler, hosts[:1], port, **options)  # type: ignore[arg-type]

    async def start(self) -> None:
        """Open the listeners (TLS on ``port``; plain ws on ``plain_ws_port`` if set)."""
        self.ports = {self.config.port}
        if self.config.plain_ws_port is not None:
            self.ports.add(self.config.plain_ws_port)
        context = server_ssl_context(self.tls) if self.tls else None
        self._servers.append(await self._listen(self.config.port, context))
        if self.config.plain_ws_port is not None:
            self._servers.append(await self._listen(self.config.plain_ws_port, None))
        # Port 0 (tests) means "any": record what the system chose.
        bound = {s.sockets[0].getsockname()[1] for s in self._servers if s.sockets}
        self.ports |= bound
        # Everything loaded so far (crypto, asn1, pdf and Qt modules) lives as long as the process;
        # left in the collector, each full collection walks it for ~25 ms on the event loop, which
        # a heartbeat waits through. Frozen, it is never walked again.
        gc.freeze()

    def bound_port(self, index: int = 0) -> int:
        """The port listener ``index`` is bound to (0: TLS, 1: plain ws)."""
        return int(self._servers[index].sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close listeners and sockets (open dialogs are cancelled with them)."""
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()


def _origin(request: Request | None) -> str | None:
    if request is None:
        return None
    origin = request.headers.get("Origin")
    return origin[:256] if origin else None


__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_FRAME",
    "DEFAULT_PORT",
    "ApiServer",
    "ServerConfig",
    "host_allowed",
    "is_loopback",
    "server_ssl_context",
]
