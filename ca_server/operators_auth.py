"""PSC and CA operators: signing in with a GOV CA AUTH certificate, sessions, roles, actions.

Signing in is a challenge and a signature; there are no passwords:

1. `create_challenge`: 32 random bytes, valid five minutes, kept (as a SHA-256) in the database,
   so whichever worker receives the answer can check it.
2. The operator signs the challenge bytes (CMS, attached or detached) with their GOV CA AUTH key,
   as Qalam's operator mode does (NCALayer's createCAdESFromBase64 signs the same bytes).
3. `open_session`, in one transaction: the challenge is used up by a conditional UPDATE (so it
   works once, whichever worker gets it); the CMS verifies over the challenge; its signer
   certificate is one this instance issued, byte for byte, by GOV CA, good, valid now, an AUTH
   certificate, and registered in the operators table (not disabled). Then a random bearer
   token is returned; the database keeps its SHA-256 only, for eight hours at most (never past
   the certificate's end).
4. `authenticate`: a request's token gives the `OperatorIdentity` while the session is open and
   unexpired, the operator enabled and their certificate still good: revoking an operator's
   certificate ends their sessions at once.

A refused sign-in changes nothing (the challenge stays unused) except one audit row whose
outcome is the error code.

Each operator action below checks the role's permission (`PERMISSIONS`), then calls the CA's
core, and is written to the audit log with the operator, the remote address and the request's
SHA-256; a refusal too. The roles (the operators table allows these three):

* ``operator`` (PSC staff): look up persons and their certificates, revoke a person's
  certificate, create one-time codes after checking the identity document;
* ``admin``: all of that, revoke service certificates (OCSP responder, TSA), read the audit log;
* ``auditor``: read the audit log and certificate statuses, change nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ca_server import audit, authority, registry
from ca_server.authority import CertificateStatus, Revocation, serial_hex
from ca_server.db import (
    GOOD,
    CertificateRecord,
    Database,
    Operator,
    OperatorChallenge,
    OperatorSession,
    utcnow,
)
from ca_server.errors import CaError
from ca_server.profiles import Purpose
from signer_app.crypto import cms
from signer_app.crypto.errors import QalamError

__all__ = [
    "CHALLENGE_BYTES",
    "CHALLENGE_TTL",
    "OPERATOR_CA",
    "PERMISSIONS",
    "SESSION_TTL",
    "Challenge",
    "NewSession",
    "OperatorIdentity",
    "PersonView",
    "authenticate",
    "certificates_of",
    "create_challenge",
    "create_ticket",
    "end_session",
    "look_up_person",
    "open_session",
    "read_audit",
    "revoke",
]

CHALLENGE_BYTES = 32
CHALLENGE_TTL = dt.timedelta(minutes=5)
SESSION_TTL = dt.timedelta(hours=8)
OPERATOR_CA = "gov"
_MAX_TOKEN = 128

PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "operator": frozenset(
            {"person.read", "certificate.read", "certificate.revoke", "ticket.create"}
        ),
        "admin": frozenset(
            {
                "person.read",
                "certificate.read",
                "certificate.revoke",
                "certificate.revoke_service",
                "ticket.create",
                "audit.read",
            }
        ),
        "auditor": frozenset({"certificate.read", "audit.read"}),
    }
)


@dataclass(frozen=True)
class Challenge:
    """A sign-in challenge: the bytes to sign and when they stop being accepted."""

    value: bytes
    expires_at: dt.datetime


@dataclass(frozen=True)
class OperatorIdentity:
    """Who is calling: a registered operator with an open session."""

    operator_id: int
    iin: str
    role: str
    certificate_serial: str
    session_id: int
    expires_at: dt.datetime

    @property
    def actor(self) -> str:
        """How the audit log names them."""
        return f"operator:{self.iin}"

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


@dataclass(frozen=True)
class NewSession:
    """A session just opened. `token` is shown once and never stored."""

    token: str
    identity: OperatorIdentity


@dataclass(frozen=True)
class PersonView:
    """What an operator sees of a person: the registry's record, roles, and what they may get.

    The identity document number is deliberately left out (only whether one is registered):
    the operator types the number from the document they hold, and the CA compares.
    """

    person: registry.PersonInfo
    employments: Sequence[registry.EmploymentInfo]
    grants: Sequence[registry.Grant]


def _sha256(value: bytes | str) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


# -- signing in -------------------------------------------------------------------------------


def create_challenge(
    db: Database,
    *,
    remote_addr: str | None = None,
    ttl: dt.timedelta = CHALLENGE_TTL,
    now: dt.datetime | None = None,
) -> Challenge:
    """A new random challenge, stored as its hash; expired challenges are deleted on the way."""
    moment = now or utcnow()
    value = secrets.token_bytes(CHALLENGE_BYTES)
    with db.transaction() as session:
        session.execute(
            delete(OperatorChallenge)
            .where(OperatorChallenge.expires_at < moment)
            .execution_options(synchronize_session=False)
        )
        session.add(
            OperatorChallenge(
                challenge_hash=_sha256(value),
                created_at=moment,
                expires_at=moment + ttl,
                remote_addr=remote_addr,
            )
        )
    return Challenge(value, moment + ttl)


def _verify(signature: bytes | str, challenge: bytes) -> x509.Certificate:
    """The one signer's certificate of a valid CMS over `challenge`; `signature_invalid` else."""
    try:
        result = cms.verify(signature, data=challenge)
    except QalamError as exc:
        raise CaError("signature_invalid", exc.code) from None
    if len(result.signers) != 1:
        raise CaError("signature_invalid", f"{len(result.signers)} signers, need exactly 1")
    signer = result.signers[0]
    if not signer.valid or signer.certificate is None:
        raise CaError("signature_invalid", ",".join(signer.problems) or "no certificate")
    return signer.certificate


