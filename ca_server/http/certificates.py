"""Certificates: anyone may ask a certificate's status by serial; operators list a person's
certificates and revoke. Thin: decode -> authorise (operators_auth) -> authority -> render."""

from __future__ import annotations

from typing import Annotated

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Path

from ca_server import authority, operators_auth
from ca_server.http.deps import Caller, Operator, Service, error_responses
from ca_server.http.models import (
    CertificateOut,
    IssuedCertificateOut,
    RevocationOut,
    RevokeRequest,
)

__all__ = ["router"]

router = APIRouter(tags=["certificates"])

Serial = Annotated[
    str,
    Path(
        min_length=1,
        max_length=80,
        description="Serial number in hex (any case; colons and spaces allowed)",
        examples=["58196ec9ba6c521ff00ec136c7ea3e33090617fd"],
    ),
]
Ski = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-fA-F]{40}$",
        description="SubjectKeyIdentifier of the public key (SHA-1 of the key bits), hex",
        examples=["3f2504e04f8911d39a0c0305e82c3301a1b2c3d4"],
    ),
]
Iin = Annotated[str, Path(pattern=r"^[0-9]{12}$", examples=["850101300124"])]

_OPERATOR_ERRORS = ("unauthenticated", "session_expired", "forbidden")


@router.get(
    "/certificates/{serial}",
    response_model=CertificateOut,
    responses=error_responses("not_found"),
    summary="What the CA knows about a certificate it issued",
)
def certificate_status(serial: Serial, service: Service) -> CertificateOut:
    return CertificateOut.of(authority.status(service.db, serial))


@router.get(
    "/keys/{ski}/certificates",
    response_model=list[IssuedCertificateOut],
    responses=error_responses("invalid_input"),
    summary="Certificates issued for a public key, with their PEM (recovery after a lost answer)",
)
def certificates_for_key(ski: Ski, service: Service) -> list[IssuedCertificateOut]:
    found = authority.issued_for_key(service.db, ski)
    return [
        IssuedCertificateOut(
            **item.to_dict(),
            pem=x509.load_der_x509_certificate(der)
            .public_bytes(serialization.Encoding.PEM)
            .decode("ascii"),
        )
        for item, der in found
    ]


@router.post(
    "/certificates/{serial}/revoke",
    response_model=RevocationOut,
    responses=error_responses("not_found", "already_revoked", "invalid_reason", *_OPERATOR_ERRORS),
    summary="Revoke a certificate (operator)",
)
def revoke(
    serial: Serial, body: RevokeRequest, service: Service, who: Operator, caller: Caller
) -> RevocationOut:
    done = operators_auth.revoke(
        service.db,
        who,
        serial,
        body.reason,
        remote_addr=caller.remote_addr,
        request=caller.request,
    )
    service.revoked([done.serial])
    return RevocationOut(
        serial=done.serial, ca=done.ca, revoked_at=done.revoked_at, reason=done.reason.value
    )


@router.get(
    "/persons/{iin}/certificates",
    response_model=list[CertificateOut],
    responses=error_responses("invalid_iin", "unknown_person", *_OPERATOR_ERRORS),
    summary="Every certificate of a person, oldest first (operator)",
)
def person_certificates(
    iin: Iin, service: Service, who: Operator, caller: Caller
) -> list[CertificateOut]:
    found = operators_auth.certificates_of(
        service.db, who, iin, remote_addr=caller.remote_addr, request=caller.request
    )
    return [CertificateOut.of(item) for item in found]
