"""The protocol answers that need no I/O, given before FastAPI's routing.

Why: FastAPI's router and request machinery cost about 190 µs a request here (measured with
the app called in-process: 190 µs through FastAPI, 9 µs through this lane, for the same cached
OCSP answer). That is a fifth of the RSA-2048 signature an uncached OCSP answer or a time-stamp
costs, and twenty times a cached OCSP answer; OCSP and time-stamps are the requests a CA gets by
the thousand. So an ASGI middleware in front of the app answers, with the same functions as the
routes in pki.py:

* ``POST /ocsp`` and ``GET /ocsp/{b64}``: from the response cache, or signed over statuses the
  cache holds (`CachedResponder.respond_without_lookup`);
* ``POST /tsp``: when a serial number of the reserved block is in hand.

Everything else passes through untouched to the routes, which are the complete implementation:
a body without Content-Length (chunked), a Content-Type to refuse, an OCSP status that must come
from the database, a new block of time-stamp serials. A POST body the lane has read is replayed
to them. Body limits apply first (limits.BodyLimit sits outside this lane); an unexpected error
here reaches the app's 500 handler like any other.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ca_server.errors import CaError
from ca_server.http.deps import decode_base64
from ca_server.http.pki import (
    OCSP_REQUEST,
    OCSP_RESPONSE,
    TSP_QUERY,
    TSP_REPLY,
    media_type_accepted,
    ocsp_cache_control,
    ocsp_http_status,
    tsp_http_status,
)
from ca_server.http.service import CaService

__all__ = ["FastLane"]

_POSTS = {"/ocsp": OCSP_REQUEST, "/tsp": TSP_QUERY}


class FastLane:
    """ASGI middleware: answer what needs no I/O; hand everything else to `app`."""

    def __init__(self, app: ASGIApp, service: CaService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "POST" and path in _POSTS:
                await self._post(path, scope, receive, send)
                return
            if method == "GET" and path.startswith("/ocsp/"):
                await self._get(path[len("/ocsp/") :], scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _post(self, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = length = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        if length is None or not media_type_accepted(content_type, _POSTS[path]):
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        if body is None:
            return  # the client went away
        if path == "/ocsp":
            answer = self._ocsp(body)
            if answer is not None:
                await _send(send, ocsp_http_status(answer), OCSP_RESPONSE, answer)
                return
        else:
            serial = self.service.tsa_serials.take()
            if serial is not None:
                reply = self.service.timestamp(body, serial)
                await _send(send, tsp_http_status(reply), TSP_REPLY, reply)
                return
        await self.app(scope, _replay(body, receive), send)

    async def _get(self, encoded: str, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request_der = decode_base64(encoded, "bad_request", "the OCSP request")
        except CaError:
            request_der = None
        answer = self._ocsp(request_der) if request_der else None
        if answer is None or ocsp_http_status(answer) != 200:
            await self.app(scope, receive, send)
            return
        cache_control = ocsp_cache_control(self.service).encode("ascii")
        await _send(send, 200, OCSP_RESPONSE, answer, [(b"cache-control", cache_control)])

    def _ocsp(self, request_der: bytes) -> bytes | None:
        ocsp = self.service.ocsp
        return ocsp.cached(request_der) or ocsp.respond_without_lookup(request_der)


async def _read(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives `body` once, then whatever the connection says (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _send(
    send: Send,
    status: int,
    media_type: str,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", media_type.encode("ascii")),
        (b"content-length", str(len(body)).encode("ascii")),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
