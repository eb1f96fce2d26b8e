"""Request body limits, enforced before a body is read whole.

An ASGI middleware (outside FastAPI, so it sees every request first): a declared Content-Length
over the route's limit is answered 413 at once, without reading a byte of the body; a body sent
without a length (chunked) is counted as it streams in, and the first chunk past the limit
raises `BodyTooLarge`, an HTTPException FastAPI passes through to the app's error handler, so
the answer is the same 413. Nothing behind the limit ever holds more than limit + one chunk.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ca_server.errors import CaError

__all__ = ["BodyLimit", "BodyTooLarge", "error_body"]


class BodyTooLarge(HTTPException):
    """The body grew past the route's limit while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"more than {limit} bytes")


def error_body(error: CaError, *, with_detail: bool = True) -> bytes:
    """The JSON an error is answered with: code, message (and detail, unless withheld)."""
    body = {"code": error.code, "message": error.message}
    if with_detail and error.detail:
        body["detail"] = error.detail
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class BodyLimit:
    """Limit request bodies: `limits` are (path prefix, bytes), first match wins, else
    `default`."""

    def __init__(self, app: ASGIApp, limits: Sequence[tuple[str, int]], default: int) -> None:
        self.app = app
        self.limits = tuple(limits)
        self.default = default

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
                break
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                error = CaError("bad_request", "the Content-Length header is not a number")
                await _answer(send, error)
                return
            if length > limit:
                await _answer(send, CaError("body_too_large", f"{length} > {limit} bytes"))
                return

        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


async def _answer(send: Send, error: CaError) -> None:
    body = error_body(error)
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
