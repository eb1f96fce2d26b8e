"""The PKI's own protocols: CA certificates and CRLs (the URLs certificates carry in AIA and CDP),
OCSP (RFC 6960, POST and GET) and time-stamps (RFC 3161).

The routes below are the whole implementation and the OpenAPI description; the answers that
need no I/O (a cached OCSP response, an OCSP answer over cached statuses, a time-stamp with a
serial number in hand) are given before FastAPI's routing by fast_lane.FastLane, with the same
functions. Routes are declared hottest first (OCSP, TSP): the router tries them in order.

URLs are exactly those profiles.py writes into certificates under the instance's base URL:
an end-entity certificate names ``/ocsp``, ``/ca/{ca}.crt`` and ``/crl/{ca}.crl``; an issuing
CA certificate names ``/ca/{ca}-root.crt`` and ``/crl/{ca}-root.crl``.

HTTP statuses of the protocol endpoints: every answer is the protocol's own message
(OCSPResponse, TimeStampResp), so a client always learns the protocol's error code. 400 when
the request is not a message of the protocol at all (OCSP malformedRequest, TSP badDataFormat),
503 for OCSP tryLater, 200 otherwise: a well-formed request the protocol refuses (a CertID of a
foreign issuer gets `unauthorized`, a SHA-1 imprint `badAlg`) is answered as RFC clients such
as openssl expect, with 200 and the refusal inside. Before that, the HTTP layer itself refuses
a wrong Content-Type (415), and a body over 16 KiB (413), in JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ca_server import authority
from ca_server.errors import CaError
from ca_server.http.deps import Service, decode_base64, error_responses
from ca_server.http.service import CaService
from signer_app.crypto import der

__all__ = ["router"]

router = APIRouter(tags=["pki"])

PKIX_CERT = "application/pkix-cert"
PKIX_CRL = "application/pkix-crl"
OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"
TSP_QUERY = "application/timestamp-query"
TSP_REPLY = "application/timestamp-reply"
_ACCEPTED_ALSO = ("application/octet-stream",)

# Unsigned OCSPResponse with only a status: SEQUENCE { ENUMERATED n }.
_OCSP_ERROR_PREFIX = b"\x30\x03\x0a\x01"
_OCSP_MALFORMED = 1
_OCSP_TRY_LATER = 3
_TSP_BAD_DATA_FORMAT = 5  # PKIFailureInfo bit


def _binary(media_type: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
    }


def _request_body(media_type: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def _der(content: bytes, media_type: str) -> Response:
    return Response(content, media_type=media_type)


# -- OCSP ------------------------------------------------------------------------------------


def media_type_accepted(given: str | None, expected: str) -> bool:
    """Whether a request's Content-Type (absent or empty, `expected`, octet-stream) is
    acceptable."""
    if given is None or not given.strip():
        return True
    return given.split(";", 1)[0].strip().lower() in (expected, *_ACCEPTED_ALSO)


def _check_media_type(request: Request, expected: str) -> None:
    given = request.headers.get("content-type")
    if not media_type_accepted(given, expected):
        media_type = (given or "").split(";", 1)[0].strip().lower()
        raise CaError("unsupported_media_type", f"send {expected}, not {media_type[:64]!r}")


def ocsp_http_status(response: bytes) -> int:
    """400 for malformedRequest, 503 for tryLater, else 200 (see the module's text)."""
    if len(response) == 5 and response.startswith(_OCSP_ERROR_PREFIX):
        if response[4] == _OCSP_MALFORMED:
            return 400
        if response[4] == _OCSP_TRY_LATER:
            return 503
    return 200


async def _ocsp(service: CaService, request_der: bytes) -> tuple[bytes, int]:
    # A cached response, or a signature over cached statuses, is answered on the event loop
    # (no I/O; a hop to a thread costs more than it frees, the signature holds the GIL); a
    # status that must come from the database is looked up in a worker thread.
    answer = service.ocsp.cached(request_der) or service.ocsp.respond_without_lookup(request_der)
    if answer is None:
        answer = await run_in_threadpool(service.ocsp.respond, request_der)
    return answer, ocsp_http_status(answer)


_OCSP_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _binary(OCSP_RESPONSE, "OCSPResponse successful, or unauthorized (a foreign issuer)"),
    400: _binary(OCSP_RESPONSE, "OCSPResponse malformedRequest"),
    503: _binary(OCSP_RESPONSE, "OCSPResponse tryLater (the database cannot be reached)"),
    **{
        status: spec
        for status, spec in error_responses("body_too_large", "unsupported_media_type").items()
        if status not in (400, 503)
    },
}


@router.post(
    "/ocsp",
    response_class=Response,
    responses=_OCSP_RESPONSES,
    openapi_extra=_request_body(OCSP_REQUEST),
    summary="OCSP (RFC 6960) over POST",
    description="Answers for both issuing CAs, signed by each CA's delegated responder. Requests "
    "without a nonce are answered from a cache (at most 60 s old, cleared on revocation).",
)
async def ocsp_post(request: Request) -> Response:
    service: CaService = request.app.state.ca
    _check_media_type(request, OCSP_REQUEST)
    answer, status = await _ocsp(service, await request.body())
    return Response(answer, status_code=status, media_type=OCSP_RESPONSE)


