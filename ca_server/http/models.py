"""The JSON bodies of the CA's API, as pydantic models (they are the OpenAPI spec's schemas).

Requests forbid unknown fields, so a misspelt field is an error rather than silently ignored.
Field constraints check shape only (12 digits, lengths); meaning (check digits, registry
membership, signatures) is the CA core's to decide, with its own error codes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ca_server.audit import Entry
from ca_server.authority import CertificateStatus

__all__ = [
    "AuditEntryOut",
    "CertificateOut",
    "ChallengeOut",
    "EnrollRequest",
    "EnrollResponse",
    "ErrorBody",
    "Health",
    "IdDocument",
    "IssuedCertificateOut",
    "OperatorOut",
    "PersonOut",
    "RevocationOut",
    "RevokeRequest",
    "SessionOut",
    "SessionRequest",
    "TicketOut",
    "TicketRequest",
]

_IIN = r"^[0-9]{12}$"
_PEM_LIMIT = 32 * 1024
_CMS_LIMIT = 48 * 1024

Reason = Literal[
    "unspecified",
    "keyCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "privilegeWithdrawn",
]
RoleName = Literal["individual", "head", "signer", "employee", "civil_servant", "psc_operator"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every error: a stable code, a plain message, and (for 4xx) what exactly was wrong."""

    code: str = Field(description="Stable error code (ca_server/errors.py)", examples=["code_used"])
    message: str = Field(description="Plain-language message for a person")
    detail: str | None = Field(None, description="What exactly was wrong (never a secret)")


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
    authorities: list[str]
    origin: str = Field(description='"demo" (adopted certs/) or "fresh"')


# -- enrolment ------------------------------------------------------------------------------------


class EnrollRequest(_Request):
    """A new AUTH + SIGN pair: two PKCS#10 requests and one authorisation.

    Give exactly one of `code` (a one-time code from a PSC operator) and `renewal_signature`
    (a CMS, base64, made with the applicant's still-valid AUTH key over
    ca_server.enrollment.renewal_request(iin, auth CSR DER, sign CSR DER)).
    """

    iin: str = Field(pattern=_IIN, description="The applicant's IIN", examples=["850101300124"])
    bin: str | None = Field(None, pattern=_IIN, description="BIN, for a legal-entity role")
    role: RoleName | None = Field(None, description="Default: what the authorisation implies")
    code: str | None = Field(None, min_length=1, max_length=64, description="One-time code")
    csr_auth: str = Field(
        min_length=1, max_length=_PEM_LIMIT, description="PKCS#10, PEM (or base64 DER)"
    )
    csr_sign: str = Field(
        min_length=1, max_length=_PEM_LIMIT, description="PKCS#10, PEM (or base64 DER)"
    )
    renewal_signature: str | None = Field(
        None, min_length=1, max_length=_CMS_LIMIT, description="CMS (base64 or PEM)"
    )


class IssuedSerials(BaseModel):
    auth: str
    sign: str


class EnrollResponse(BaseModel):
    ca: str = Field(description="The issuing CA: nac or gov")
    auth: str = Field(description="The AUTH certificate, PEM")
    sign: str = Field(description="The SIGN certificate, PEM")
    chain: list[str] = Field(description="Issuing CA, then root; PEM")
    serials: IssuedSerials


# -- certificates ---------------------------------------------------------------------------------


class CertificateOut(BaseModel):
    serial: str
    ca: str
    iin: str | None
    bin: str | None
    role: str
    purpose: str
    profile: str
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    status: Literal["good", "revoked"]
    revoked_at: dt.datetime | None
    reason: str | None
    superseded_by: str | None
    expired: bool

    @classmethod
    def of(cls, found: CertificateStatus) -> CertificateOut:
        return cls.model_validate(found.to_dict())


class IssuedCertificateOut(CertificateOut):
    pem: str = Field(description="The certificate itself, PEM")


class RevokeRequest(_Request):
    reason: Reason = Field(description="RFC 5280 reason")


class RevocationOut(BaseModel):
    serial: str
    ca: str
    revoked_at: dt.datetime
    reason: str


# -- operators ------------------------------------------------------------------------------------


class ChallengeOut(BaseModel):
    challenge: str = Field(description="Base64 of the bytes to sign (CMS) with a GOV CA AUTH key")
    expires_at: dt.datetime


class SessionRequest(_Request):
    challenge: str = Field(min_length=1, max_length=256, description="As received, base64")
    signature: str = Field(
        min_length=1,
        max_length=_CMS_LIMIT,
        description="CMS over the challenge bytes (attached or detached), base64 or PEM",
    )


class OperatorOut(BaseModel):
    iin: str
    role: Literal["operator", "admin", "auditor"]
    certificate_serial: str
    session_expires_at: dt.datetime


class SessionOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type
    expires_at: dt.datetime
    operator: OperatorOut


class Employment(BaseModel):
    role: str
    bin: str
    organisation: str


class Grant(BaseModel):
    role: str
    bin: str | None
    ca: str


class PersonOut(BaseModel):
    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: dt.date | None
    email: str | None
    has_id_document: bool = Field(
        description="Whether the registry holds an identity document number (never shown)"
    )
    employments: list[Employment]
    may_get: list[Grant]


class IdDocument(_Request):
    type: Literal["id_card", "passport", "residence_permit"]
    number: str = Field(min_length=1, max_length=32, description="As printed on the document")


class TicketRequest(_Request):
    iin: str = Field(pattern=_IIN, examples=["850101300124"])
    purpose: Literal["enroll", "reissue"] = "reissue"
    id_document: IdDocument = Field(description="The document the person showed the operator")


class TicketOut(BaseModel):
    ticket_id: int
    code: str = Field(description="Shown once; hand it to the person")
    iin: str
    purpose: str
    expires_at: dt.datetime


class AuditEntryOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    remote_addr: str | None
    request_sha256: str | None
    outcome: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: Entry) -> AuditEntryOut:
        return cls.model_validate(entry.to_dict())
