"""JSON text in -> JSON text out: the envelope rules of shared/PROTOCOL.md §3-§5, no sockets.

``Dispatcher.handle(text, origin)`` parses one frame, routes it by ``module`` (absent: the legacy
applet; unknown: MODULE_NOT_FOUND, including KAZTOKEN's probe) and returns a ``Reply``: the text
to send, in pieces (None when NCALayer sends nothing; a 50 MiB CMS is never joined into one
string on the event loop), and what the audit line records (module, method,
outcome; never data or passwords). No input makes it raise: malformed JSON, a non-object, wrong
types and a failing handler are each answered in the family's own shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..service.signing import SigningService
from . import frames
from .wire import compact, compact_pieces

HEARTBEAT = "--heartbeat--"
HEARTBEAT_BYTES = HEARTBEAT.encode("ascii")
APPLET = "kz.gov.pki.knca.applet.Applet"
MODULE_NOT_FOUND: dict[str, object] = {"success": False, "errorCode": "MODULE_NOT_FOUND"}

log = logging.getLogger("qalam.api")


@dataclass(frozen=True)
class ApiConfig:
    """Compatibility switches (PROTOCOL.md §13.9, §15); NCALayer 1.4 behaviour by default."""

    greeting_version: str = "1.4"
    basics_always_array: bool = True
    basics_cms_pem: bool = True

    @property
    def greeting(self) -> str:
        """The unsolicited first frame, byte-exact."""
        return compact({"result": {"version": self.greeting_version}})


@dataclass(frozen=True)
class Call:
    """One request as a module sees it."""

    request: Mapping[str, Any]
    module: str
    method: str
    origin: str | None
    service: SigningService
    config: ApiConfig


@dataclass(frozen=True)
class Answer:
    """A module's reply object (None: send nothing) and the outcome for the audit line."""

    payload: Mapping[str, Any] | None
    outcome: str = "ok"


@dataclass(frozen=True)
class Reply:
    """What the server sends (one message: the pieces in order), and what it logs."""

    pieces: tuple[str, ...] | None
    module: str
    method: str
    outcome: str

    @property
    def text(self) -> str | None:
        """The message in one string (tests, small replies)."""
        return None if self.pieces is None else "".join(self.pieces)


class Module(Protocol):
    """A protocol module: one name, one handler table."""

    name: str

    async def handle(self, call: Call) -> Answer:
        """Answer one request of this module."""
        ...

    def internal_error(self, call: Call) -> Mapping[str, Any]:
        """The family's reply when a handler fails unexpectedly."""
        ...


def _method_name(value: object) -> str:
    if isinstance(value, str):
        return value
    return "null" if value is None else json.dumps(value)[:64]


class Dispatcher:
    """Routes frames to modules by name."""

    def __init__(
        self,
        service: SigningService,
        modules: list[Module] | None = None,
        config: ApiConfig | None = None,
    ) -> None:
        self.service = service
        self.config = config or ApiConfig()
        self.modules: dict[str, Module] = {m.name: m for m in (modules or default_modules())}

    async def handle(self, text: str | bytes | bytearray, origin: str | None = None) -> Reply:
        """One frame in (text, or its UTF-8 bytes), at most one frame out."""
        if text in (HEARTBEAT, HEARTBEAT_BYTES):
            return Reply((HEARTBEAT,), "-", "heartbeat", "ok")
        try:
            request = await frames.parse(text)
        except frames.FrameError:
            reply = {"code": "500", "message": "invalid request: the frame is not JSON"}
            return Reply((compact(reply),), "-", "-", "error:not_json")
        if not isinstance(request, dict):
            reply = {"code": "500", "message": "invalid request: the frame is not a JSON object"}
            return Reply((compact(reply),), "-", "-", "error:not_object")
        raw_module = request.get("module", APPLET)
        name = raw_module if isinstance(raw_module, str) else _method_name(raw_module)
        method = _method_name(request.get("method"))
        module = self.modules.get(name) if isinstance(raw_module, str) else None
        if module is None:
            not_found = (compact(MODULE_NOT_FOUND),)
            return Reply(not_found, name[:128], method[:64], "module_not_found")
        call = Call(request, name, method, origin, self.service, self.config)
        try:
            answer = await module.handle(call)
        except Exception:
            # A bug must not take the socket (or the app) down: log it, answer in the family's
            # shape. The traceback names code, never the request's data.
            log.exception("handler %s.%s failed", name, method[:64])
            failed = (compact(module.internal_error(call)),)
            return Reply(failed, name, method[:64], "error:internal")
        pieces = None if answer.payload is None else tuple(compact_pieces(answer.payload))
        return Reply(pieces, name, method[:64], answer.outcome)


def default_modules() -> list[Module]:
    """Every module Qalam answers for."""
    from .modules.accessory import Accessory
    from .modules.applet import Applet
    from .modules.basics import Basics
    from .modules.common_utils import CommonUtils

    return [CommonUtils(), Basics(), Accessory(), Applet()]


__all__ = [
    "APPLET",
    "HEARTBEAT",
    "HEARTBEAT_BYTES",
    "MODULE_NOT_FOUND",
    "Answer",
    "ApiConfig",
    "Call",
    "Dispatcher",
    "Module",
    "Reply",
    "default_modules",
]
