"""Enrolment: a new AUTH + SIGN pair for a one-time code or a renewal signed with the old AUTH key.

decode (CSRs, the CMS) -> authorise (enrollment.OneTimeCode / AuthKeySignature, decided inside
the issuing transaction) -> authority (enrollment.enroll) -> render (PEM).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter

from ca_server import enrollment
from ca_server.errors import CaError
from ca_server.http.deps import Caller, Service, decode_base64, error_responses
from ca_server.http.models import EnrollRequest, EnrollResponse, IssuedSerials

__all__ = ["router"]

router = APIRouter(tags=["enrolment"])


def _csr(text: str) -> bytes:
    """A PKCS#10 request as sent in JSON: PEM, or base64 of the DER."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        return stripped.encode("ascii", "replace")
    return decode_base64(stripped, "csr_malformed", "the certificate request")


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


@router.post(
    "/enroll",
    status_code=201,
    response_model=EnrollResponse,
    responses=error_responses(
        "invalid_iin",
        "invalid_bin",
        "unknown_person",
        "unknown_legal_entity",
        "profile_not_allowed",
        "unknown_role",
        "csr_malformed",
        "csr_bad_signature",
        "csr_subject_mismatch",
        "key_too_weak",
        "key_unsupported",
        "key_reused",
        "code_invalid",
        "code_expired",
        "code_used",
        "too_many_attempts",
        "signature_invalid",
        "signer_unknown",
        "signer_revoked",
        "signer_expired",
        "signer_not_auth",
        "signer_mismatch",
        "body_too_large",
        "database_error",
    ),
    summary="Get a new AUTH and SIGN certificate pair",
)
def enroll(body: EnrollRequest, service: Service, caller: Caller) -> EnrollResponse:
    authoriser: enrollment.Authoriser
    if (body.code is None) == (body.renewal_signature is None):
        raise CaError("invalid_input", "give exactly one of code and renewal_signature")
    if body.code is not None:
        authoriser = enrollment.OneTimeCode(body.code)
    else:
        assert body.renewal_signature is not None  # noqa: S101 - checked above
        signature = body.renewal_signature.strip()
        blob = (
            signature.encode("ascii", "replace")
            if signature.startswith("-----BEGIN")
            else decode_base64(signature, "signature_invalid", "the renewal signature")
        )
        authoriser = enrollment.AuthKeySignature(blob)
    pair = enrollment.enroll(
        service.db,
        service.authorities,
        authoriser,
        body.iin,
        {"auth": _csr(body.csr_auth), "sign": _csr(body.csr_sign)},
        role=body.role,
        bin=body.bin,
        remote_addr=caller.remote_addr,
    )
    service.revoked(service.superseded_by(pair))
    ca = service.authority(pair.auth.ca)
    chain = [ca.certificate] + ([ca.root] if ca.root is not None else [])
    return EnrollResponse(
        ca=ca.id,
        auth=_pem(pair.auth.certificate),
        sign=_pem(pair.sign.certificate),
        chain=[_pem(c) for c in chain],
        serials=IssuedSerials(auth=pair.auth.serial, sign=pair.sign.serial),
    )