@router.get(
    "/ocsp/{encoded:path}",
    response_class=Response,
    responses=_OCSP_RESPONSES,
    summary="OCSP (RFC 6960 appendix A.1) over GET: the URL-encoded base64 of the DER request",
)
async def ocsp_get(encoded: str, service: Service) -> Response:
    try:
        request_der = decode_base64(encoded, "bad_request", "the OCSP request")
    except CaError:
        request_der = b""  # answered malformedRequest, like any other unreadable request
    answer, status = await _ocsp(service, request_der)
    headers = {"Cache-Control": ocsp_cache_control(service)} if status == 200 else {}
    return Response(answer, status_code=status, media_type=OCSP_RESPONSE, headers=headers)


def ocsp_cache_control(service: CaService) -> str:
    """What a GET answer tells HTTP caches: as long as our own cache may keep it."""
    age = int(service.settings.ocsp_cache_max_age.total_seconds())
    return f"max-age={age}, public, no-transform, must-revalidate"


# -- time-stamps -----------------------------------------------------------------------------


def tsp_http_status(reply: bytes) -> int:
    """400 when the TSA rejected the request as badDataFormat (not a TimeStampReq), else 200."""
    try:
        start, stop, _ = der.expect(reply, 0, len(reply), der.SEQUENCE)
        info_start, info_stop, _ = der.expect(reply, start, stop, der.SEQUENCE)
        parts = der.items(reply, info_start, info_stop)
    except ValueError:
        return 200
    for tag, _, s, e, _ in parts:
        if tag == 0x03 and e - s >= 2:  # failInfo BIT STRING: unused-bits octet, then bits
            byte, bit = divmod(_TSP_BAD_DATA_FORMAT, 8)
            if e - s > byte + 1 and reply[s + 1 + byte] & (0x80 >> bit):
                return 400
    return 200


@router.post(
    "/tsp",
    response_class=Response,
    responses={
        200: _binary(TSP_REPLY, "A TimeStampResp: granted, or rejected with a failInfo"),
        400: _binary(TSP_REPLY, "TimeStampResp rejection badDataFormat"),
        **{
            status: spec
            for status, spec in error_responses(
                "body_too_large", "unsupported_media_type", "database_error"
            ).items()
            if status != 400
        },
    },
    openapi_extra=_request_body(TSP_QUERY),
    summary="Time-stamping (RFC 3161): SHA-256/384/512 imprints, nonce, certReq",
)
async def timestamp(request: Request) -> Response:
    service: CaService = request.app.state.ca
    _check_media_type(request, TSP_QUERY)
    query = await request.body()
    # A token is one signature and no I/O, signed here on the event loop (a hop to a worker
    # thread costs more than it frees: the signature holds the GIL); only reserving the next
    # block of serial numbers touches the database, and that goes to a thread.
    serial = service.tsa_serials.take()
    if serial is None:
        serial = await run_in_threadpool(service.tsa_serials.next)
    reply = service.timestamp(query, serial)
    return Response(reply, status_code=tsp_http_status(reply), media_type=TSP_REPLY)


# -- certificates and CRLs --------------------------------------------------------------------

_CA_DOC = "`ca` is `nac` (citizens and companies) or `gov` (state agencies, PSC staff)."


@router.get(
    "/ca/{ca}-root.crt",
    response_class=Response,
    responses={
        200: _binary(PKIX_CERT, "The root certificate, DER"),
        **error_responses("unknown_ca"),
    },
    summary="Root certificate above issuing CA `ca`",
    description=_CA_DOC,
)
async def root_certificate(ca: str, service: Service) -> Response:
    return _der(_certificate(service, f"{ca}-root"), PKIX_CERT)


@router.get(
    "/ca/{ca}.crt",
    response_class=Response,
    responses={
        200: _binary(PKIX_CERT, "The issuing CA certificate, DER"),
        **error_responses("unknown_ca"),
    },
    summary="Issuing CA certificate (the caIssuers URL of end-entity certificates)",
    description=_CA_DOC,
)
async def ca_certificate(ca: str, service: Service) -> Response:
    return _der(_certificate(service, ca), PKIX_CERT)


def _certificate(service: CaService, name: str) -> bytes:
    found = service.pki.certificates.get(name)
    if found is None:
        raise CaError("unknown_ca", name[:32])
    return found


@router.get(
    "/crl/{ca}-root.crl",
    response_class=Response,
    responses={200: _binary(PKIX_CRL, "The root's CRL, DER"), **error_responses("unknown_ca")},
    summary="CRL of the root above issuing CA `ca`",
    description=_CA_DOC,
)
async def root_crl(ca: str, service: Service) -> Response:
    found = service.pki.root_crls.get(ca)
    if found is None:
        raise CaError("unknown_ca", ca[:32])
    return _der(found, PKIX_CRL)


@router.get(
    "/crl/{ca}.crl",
    response_class=Response,
    responses={
        200: _binary(PKIX_CRL, "The issuing CA's current full CRL, DER"),
        **error_responses("unknown_ca", "database_error"),
    },
    summary="Current CRL of issuing CA `ca` (made anew after a revocation)",
    description=_CA_DOC,
)
def crl(ca: str, service: Service) -> Response:
    return _der(authority.current_crl(service.db, service.authority(ca)), PKIX_CRL)