def _refuse_challenge(session: Session, digest: str) -> None:
    """Raise why the challenge with this hash cannot be used (unknown, used or expired)."""
    row = session.scalars(
        select(OperatorChallenge).where(OperatorChallenge.challenge_hash == digest)
    ).one_or_none()
    if row is None:
        raise CaError("challenge_invalid")
    if row.used_at is not None:
        raise CaError("challenge_used", f"challenge {row.id}")
    raise CaError("challenge_expired", f"challenge {row.id}")


def _check_challenge(db: Database, challenge: bytes, moment: dt.datetime) -> None:
    """Refuse an unusable challenge before any signature is checked (read only)."""
    digest = _sha256(challenge)
    with db.reading() as session:
        usable = session.scalar(
            select(OperatorChallenge.id).where(
                OperatorChallenge.challenge_hash == digest,
                OperatorChallenge.used_at.is_(None),
                OperatorChallenge.expires_at > moment,
            )
        )
        if usable is None:
            _refuse_challenge(session, digest)


def _use_challenge(session: Session, challenge: bytes, moment: dt.datetime) -> None:
    """Use the challenge up; of two workers using it at once, exactly one succeeds."""
    digest = _sha256(challenge)
    used = session.execute(
        update(OperatorChallenge)
        .where(
            OperatorChallenge.challenge_hash == digest,
            OperatorChallenge.used_at.is_(None),
            OperatorChallenge.expires_at > moment,
        )
        .values(used_at=moment)
        .returning(OperatorChallenge.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if used is None:
        _refuse_challenge(session, digest)


def open_session(
    db: Database,
    challenge: bytes,
    signature: bytes | str,
    *,
    issuer: x509.Certificate | None = None,
    remote_addr: str | None = None,
    request: bytes = b"",
    ttl: dt.timedelta = SESSION_TTL,
    now: dt.datetime | None = None,
) -> NewSession:
    """Sign an operator in with `signature`, a CMS over `challenge` (see the module's steps).

    `issuer` is the GOV CA certificate: when given, the signer certificate must also verify
    under it (the database already says who issued it; this checks the bytes too).
    """
    moment = (now or utcnow()).astimezone(dt.UTC)
    actor, target = "anonymous", None
    try:
        if not 0 < len(challenge) <= 4 * CHALLENGE_BYTES:
            raise CaError("challenge_invalid", f"{len(challenge)} bytes")
        _check_challenge(db, challenge, moment)
        certificate = _verify(signature, challenge)
        serial = serial_hex(certificate.serial_number)
        actor, target = f"certificate:{serial}", serial
        with db.transaction() as session:
            _use_challenge(session, challenge, moment)
            row = session.get(CertificateRecord, serial)
            der = certificate.public_bytes(serialization.Encoding.DER)
            if row is None or row.der != der:
                raise CaError("signer_unknown", serial)
            if row.ca_id != OPERATOR_CA:
                raise CaError("operator_wrong_ca", f"{serial} is from {row.ca_id}")
            if issuer is not None:
                try:
                    certificate.verify_directly_issued_by(issuer)
                except (ValueError, TypeError, InvalidSignature):
                    raise CaError("signer_unknown", f"{serial} does not verify") from None
            if row.status != GOOD:
                raise CaError("signer_revoked", serial)
            if not row.not_before <= moment <= row.not_after:
                raise CaError("signer_expired", f"{serial} valid until {row.not_after}")
            if row.purpose != Purpose.AUTH.value:
                raise CaError("signer_not_auth", f"{serial} is a {row.purpose} certificate")
            operator = session.scalars(
                select(Operator)
                .where(
                    Operator.iin == row.iin,
                    Operator.disabled_at.is_(None),
                    or_(Operator.certificate_serial == serial, Operator.ski == row.ski),
                )
                .order_by(Operator.id)
                .limit(1)
            ).one_or_none()
            if operator is None:
                raise CaError("operator_not_registered", serial)
            actor, target = f"operator:{operator.iin}", operator.iin
            token = secrets.token_urlsafe(32)
            expires_at = min(moment + ttl, row.not_after)
            opened = OperatorSession(
                token_hash=_sha256(token),
                operator_id=operator.id,
                certificate_serial=serial,
                created_at=moment,
                expires_at=expires_at,
                remote_addr=remote_addr,
            )
            session.add(opened)
            session.flush()
            audit.record(
                session,
                actor,
                "operator.sign_in",
                target,
                remote_addr=remote_addr,
                request=request,
                details={"certificate": serial, "role": operator.role, "session": opened.id},
                at=moment,
            )
            identity = OperatorIdentity(
                operator_id=operator.id,
                iin=operator.iin,
                role=operator.role,
                certificate_serial=serial,
                session_id=opened.id,
                expires_at=expires_at,
            )
        return NewSession(token, identity)
    except CaError as error:
        audit.record_refusal(
            db,
            actor,
            "operator.sign_in",
            target,
            error,
            remote_addr=remote_addr,
            request=request,
        )
        raise


def authenticate(db: Database, token: str, *, now: dt.datetime | None = None) -> OperatorIdentity:
    """The operator whose session `token` opens; `unauthenticated` or `session_expired` else."""
    if not token or len(token) > _MAX_TOKEN:
        raise CaError("unauthenticated", "no usable bearer token")
    moment = now or utcnow()
    with db.reading() as session:
        found = session.execute(
            select(OperatorSession, Operator, CertificateRecord.status)
            .join(Operator, Operator.id == OperatorSession.operator_id)
            .join(CertificateRecord, CertificateRecord.serial == OperatorSession.certificate_serial)
            .where(OperatorSession.token_hash == _sha256(token))
        ).one_or_none()
    if found is None:
        raise CaError("unauthenticated", "unknown token")
    opened, operator, status = found
    if opened.ended_at is not None:
        raise CaError("unauthenticated", "the session was ended")
    if opened.expires_at <= moment:
        raise CaError("session_expired", f"session {opened.id}")
    if operator.disabled_at is not None:
        raise CaError("unauthenticated", "the operator is disabled")
    if status != GOOD:
        raise CaError("unauthenticated", "the operator's certificate is revoked")
    return OperatorIdentity(
        operator_id=operator.id,
        iin=operator.iin,
        role=operator.role,
        certificate_serial=opened.certificate_serial,
        session_id=opened.id,
        expires_at=opened.expires_at,
    )


def end_session(
    db: Database,
    who: OperatorIdentity,
    *,
    remote_addr: str | None = None,
    request: bytes = b"",
    now: dt.datetime | None = None,
) -> None:
    """Sign out: the session's token stops working."""
    moment = now or utcnow()
    with db.transaction() as session:
        session.execute(
            update(OperatorSession)
            .where(OperatorSession.id == who.session_id, OperatorSession.ended_at.is_(None))
            .values(ended_at=moment)
            .execution_options(synchronize_session=False)
        )
        audit.record(
            session,
            who.actor,
            "operator.sign_out",
            who.iin,
            remote_addr=remote_addr,
            request=request,
            details={"session": who.session_id},
            at=moment,
        )


# -- what operators do ------------------------------------------------------------------------


def _require(
    db: Database,
    who: OperatorIdentity,
    permission: str,
    action: str,
    target: str | None,
    remote_addr: str | None,
    request: bytes,
) -> None:
    if who.may(permission):
        return
    error = CaError("forbidden", f"role {who.role} may not {permission}")
    audit.record_refusal(
        db, who.actor, action, target, error, remote_addr=remote_addr, request=request
    )
    raise error


def _audited_read(
    db: Database,
    who: OperatorIdentity,
    action: str,
    target: str | None,
    remote_addr: str | None,
    request: bytes,
    details: Mapping[str, object] | None = None,
) -> None:
    with db.transaction() as session:
        audit.record(
            session,
            who.actor,
            action,
            target,
            remote_addr=remote_addr,
            request=request,
            details=details,
        )


def look_up_person(
    db: Database,
    who: OperatorIdentity,
    iin: str,
    *,
    remote_addr: str | None = None,
    request: bytes = b"",
) -> PersonView:
    """A person's registry record, roles and possible profiles (`person.read`)."""
    target = str(iin)[:64]
    _require(db, who, "person.read", "person.read", target, remote_addr, request)
    try:
        person = registry.get_person(db, iin)
        view = PersonView(
            person,
            registry.employments_of(db, person.iin),
            registry.allowed_roles(db, person.iin),
        )
    except CaError as error:
        audit.record_refusal(
            db, who.actor, "person.read", target, error, remote_addr=remote_addr, request=request
        )
        raise
    _audited_read(db, who, "person.read", person.iin, remote_addr, request)
    return view


def certificates_of(
    db: Database,
    who: OperatorIdentity,
    iin: str,
    *,
    remote_addr: str | None = None,
    request: bytes = b"",
) -> Sequence[CertificateStatus]:
    """Every certificate of a registered person, oldest first (`certificate.read`)."""
    target = str(iin)[:64]
    _require(db, who, "certificate.read", "person.certificates", target, remote_addr, request)
    try:
        person = registry.get_person(db, iin)
    except CaError as error:
        audit.record_refusal(
            db,
            who.actor,
            "person.certificates",
            target,
            error,
            remote_addr=remote_addr,
            request=request,
        )
        raise
    found = authority.certificates_of(db, person.iin)
    _audited_read(
        db, who, "person.certificates", person.iin, remote_addr, request, {"count": len(found)}
    )
    return found


def revoke(
    db: Database,
    who: OperatorIdentity,
    serial: str,
    reason: str,
    *,
    remote_addr: str | None = None,
    request: bytes = b"",
) -> Revocation:
    """Revoke a person's certificate (`certificate.revoke`); a service certificate (OCSP
    responder, TSA: no holder) needs `certificate.revoke_service` too."""
    target = str(serial)[:64]
    _require(db, who, "certificate.revoke", "certificate.revoke", target, remote_addr, request)
    try:
        holder = authority.status(db, serial).iin
    except CaError:
        holder = ""  # authority.revoke refuses it below, with its own audit row
    if not who.may("certificate.revoke_service") and holder is None:
        _require(
            db,
            who,
            "certificate.revoke_service",
            "certificate.revoke",
            target,
            remote_addr,
            request,
        )
    return authority.revoke(
        db, serial, reason, actor=who.actor, remote_addr=remote_addr, request=request
    )


def _not_self(
    db: Database,
    who: OperatorIdentity,
    holder: str | None,
    action: str,
    target: str,
    remote_addr: str | None,
    request: bytes,
) -> None:
    """Four eyes: a code for oneself is a colleague's job. (Revoking one's own certificate
    stays allowed: it only takes power away, and a compromised key must go at once.)"""
    if holder and holder == who.iin:
        error = CaError("operator_self", f"{who.actor} on {action}")
        audit.record_refusal(
            db, who.actor, action, target, error, remote_addr=remote_addr, request=request
        )
        raise error


def create_ticket(
    db: Database,
    who: OperatorIdentity,
    iin: str,
    purpose: str,
    *,
    document_type: str,
    document_number: str,
    remote_addr: str | None = None,
    request: bytes = b"",
) -> registry.NewTicket:
    """A one-time enrolment or re-issue code, once the person's document matches the registry."""
    target = str(iin)[:64]
    _require(db, who, "ticket.create", "ticket.create", target, remote_addr, request)
    _not_self(db, who, iin, "ticket.create", target, remote_addr, request)
    return registry.create_ticket(
        db,
        iin,
        who.actor,
        purpose,
        document_type=document_type,
        document_number=document_number,
        remote_addr=remote_addr,
        request=request,
    )


def read_audit(
    db: Database,
    who: OperatorIdentity,
    *,
    since: dt.datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 100,
    remote_addr: str | None = None,
    request: bytes = b"",
) -> Sequence[audit.Entry]:
    """Audit rows (`audit.read`); reading the log is itself logged."""
    _require(db, who, "audit.read", "audit.read", None, remote_addr, request)
    entries = audit.read(db, since, actor, action=action, limit=limit)
    _audited_read(db, who, "audit.read", None, remote_addr, request, {"rows": len(entries)})
    return entries
