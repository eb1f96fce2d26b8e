"""What handlers share: the worker's CaService, who is calling, and the error responses the
OpenAPI spec lists for each route."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ca_server import operators_auth
from ca_server.errors import ERRORS, CaError
from ca_server.http.models import ErrorBody
from ca_server.http.service import CaService
from ca_server.operators_auth import OperatorIdentity

__all__ = [
    "Caller",
    "Operator",
    "Service",
    "decode_base64",
    "error_responses",
    "service",
]


def service(request: Request) -> CaService:
    """The worker's CaService (made by create_app)."""
    found: CaService = request.app.state.ca
    return found


Service = Annotated[CaService, Depends(service)]


@dataclass(frozen=True)
class CallerInfo:
    """Where a request came from, and the bytes its audit row hashes (request line and body)."""

    remote_addr: str | None
    request: bytes


async def caller(request: Request) -> CallerInfo:
    body = await request.body()  # already read for the JSON body: Starlette keeps it
    query = request.url.query
    line = f"{request.method} {request.url.path}{'?' + query if query else ''}\n"
    host = request.client.host if request.client else None
    return CallerInfo(host, line.encode("utf-8") + body)


Caller = Annotated[CallerInfo, Depends(caller)]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="operatorSession",
    description="The token from POST /api/v1/operators/session",
)


def operator(
    ca: Service,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> OperatorIdentity:
    """The signed-in operator; `unauthenticated` (401) without a usable bearer token."""
    if credentials is None:
        raise CaError("unauthenticated", "no bearer token")
    return operators_auth.authenticate(ca.db, credentials.credentials)


Operator = Annotated[OperatorIdentity, Depends(operator)]


def error_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error codes, grouped by HTTP status."""
    by_status: Mapping[int, list[str]] = defaultdict(list)
    for code in ("invalid_input", "internal", *codes):
        by_status[ERRORS[code][0]].append(code)
    return {
        status: {
            "model": ErrorBody,
            "description": "Error codes: " + ", ".join(sorted(set(found))),
        }
        for status, found in sorted(by_status.items())
    }


def decode_base64(text: str, code: str, what: str) -> bytes:
    """Standard or URL-safe base64, whitespace and missing padding forgiven; `code` else."""
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise CaError(code, f"{what} is not base64") from None
