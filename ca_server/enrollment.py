"""Enrolment: who may get a new AUTH + SIGN pair, decided by one authoriser per way in.

Like step-ca's provisioners, each way of being allowed a certificate is a small authoriser:

* `OperatorAction` — a CA or PSC operator issues on the spot (`qalam-ca issue`, the operator API);
* `OneTimeCode` — the code a PSC operator handed to the applicant after checking their identity
  document (enrolment or re-issue: a re-issue code supersedes the applicant's current pair);
* `AuthKeySignature` — self-service renewal: the request signed (CMS) with the applicant's
  still-valid AUTH key from this CA; the new pair supersedes the old one.

An authoriser runs inside the issuing transaction (authority.issue_pair), so a code is consumed
and a signer's certificate checked in the same transaction that issues, and a refusal anywhere
leaves the code unused. Whatever an authoriser says, the registry still decides the profile.

Two re-issues for one holder at once: exactly one wins. A superseding authority is granted
against the holder's state at one moment: a re-issue code when the operator created it, a
renewal when its signing AUTH certificate was issued. If the holder (same CA, role and BIN: the
certificates a re-issue supersedes) got a certificate after that moment (for a renewal: a newer
AUTH certificate), the issuance is refused with `reissue_conflict` (409): nothing is issued,
nothing revoked. So of two codes, or a code and a renewal, started from the same state, the
first to commit wins and the other is refused even when it arrives later, instead of silently
revoking the winner's brand-new certificates. (A renewal that loses to a re-issue meets
`signer_revoked` first: the winner superseded the AUTH key that signed it.) The check runs
under the holder's lock (Database.lock_holder: an advisory lock on PostgreSQL, the writer lock
on SQLite), so it is race-free across workers. The moments are the workers' clocks (to the
microsecond): workers on several machines must keep them in step (NTP), as they already must
for certificate validity.

A refused code stays unused (the refusal rolls the redemption back) but is stale for good:
every later use meets the same newer certificate, so the refusal tells the applicant to ask the
PSC operator for a new code. Consuming it would gain nothing and would hide from the audit log
that the code was never used to issue anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ca_server import audit, registry
from ca_server.authority import (
    Authorisation,
    CertificationAuthority,
    GrantedAgainst,
    IssuedPair,
    check_csr,
    issue_pair,
    serial_hex,
)
from ca_server.db import GOOD, AuditEntry, CertificateRecord, Database
from ca_server.errors import CaError
from ca_server.profiles import Purpose, Role
from signer_app.crypto import cms
from signer_app.crypto.errors import QalamError

__all__ = [
    "RENEWAL_MAX_AGE",
    "AuthKeySignature",
    "Authoriser",
    "OneTimeCode",
    "OperatorAction",
    "enroll",
    "renewal_request",
]

# How old the signing time of a renewal request may be (and how far in the future).
RENEWAL_MAX_AGE = dt.timedelta(hours=24)
_CLOCK_SKEW = dt.timedelta(minutes=5)
_RENEWAL_MAGIC = b"qalam-ca renewal request v1\n"


class Authoriser(Protocol):
    """One way of being allowed a certificate."""

    def actor(self, iin: str) -> str:
        """Who the audit log names for this request."""
        ...

    def profile(self, db: Database, iin: str, request: bytes) -> tuple[Role, str | None] | None:
        """The role (and BIN) this authorisation implies, if the applicant names none."""
        ...

    def authorise(
        self, session: Session, iin: str, request: bytes, now: dt.datetime
    ) -> Authorisation:
        """Decide inside the issuing transaction; raise CaError to refuse."""
        ...


def renewal_request(iin: str, auth_csr_der: bytes, sign_csr_der: bytes) -> bytes:
    """The bytes a renewal signs with the old AUTH key: the IIN and the hashes of both CSRs.

    Binding the CSRs means a captured signature cannot get certificates for other keys.
    """
    return (
        _RENEWAL_MAGIC
        + f"iin={iin}\n".encode("ascii")
        + f"auth_csr_sha256={hashlib.sha256(auth_csr_der).hexdigest()}\n".encode("ascii")
        + f"sign_csr_sha256={hashlib.sha256(sign_csr_der).hexdigest()}\n".encode("ascii")
    )


@dataclass(frozen=True)
class OperatorAction:
    """An operator issues for the applicant (their identity checked by the operator)."""

    operator: str

    def actor(self, iin: str) -> str:
        return self.operator

    def profile(self, db: Database, iin: str, request: bytes) -> tuple[Role, str | None] | None:
        return None

    def authorise(
        self, session: Session, iin: str, request: bytes, now: dt.datetime
    ) -> Authorisation:
        return Authorisation(actor=self.operator, method="operator")


@dataclass(frozen=True)
class OneTimeCode:
    """A one-time code from a PSC operator (registry.create_ticket)."""

    code: str

    def actor(self, iin: str) -> str:
        return f"applicant:{iin}"

    def profile(self, db: Database, iin: str, request: bytes) -> tuple[Role, str | None] | None:
        return None

    def authorise(
        self, session: Session, iin: str, request: bytes, now: dt.datetime
    ) -> Authorisation:
        ticket = registry.redeem_ticket(session, self.code, iin, actor=self.actor(iin), now=now)
        return Authorisation(
            actor=self.actor(iin),
            method="one_time_code",
            supersede=ticket.purpose == "reissue",
            details={"ticket": ticket.id, "ticket_created_by": ticket.created_by},
            granted_against=GrantedAgainst(ticket.created_at),
        )


@dataclass(frozen=True)
class AuthKeySignature:
    """Renewal: `renewal_request(...)` signed (CMS, attached or detached) with the old AUTH key."""

    cms: bytes

    def actor(self, iin: str) -> str:
        return f"applicant:{iin}"

    def profile(self, db: Database, iin: str, request: bytes) -> tuple[Role, str | None] | None:
        """The role and BIN of the AUTH certificate being renewed (renewal keeps them)."""
        try:
            signers = _verify(self.cms, request).signers
        except CaError:
            return None  # authorise() refuses it with the precise reason
        if len(signers) != 1 or signers[0].certificate is None:
            return None
        with db.reading() as session:
            row = session.get(CertificateRecord, serial_hex(signers[0].certificate.serial_number))
            if row is None or row.iin != iin or row.role not in _ROLES:
                return None
            return Role(row.role), row.bin

    def authorise(
        self, session: Session, iin: str, request: bytes, now: dt.datetime
    ) -> Authorisation:
        result = _verify(self.cms, request)
        if len(result.signers) != 1:
            raise CaError("signature_invalid", f"{len(result.signers)} signers, need exactly 1")
        signer = result.signers[0]
        if not signer.valid or signer.certificate is None:
            raise CaError("signature_invalid", ",".join(signer.problems) or "no certificate")
        if signer.signing_time is not None and not (
            now - RENEWAL_MAX_AGE <= signer.signing_time <= now + _CLOCK_SKEW
        ):
            raise CaError("signature_invalid", f"signed at {signer.signing_time.isoformat()}")
        der = signer.certificate.public_bytes(serialization.Encoding.DER)
        row = session.get(CertificateRecord, serial_hex(signer.certificate.serial_number))
        if row is None or row.der != der:
            raise CaError("signer_unknown")
        if row.status != GOOD:
            raise CaError("signer_revoked", row.serial)
        if not row.not_before <= now <= row.not_after:
            raise CaError("signer_expired", f"{row.serial} valid until {row.not_after.isoformat()}")
        if row.purpose != Purpose.AUTH.value:
            raise CaError("signer_not_auth", f"{row.serial} is a {row.purpose} certificate")
        if row.iin != iin:
            raise CaError("signer_mismatch")
        return Authorisation(
            actor=self.actor(iin),
            method="auth_key_signature",
            supersede=True,
            details={"signer": row.serial},
            # Only a newer AUTH key of the signer's own line makes it stale: a holder may keep
            # an RSA and a GOST set side by side, and renewing one must not need the other
            # to be older. A winner of either line still stops this one: superseding revokes
            # both lines, so the signer is found revoked above.
            granted_against=GrantedAgainst(
                row.created_at, frozenset({Purpose.AUTH}), line=row.ca_id
            ),
        )


_ROLES = frozenset(role.value for role in Role)


def _verify(blob: bytes, request: bytes) -> cms.CmsVerification:
    """Check the CMS over `request` (attached content must be exactly the request)."""
    try:
        return cms.verify(blob, data=request)
    except QalamError as exc:
        raise CaError("signature_invalid", exc.code) from None


# Wrong codes allowed per window. A code has 80 random bits (registry.CODE_ALPHABET, 16
# characters), so guessing is hopeless anyway: 5 tries per IIN per 15 minutes over a code's
# 24 hours is 480 tries, a chance of 480 / 2**80 (about 4e-22). The limits stop a script from
# filling the audit log and make an attack visible in it.
CODE_WINDOW = dt.timedelta(minutes=15)
CODE_TRIES_PER_IIN = 5
CODE_TRIES_PER_CLIENT = 20
_CODE_FAILURES = ("code_invalid", "code_used", "code_expired")


def check_code_attempts(
    db: Database, iin: str, remote_addr: str | None, now: dt.datetime | None = None
) -> None:
    """`too_many_attempts` when this IIN, or this client, gave too many wrong codes lately.

    Counted from the audit log, so every worker on one database sees the same count.
    """
    since = (now or dt.datetime.now(dt.UTC)) - CODE_WINDOW
    failed = (
        AuditEntry.action == "certificate.issue",  # where authority.issue_pair logs refusals
        AuditEntry.outcome.in_(_CODE_FAILURES),
        AuditEntry.at >= since,
    )
    with db.reading() as session:
        per_iin = session.scalar(select(func.count()).where(*failed, AuditEntry.target == iin))
        per_client = 0
        if remote_addr:
            per_client = (
                session.scalar(
                    select(func.count()).where(*failed, AuditEntry.remote_addr == remote_addr)
                )
                or 0
            )
    if (per_iin or 0) >= CODE_TRIES_PER_IIN:
        raise CaError("too_many_attempts", f"{per_iin} wrong codes for this IIN")
    if per_client >= CODE_TRIES_PER_CLIENT:
        raise CaError("too_many_attempts", f"{per_client} wrong codes from {remote_addr}")


def enroll(
    db: Database,
    authorities: Mapping[str, CertificationAuthority],
    authorisation: Authoriser,
    iin: str,
    csrs: Mapping[Purpose | str, bytes | str],
    *,
    role: Role | str | None = None,
    bin: str | None = None,
    remote_addr: str | None = None,
    now: dt.datetime | None = None,
) -> IssuedPair:
    """Issue the applicant a new AUTH + SIGN pair if `authorisation` allows it.

    `csrs` maps "auth" and "sign" to PKCS#10 requests (PEM or DER) for two different keys. The
    role defaults to what the authorisation implies (a renewal keeps the old role), else
    individual. The pair is returned after it is committed; a refusal changes nothing but the
    audit log.
    """
    actor = authorisation.actor(str(iin)[:32])
    try:
        iin = registry.check_iin(iin)
        if isinstance(authorisation, OneTimeCode):
            check_code_attempts(db, iin, remote_addr, now)
        wanted = {Purpose(str(purpose)): csr for purpose, csr in csrs.items()}
        if set(wanted) != {Purpose.AUTH, Purpose.SIGN}:
            raise CaError("invalid_input", "need exactly one AUTH and one SIGN request")
        auth_der = check_csr(wanted[Purpose.AUTH]).der
        sign_der = check_csr(wanted[Purpose.SIGN]).der
        request = renewal_request(iin, auth_der, sign_der)
        if role is None:
            implied = authorisation.profile(db, iin, request)
            role, bin = implied if implied is not None else (Role.INDIVIDUAL, None)
        chosen = registry.parse_role(role)
        ca = authorities.get(registry.ROLE_CA[chosen])
        if ca is None:
            raise CaError("unknown_ca", registry.ROLE_CA[chosen])
    except (CaError, ValueError) as exc:
        error = exc if isinstance(exc, CaError) else CaError("invalid_input", str(exc))
        audit.record_refusal(
            db, actor, "certificate.enroll", str(iin)[:64], error, remote_addr=remote_addr
        )
        raise error from None

    def authorise(session: Session, moment: dt.datetime) -> Authorisation:
        return authorisation.authorise(session, iin, request, moment)

    return issue_pair(
        db,
        ca,
        auth_der,
        sign_der,
        iin=iin,
        role=chosen,
        bin=bin,
        actor=actor,
        authorise=authorise,
        remote_addr=remote_addr,
        request=request,
        now=now,
    )
