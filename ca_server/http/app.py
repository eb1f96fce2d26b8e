"""The CA's HTTP service: `create_app(instance)` for one process, `app_from_env` for uvicorn.

Errors are answered in one place: a CaError with its HTTP status and ``{"code", "message",
"detail"}`` (the detail only below 500: above, it is for the log); request validation errors
as 422 with the code of the field at fault (`invalid_iin`, `invalid_bin`, `unknown_role`,
`invalid_reason`, else `invalid_input`); unknown routes, wrong methods and oversized bodies with
codes of their own; anything unexpected as 500 `internal` with a generic message, the traceback
only in the log. Bad input never reaches that last branch.

`app_from_env` is the factory `qalam-ca serve` gives uvicorn (``--factory``), so that every
worker process opens the instance itself: the data directory from $QALAM_CA_HOME, the database
URL from $QALAM_CA_DB_URL (else the instance's), the CA key passphrase from
$QALAM_CA_PASSPHRASE_FILE or $QALAM_CA_PASSPHRASE (else the instance's passphrase file).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ca_server.ca_keys import read_passphrase_file
from ca_server.errors import CaError
from ca_server.http import audit, certificates, enrollment, health, operators, pki
from ca_server.http.fast_lane import FastLane
from ca_server.http.limits import BodyLimit, error_body
from ca_server.http.service import CaService, HttpSettings
from ca_server.instance import Instance, default_data_dir, load_instance

__all__ = [
    "DB_URL_ENV",
    "PASSPHRASE_FILE_ENV",
    "SKIP_MIGRATE_ENV",
    "app_from_env",
    "create_app",
]

DB_URL_ENV = "QALAM_CA_DB_URL"
PASSPHRASE_FILE_ENV = "QALAM_CA_PASSPHRASE_FILE"  # noqa: S105 - a variable name
SKIP_MIGRATE_ENV = "QALAM_CA_SKIP_MIGRATE"  # set by `serve`, which migrated once already

_log = logging.getLogger("ca_server.http")

_FIELD_CODES = {
    "iin": "invalid_iin",
    "bin": "invalid_bin",
    "role": "unknown_role",
    "reason": "invalid_reason",
}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "route_not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}

_DESCRIPTION = """\
The bundled test certification authority of Qalam: NAC (citizens and companies) and GOV CA
(state agencies, PSC staff).

* PKI protocols: CA certificates and CRLs (DER), OCSP (RFC 6960), time-stamps (RFC 3161).
* `/api/v1`: enrolment (PKCS#10 + a one-time code or a renewal signature), certificate status,
  and the operators' API: sign in with a GOV CA AUTH key, look up persons, revoke, create
  one-time codes, read the audit log.

Every error is JSON `{"code", "message", "detail"}` with a stable code.
"""


def _json_error(error: CaError, headers: dict[str, str] | None = None) -> Response:
    body = error_body(error, with_detail=error.status < 500)
    all_headers = dict(headers or {})
    if error.status == 401:
        all_headers["WWW-Authenticate"] = 'Bearer realm="qalam-ca"'
    return Response(body, error.status, all_headers, media_type="application/json")


async def _ca_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CaError)  # noqa: S101 - registered for CaError only
    if exc.status >= 500:
        _log.error("%s %s: %s [%s]", request.method, request.url.path, exc, exc.code)
    return _json_error(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    code = _HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal")
    error = CaError(code, str(exc.detail)[:200] if exc.detail else "")
    if error.status != exc.status_code:  # a status our table does not know: keep it
        body = error_body(error)
        return Response(body, exc.status_code, media_type="application/json")
    return _json_error(error, dict(exc.headers or {}))


def _describe(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """The error code of the first field at fault, and a short account of every fault."""
    code = "invalid_input"
    parts = []
    for found in errors[:5]:
        location = ".".join(str(part) for part in found.get("loc", ()))
        parts.append(f"{location}: {found.get('msg', 'invalid')}")
    if errors:
        location = errors[0].get("loc", ())
        field = str(location[-1]) if location else ""
        code = _FIELD_CODES.get(field, code)
    return code, "; ".join(parts)[:500]


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    code, detail = _describe(list(exc.errors()))
    return _json_error(CaError(code, detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    _log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _json_error(CaError("internal"))


def create_app(
    instance: Instance,
    settings: HttpSettings | None = None,
    *,
    close_instance: bool = False,
) -> FastAPI:
    """The CA's FastAPI application over an open instance (its keys are opened now).

    With `close_instance` the app closes the instance when it shuts down (the env factory's
    case); otherwise the caller owns it.
    """
    chosen = settings or HttpSettings()
    service = CaService(instance, chosen)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(service.watch_revocations)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
        if close_instance:
            instance.close()

    app = FastAPI(
        title="Qalam CA",
        version="1",
        description=_DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.ca = service
    # Added first, so it runs inside the body limits: see fast_lane.py for why it exists.
    app.add_middleware(FastLane, service=service)
    app.add_middleware(
        BodyLimit,
        limits=[("/ocsp", chosen.protocol_body_limit), ("/tsp", chosen.protocol_body_limit)],
        default=chosen.json_body_limit,
    )
    app.add_exception_handler(CaError, _ca_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
    app.include_router(pki.router)
    for router in (
        health.router,
        enrollment.router,
        certificates.router,
        operators.router,
        audit.router,
    ):
        app.include_router(router, prefix="/api/v1")
    return app


def app_from_env() -> FastAPI:
    """The app of one uvicorn worker, configured by the environment (see the module's text)."""
    passphrase_file = os.environ.get(PASSPHRASE_FILE_ENV)
    passphrase = read_passphrase_file(Path(passphrase_file)) if passphrase_file else None
    instance = load_instance(
        default_data_dir(),
        db_url=os.environ.get(DB_URL_ENV) or None,
        passphrase=passphrase,
        migrate=os.environ.get(SKIP_MIGRATE_ENV) != "1",
    )
    try:
        return create_app(instance, close_instance=True)
    except BaseException:
        instance.close()
        raise
