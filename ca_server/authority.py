"""Issue, revoke and report on certificates, and keep each issuing CA's CRL: the CA's one core.

Everything that decides what a certificate says or whether it is revoked happens here, between
the authorisers (enrollment.py), the registry (registry.py) and the signer (ca_keys.py):

* A CSR is only a proof of possession of a key: it must parse, be signed by its own key
  (RSA ≥ 2048 bits, ECDSA P-256, or GOST 34.10-2015 512 checked through gost.py, which
  `cryptography` cannot), and must not name another person. A GOST key is certified by the
  GOST issuing CA of the same centre (``CertificationAuthority.gost``). Its subject and extensions
  are otherwise ignored; the subject comes from the registry and the extensions from the profile.
* Issuance is one transaction: the authoriser's own changes (a code consumed), the certificate
  rows, the superseded certificates' revocation and the audit rows commit together, and the
  signed certificates are returned only after the commit. A crash before it leaves nothing
  issued that the database does not know: the certificates existed only in that process.
* Serial numbers are 20 random bytes; a collision with an existing serial (a unique-constraint
  violation, from this or another worker) is retried with a fresh serial inside a SAVEPOINT.
* A revocation marks the CA's CRL stale; `current_crl` regenerates a stale CRL (or one past half
  its lifetime) with the next CRL number, under a row lock so workers do not race.
* A refused request changes nothing and leaves one audit row with the error code.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ca_server import audit, registry
from ca_server.ca_keys import CaSigner
from ca_server.crl import RevokedEntry, build_crl
from ca_server.db import GOOD, REVOKED, CertificateRecord, CrlState, Database, utcnow
from ca_server.errors import CaError
from ca_server.ocsp import CertId, CertStatus, StatusLookup, TryLater
from ca_server.profiles import (
    DEFAULT_BASE_URL,
    PROFILES,
    Person,
    Purpose,
    Role,
    build_end_entity_certificate,
    random_serial_number,
)
from signer_app.crypto import gost, gost_x509
from signer_app.crypto.algorithms import DigestAlgorithm, KeyAlgorithm
from signer_app.crypto.identity import dn_string

__all__ = [
    "DEFAULT_CRL_VALIDITY",
    "MAX_CSR_SIZE",
    "MIN_RSA_BITS",
    "REVOCATION_REASONS",
    "Authorisation",
    "Authorise",
    "CertificateStatus",
    "CertificationAuthority",
    "CheckedCsr",
    "GostCaSigner",
    "GrantedAgainst",
    "IssuedCertificate",
    "IssuedPair",
    "Revocation",
    "certificates_of",
    "check_csr",
    "current_crl",
    "import_certificate",
    "issue",
    "issue_pair",
    "parse_reason",
    "parse_serial",
    "revoke",
    "serial_hex",
    "status",
    "status_lookup",
]

MAX_CSR_SIZE = 64 * 1024
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 16384
DEFAULT_CRL_VALIDITY = dt.timedelta(days=1)
_SERIAL_ATTEMPTS = 8

# RFC 5280 §5.3.1 reasons an end-entity certificate can be revoked for here. certificateHold is
# left out (revocation here is final), removeFromCRL belongs to delta CRLs, and the CA and AA
# compromise reasons to CA certificates.
REVOCATION_REASONS: Mapping[str, x509.ReasonFlags] = {
    flag.value: flag
    for flag in (
        x509.ReasonFlags.unspecified,
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.privilege_withdrawn,
    )
}
_REASON_CODES = {
    0: "unspecified",
    1: "keyCompromise",
    3: "affiliationChanged",
    4: "superseded",
    5: "cessationOfOperation",
    9: "privilegeWithdrawn",
}


# -- values -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GostCaSigner:
    """A GOST 34.10-2015 CA key with its certificate. Not a CaSigner: `cryptography`'s
    builders cannot use it, so the GOST paths here sign through gost_x509.py."""

    certificate: x509.Certificate
    private_key: gost.GostPrivateKey

    def __post_init__(self) -> None:
        public = gost.public_key_from_certificate(self.certificate)
        mine = self.private_key.public_key
        if public is None or (public.x, public.y) != (mine.x, mine.y):
            raise CaError("internal", "the GOST CA key does not belong to the CA certificate")

    def sign(self, data: bytes) -> bytes:
        """A GOST 2015 signature (Streebog-512, NCA's r‖s) of `data`."""
        return self.private_key.sign(data, DigestAlgorithm.STREEBOG512)


@dataclass(frozen=True)
class CertificationAuthority:
    """An issuing CA of this instance: its name in URLs ("nac", "gov"), signer and root.

    `gost` is the same centre's GOST 2015 issuing CA ("nac-gost"), which certifies the GOST
    keys of the people this CA serves."""

    id: str
    signer: CaSigner | GostCaSigner
    root: x509.Certificate | None = None
    base_url: str = DEFAULT_BASE_URL
    crl_validity: dt.timedelta = DEFAULT_CRL_VALIDITY
    gost: CertificationAuthority | None = None

    @property
    def certificate(self) -> x509.Certificate:
        return self.signer.certificate


@dataclass(frozen=True)
class CheckedCsr:
    """A CSR that parsed, proved possession of its key, and carries an acceptable key."""

    csr: x509.CertificateSigningRequest
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | gost.GostPublicKey
    der: bytes

    @property
    def is_gost(self) -> bool:
        return isinstance(self.public_key, gost.GostPublicKey)

    @property
    def key_description(self) -> str:
        if isinstance(self.public_key, gost.GostPublicKey):
            return "GOST2015-512"
        if isinstance(self.public_key, rsa.RSAPublicKey):
            return f"RSA-{self.public_key.key_size}"
        return "EC-P256"

    def spki(self) -> bytes:
        if isinstance(self.public_key, gost.GostPublicKey):
            return self.public_key.subject_public_key_info()
        return self.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class Authorisation:
    """What an authoriser decided, inside the issuing transaction.

    `actor` is who the audit log names; `method` how they were allowed ("operator",
    "one_time_code", "auth_key_signature"); `supersede` revokes the holder's current
    certificates of the same CA and role as *superseded* in the same transaction.
    `granted_against` is the state a superseding authority was given for: the issuance is
    refused (`reissue_conflict`) if the holder got a newer certificate since.
    """

    actor: str
    method: str
    supersede: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)
    granted_against: GrantedAgainst | None = None


@dataclass(frozen=True)
class GrantedAgainst:
    """When a superseding authority was established, and which certificates make it stale.

    A code was created at `since` (any new certificate of the holder counts); a renewal is
    signed by an AUTH certificate created at `since` (only a newer AUTH certificate counts: the
    signer's own SIGN partner may have been recorded a moment later).
    """

    since: dt.datetime
    purposes: frozenset[Purpose] = frozenset(Purpose)
    line: str | None = None  # only certificates of this CA count (else the whole holder scope)


# Runs inside the issuing transaction: may read, and change (consume a code); raises CaError.
Authorise = Callable[[Session, dt.datetime], Authorisation]


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate that is committed to the database."""

    serial: str
    certificate: x509.Certificate
    ca: str
    iin: str
    role: Role
    purpose: Purpose
    profile: str

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def ski(self) -> str:
        return _ski(self.certificate)


@dataclass(frozen=True)
class IssuedPair:
    """The AUTH and SIGN certificates of one enrolment."""

    auth: IssuedCertificate
    sign: IssuedCertificate


@dataclass(frozen=True)
class Revocation:
    """A revocation that is committed."""

    serial: str
    ca: str
    revoked_at: dt.datetime
    reason: x509.ReasonFlags


@dataclass(frozen=True)
class CertificateStatus:
    """What the database knows about one certificate."""

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
    status: str
    revoked_at: dt.datetime | None
    reason: str | None
    superseded_by: str | None
    expired: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "serial": self.serial,
            "ca": self.ca,
            "iin": self.iin,
            "bin": self.bin,
            "role": self.role,
            "purpose": self.purpose,
            "profile": self.profile,
            "subject": self.subject,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "status": self.status,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "reason": self.reason,
            "superseded_by": self.superseded_by,
            "expired": self.expired,
        }


# -- serial numbers and reasons ---------------------------------------------------------------


def serial_hex(serial: int) -> str:
    """How serials are stored and shown: lower-case hex, at least 40 digits (20 bytes)."""
    if serial < 0:
        raise ValueError("serial numbers are positive")
    return format(serial, "040x")


def parse_serial(text: str | int) -> str:
    """A serial as a person types it (hex, any case, with colons, spaces or 0x) in stored form."""
    if isinstance(text, int):
        return serial_hex(text)
    cleaned = text.strip().lower().replace(":", "").replace(" ", "")
    cleaned = cleaned.removeprefix("0x")
    try:
        value = int(cleaned, 16)
    except ValueError:
        raise CaError(
            "invalid_input", f"{text[:80]!r} is not a hexadecimal serial number"
        ) from None
    if not cleaned or len(cleaned) > 64:
        raise CaError("invalid_input", "a serial number has 1 to 64 hexadecimal digits")
    return serial_hex(value)


def parse_reason(reason: str | int | x509.ReasonFlags) -> x509.ReasonFlags:
    """An RFC 5280 reason by name ("keyCompromise", "key_compromise") or code (1)."""
    if isinstance(reason, x509.ReasonFlags):
        name = reason.value
    elif isinstance(reason, int) or (isinstance(reason, str) and reason.strip().isdigit()):
        name = _REASON_CODES.get(int(reason), "")
    else:
        wanted = reason.strip().replace("_", "").replace("-", "").lower()
        name = next((n for n in REVOCATION_REASONS if n.lower() == wanted), "")
    if name not in REVOCATION_REASONS:
        known = ", ".join(REVOCATION_REASONS)
        raise CaError("invalid_reason", f"{str(reason)[:40]!r}; use one of: {known}")
    return REVOCATION_REASONS[name]


def _ski(certificate: x509.Certificate) -> str:
    try:
        ext = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return ext.value.digest.hex()
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest.hex()


def _now(now: dt.datetime | None) -> dt.datetime:
    # Certificates and CRLs carry whole seconds; keep the database in step with them.
    return (now or utcnow()).astimezone(dt.UTC).replace(microsecond=0)


# -- CSRs -------------------------------------------------------------------------------------


def check_csr(data: bytes | str) -> CheckedCsr:
    """Parse a PKCS#10 request (PEM or DER) and check its key and its proof of possession."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    if not raw or len(raw) > MAX_CSR_SIZE:
        raise CaError("csr_malformed", f"{len(raw)} bytes (1..{MAX_CSR_SIZE} allowed)")
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            csr = x509.load_pem_x509_csr(raw)
        else:
            csr = x509.load_der_x509_csr(raw)
    except ValueError:
        raise CaError("csr_malformed", "not a PKCS#10 certificate request") from None
    try:
        key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return _check_gost_csr(csr)
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CaError("key_too_weak", f"RSA-{key.key_size}")
        if key.key_size > MAX_RSA_BITS:
            raise CaError("key_unsupported", f"RSA-{key.key_size} is larger than we accept")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise CaError("key_unsupported", f"EC curve {key.curve.name}")
    else:
        raise CaError("key_unsupported", type(key).__name__)
    try:
        proved = csr.is_signature_valid
    except UnsupportedAlgorithm:
        raise CaError("csr_bad_signature", "unsupported signature algorithm") from None
    if not proved:
        raise CaError("csr_bad_signature")
    return CheckedCsr(csr, key, csr.public_bytes(serialization.Encoding.DER))


def _check_gost_csr(csr: x509.CertificateSigningRequest) -> CheckedCsr:
    """A request `cryptography` parsed but whose key it does not know: a GOST 2015 key is
    checked here (its self-signature over the request info, NCA's signature OID)."""
    der = csr.public_bytes(serialization.Encoding.DER)
    try:
        info = asn1_csr.CertificationRequest.load(der)["certification_request_info"]
        public = gost.public_key_from_spki(info["subject_pk_info"].dump())
    except (ValueError, TypeError, KeyError):
        raise CaError("csr_malformed", "not a PKCS#10 certificate request") from None
    if public is None:
        raise CaError("key_unsupported", "the key's algorithm is not known here")
    if public.algorithm is not KeyAlgorithm.GOST2015:
        raise CaError("key_unsupported", "GOST 34.310-2004 keys are no longer issued")
    try:
        public.point  # noqa: B018 - a point off the curve is no key at all
    except ValueError:
        raise CaError("key_unsupported", "the GOST public key is not on its curve") from None
    if csr.signature_algorithm_oid.dotted_string != gost.GOST2015_512_SIGNATURE_OID:
        raise CaError("csr_bad_signature", "unsupported signature algorithm")
    if not public.verify(csr.signature, csr.tbs_certrequest_bytes):
        raise CaError("csr_bad_signature")
    return CheckedCsr(csr, public, der)


def _attribute_text(attribute: x509.NameAttribute[str | bytes]) -> str:
    value = attribute.value
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _check_subject(checked: CheckedCsr, iin: str, bin_: str | None) -> None:
    """A CSR may leave its subject empty; an IIN or BIN it names must be the applicant's."""
    subject = checked.csr.subject
    for attribute in subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        text = _attribute_text(attribute).strip()
        if text.upper().removeprefix("IIN") != iin:
            raise CaError("csr_subject_mismatch", f"the CSR names SERIALNUMBER={text[:40]}")
    for attribute in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
        text = _attribute_text(attribute).strip()
        if text.upper().startswith("BIN") and text.upper().removeprefix("BIN") != (bin_ or ""):
            raise CaError("csr_subject_mismatch", f"the CSR names OU={text[:40]}")


# -- issuance ---------------------------------------------------------------------------------


def import_certificate(
    session: Session,
    ca_id: str,
    certificate: x509.Certificate,
    *,
    iin: str | None,
    bin: str | None,
    role: str,
    purpose: str,
    profile: str,
    revoked_at: dt.datetime | None = None,
    reason: x509.ReasonFlags | None = None,
    created_at: dt.datetime | None = None,
) -> CertificateRecord:
    """Record a certificate this CA signed (issued here, or adopted from the demo PKI)."""
    row = CertificateRecord(
        serial=serial_hex(certificate.serial_number),
        ca_id=ca_id,
        iin=iin,
        bin=bin,
        role=role,
        purpose=purpose,
        profile=profile,
        subject=dn_string(certificate.subject),
        ski=_ski(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        der=certificate.public_bytes(serialization.Encoding.DER),
        status=REVOKED if revoked_at is not None else GOOD,
        revoked_at=revoked_at,
        reason=(reason or x509.ReasonFlags.unspecified).value if revoked_at is not None else None,
        created_at=created_at or utcnow(),
    )
    session.add(row)
    return row


def _sign_and_insert(
    session: Session,
    ca: CertificationAuthority,
    holder: Person,
    role: Role,
    purpose: Purpose,
    checked: CheckedCsr,
    now: dt.datetime,
    recorded: dt.datetime,
) -> IssuedCertificate:
    profile = PROFILES[purpose, role]
    not_after = min(
        now + dt.timedelta(days=profile.validity_days), ca.certificate.not_valid_after_utc
    )
    for _ in range(_SERIAL_ATTEMPTS):
        serial = random_serial_number()
        certificate = build_end_entity_certificate(
            person=holder,
            public_key=checked.public_key,
            profile=profile,
            issuer=ca.certificate,
            issuer_key=ca.signer.private_key,
            issuer_name=ca.id,
            not_before=now,
            not_after=not_after,
            serial_number=serial,
            base_url=ca.base_url,
        )
        try:
            # A SAVEPOINT, so a serial that collides undoes this insert only, not the transaction.
            with session.begin_nested():
                import_certificate(
                    session,
                    ca.id,
                    certificate,
                    iin=holder.iin,
                    bin=holder.bin,
                    role=role.value,
                    purpose=purpose.value,
                    profile=profile.name,
                    created_at=recorded,
                )
        except IntegrityError:
            if session.get(CertificateRecord, serial_hex(serial)) is None:
                raise
            continue
        return IssuedCertificate(
            serial=serial_hex(serial),
            certificate=certificate,
            ca=ca.id,
            iin=holder.iin,
            role=role,
            purpose=purpose,
            profile=profile.name,
        )
    raise CaError("internal", f"no free serial number after {_SERIAL_ATTEMPTS} attempts")


def _holder_scope(
    ca_ids: Sequence[str], holder: Person, role: Role
) -> tuple[ColumnElement[bool], ...]:
    """The certificates one issuance supersedes: the holder's, of these CAs (a line and its
    GOST twin), role and BIN."""
    return (
        CertificateRecord.ca_id.in_(list(ca_ids)),
        CertificateRecord.iin == holder.iin,
        CertificateRecord.role == role.value,
        CertificateRecord.bin.is_(None)
        if holder.bin is None
        else CertificateRecord.bin == holder.bin,
    )


def _refuse_if_stale(
    session: Session,
    ca_ids: Sequence[str],
    holder: Person,
    role: Role,
    granted: GrantedAgainst,
) -> None:
    """`reissue_conflict` when the holder got a certificate after the authority was granted.

    Of two re-issues started from the same state, the first to commit made the other's
    authority stale: it is refused whole (nothing issued, nothing revoked) instead of revoking
    the winner's brand-new certificates. Runs under the holder's lock (Database.lock_holder).
    """
    newer = session.scalars(
        select(CertificateRecord.serial)
        .where(
            *_holder_scope([granted.line] if granted.line else ca_ids, holder, role),
            CertificateRecord.purpose.in_([p.value for p in granted.purposes]),
            CertificateRecord.created_at > granted.since,
        )
        .order_by(CertificateRecord.created_at)
        .limit(1)
    ).first()
    if newer is not None:
        raise CaError(
            "reissue_conflict",
            f"certificate {newer} was issued after {granted.since.isoformat()}",
        )


def _supersede(
    session: Session,
    ca_ids: Sequence[str],
    holder: Person,
    role: Role,
    new: Mapping[Purpose, IssuedCertificate],
    now: dt.datetime,
    actor: str,
) -> list[str]:
    """Revoke the holder's other good certificates of these CAs and role as superseded."""
    query = select(CertificateRecord).where(
        *_holder_scope(ca_ids, holder, role),
        CertificateRecord.status == GOOD,
        CertificateRecord.serial.not_in([c.serial for c in new.values()]),
    )
    revoked = []
    for row in session.scalars(query).all():
        replacement = next((c for c in new.values() if c.purpose.value == row.purpose), None)
        superseded_by = replacement.serial if replacement else None
        changed = _revoke_row(session, row.serial, x509.ReasonFlags.superseded, now, superseded_by)
        if changed is not None:
            audit.record(
                session,
                actor,
                "certificate.revoke",
                row.serial,
                details={"ca": changed, "reason": "superseded", "superseded_by": superseded_by},
                at=now,
            )
            revoked.append(row.serial)
    return revoked


# Test hook of the process-kill test (tests/interop/test_ca_http_openssl.py): only with
# QALAM_CA_TEST_HOOKS=1, and only while the file named by QALAM_CA_TEST_PAUSE_BEFORE_COMMIT
# exists, an issuance writes its pid to "<file>.pid" and waits there, signed but not committed.
TEST_HOOKS_ENV = "QALAM_CA_TEST_HOOKS"
PAUSE_BEFORE_COMMIT_ENV = "QALAM_CA_TEST_PAUSE_BEFORE_COMMIT"
_PAUSE_LIMIT_S = 60.0


def _pause_before_commit() -> None:
    if os.environ.get(TEST_HOOKS_ENV) != "1":
        return
    armed = os.environ.get(PAUSE_BEFORE_COMMIT_ENV)
    if not armed or not os.path.exists(armed):
        return
    with open(f"{armed}.pid", "w", encoding="ascii") as marker:
        marker.write(str(os.getpid()))
    deadline = time.monotonic() + _PAUSE_LIMIT_S
    while os.path.exists(armed) and time.monotonic() < deadline:
        time.sleep(0.05)


def _issuer_for(
    ca: CertificationAuthority, checked: Sequence[CheckedCsr]
) -> CertificationAuthority:
    """The CA that certifies these keys: `ca` for RSA/EC, its GOST sibling for GOST keys."""
    families = {csr.is_gost for csr in checked}
    if families == {True}:
        if ca.gost is None:
            raise CaError("key_unsupported", f"{ca.id} issues no GOST certificates here")
        return ca.gost
    if len(families) > 1:
        raise CaError("key_unsupported", "a GOST key and an RSA/EC key cannot be issued together")
    return ca


def _issue_all(
    db: Database,
    ca: CertificationAuthority,
    csrs: Sequence[tuple[Purpose, bytes | str]],
    *,
    iin: str,
    role: Role | str,
    bin: str | None,
    actor: str,
    authorise: Authorise | None,
    remote_addr: str | None,
    request: bytes,
    now: dt.datetime | None,
) -> dict[Purpose, IssuedCertificate]:
    target = str(iin)[:64]
    try:
        role = registry.parse_role(role)
        iin = registry.check_iin(iin)
        target = iin
        bin_ = registry.check_bin(bin) if bin is not None else None
        if registry.ROLE_CA[role] != ca.id:
            raise CaError(
                "profile_not_allowed",
                f"{role.value} certificates come from {registry.ROLE_CA[role]}, not {ca.id}",
            )
        checked = [(purpose, check_csr(csr)) for purpose, csr in csrs]
        # New keys of either family replace the holder's keys of both (NAC and its GOST line).
        lines = [ca.id, *([ca.gost.id] if ca.gost is not None else [])]
        ca = _issuer_for(ca, [csr for _, csr in checked])
        for _, csr in checked:
            _check_subject(csr, iin, bin_)
        if len({csr.spki() for _, csr in checked}) != len(checked):
            raise CaError("key_reused")
        request = request or b"".join(csr.der for _, csr in checked)
        issued: dict[Purpose, IssuedCertificate] = {}
        with db.transaction() as session:
            # Everything below runs one holder at a time, so a re-issue sees (and refuses
            # against) whatever a concurrent one committed first.
            db.lock_holder(session, iin)
            # Read after the lock: one holder's certificates are then dated in commit order,
            # to the microsecond (the certificates themselves carry whole seconds), so a code
            # made in the same second as a re-issue is still known to be older or newer.
            recorded = (now or utcnow()).astimezone(dt.UTC)
            moment = _now(recorded)
            grant = (
                authorise(session, moment)
                if authorise is not None
                else Authorisation(actor=actor, method="operator")
            )
            holder = registry.subject_person(session, iin, role, bin_)
            if grant.supersede and grant.granted_against is not None:
                _refuse_if_stale(session, lines, holder, role, grant.granted_against)
            for purpose, csr in checked:
                issued[purpose] = _sign_and_insert(
                    session, ca, holder, role, purpose, csr, moment, recorded
                )
            superseded = (
                _supersede(session, lines, holder, role, issued, moment, grant.actor)
                if grant.supersede
                else []
            )
            for cert in issued.values():
                audit.record(
                    session,
                    grant.actor,
                    "certificate.issue",
                    cert.serial,
                    remote_addr=remote_addr,
                    request=request,
                    details={
                        "ca": ca.id,
                        "iin": iin,
                        "bin": bin_,
                        "role": role.value,
                        "purpose": cert.purpose.value,
                        "profile": cert.profile,
                        "authorised_by": grant.method,
                        **dict(grant.details),
                    },
                    at=moment,
                )
            if superseded:
                for line in lines:  # a GOST re-issue may have revoked RSA certificates too
                    _mark_crl_stale(session, line)
            _pause_before_commit()
        # Committed: only now may the certificates leave this function.
        return issued
    except CaError as error:
        audit.record_refusal(
            db,
            actor,
            "certificate.issue",
            target,
            error,
            remote_addr=remote_addr,
            request=request,
            details={"ca": ca.id},
        )
        raise


def issue(
    db: Database,
    ca: CertificationAuthority,
    csr: bytes | str,
    *,
    iin: str,
    role: Role | str,
    purpose: Purpose | str,
    bin: str | None = None,
    actor: str,
    authorise: Authorise | None = None,
    remote_addr: str | None = None,
    request: bytes = b"",
    now: dt.datetime | None = None,
) -> IssuedCertificate:
    """Issue one certificate of `purpose` for registered person `iin` holding `role` (in `bin`).

    Without `authorise` the issuance is an operator action by `actor`.
    """
    try:
        wanted = Purpose(purpose)
    except ValueError:
        raise CaError("invalid_input", f"purpose must be auth or sign, not {purpose!r}") from None
    issued = _issue_all(
        db,
        ca,
        [(wanted, csr)],
        iin=iin,
        role=role,
        bin=bin,
        actor=actor,
        authorise=authorise,
        remote_addr=remote_addr,
        request=request,
        now=now,
    )
    return issued[wanted]


def issue_pair(
    db: Database,
    ca: CertificationAuthority,
    auth_csr: bytes | str,
    sign_csr: bytes | str,
    *,
    iin: str,
    role: Role | str,
    bin: str | None = None,
    actor: str,
    authorise: Authorise | None = None,
    remote_addr: str | None = None,
    request: bytes = b"",
    now: dt.datetime | None = None,
) -> IssuedPair:
    """Issue the AUTH and SIGN certificates of one person in one transaction (two keys)."""
    issued = _issue_all(
        db,
        ca,
        [(Purpose.AUTH, auth_csr), (Purpose.SIGN, sign_csr)],
        iin=iin,
        role=role,
        bin=bin,
        actor=actor,
        authorise=authorise,
        remote_addr=remote_addr,
        request=request,
        now=now,
    )
    return IssuedPair(auth=issued[Purpose.AUTH], sign=issued[Purpose.SIGN])


# -- revocation and status --------------------------------------------------------------------


def _mark_crl_stale(session: Session, ca_id: str) -> None:
    session.execute(
        update(CrlState)
        .where(CrlState.ca_id == ca_id)
        .values(stale=True)
        .execution_options(synchronize_session=False)
    )


def _revoke_row(
    session: Session,
    serial: str,
    reason: x509.ReasonFlags,
    at: dt.datetime,
    superseded_by: str | None = None,
) -> str | None:
    """Revoke one good certificate; the CA id, or None if it was not good (or not there)."""
    values: dict[str, Any] = {"status": REVOKED, "revoked_at": at, "reason": reason.value}
    if superseded_by is not None:
        values["superseded_by"] = superseded_by
    ca_id = session.execute(
        update(CertificateRecord)
        .where(CertificateRecord.serial == serial, CertificateRecord.status == GOOD)
        .values(**values)
        .returning(CertificateRecord.ca_id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return ca_id


def revoke(
    db: Database,
    serial: str | int,
    reason: str | int | x509.ReasonFlags,
    *,
    actor: str,
    remote_addr: str | None = None,
    request: bytes = b"",
    now: dt.datetime | None = None,
) -> Revocation:
    """Revoke a certificate for an RFC 5280 reason, with an audit row; the CRL becomes stale.

    `not_found` for a serial this instance never issued, `already_revoked` for a second time.
    """
    target = str(serial)[:64]
    try:
        serial = parse_serial(serial)
        target = serial
        flag = parse_reason(reason)
        moment = _now(now)
        with db.transaction() as session:
            ca_id = _revoke_row(session, serial, flag, moment)
            if ca_id is None:
                row = session.get(CertificateRecord, serial)
                if row is None:
                    raise CaError("not_found", serial)
                raise CaError("already_revoked", f"{serial} since {row.revoked_at}")
            _mark_crl_stale(session, ca_id)
            audit.record(
                session,
                actor,
                "certificate.revoke",
                serial,
                remote_addr=remote_addr,
                request=request,
                details={"ca": ca_id, "reason": flag.value},
                at=moment,
            )
        return Revocation(serial, ca_id, moment, flag)
    except CaError as error:
        audit.record_refusal(
            db, actor, "certificate.revoke", target, error, remote_addr=remote_addr, request=request
        )
        raise


def _status_of(row: CertificateRecord, now: dt.datetime) -> CertificateStatus:
    return CertificateStatus(
        serial=row.serial,
        ca=row.ca_id,
        iin=row.iin,
        bin=row.bin,
        role=row.role,
        purpose=row.purpose,
        profile=row.profile,
        subject=row.subject,
        not_before=row.not_before,
        not_after=row.not_after,
        status=row.status,
        revoked_at=row.revoked_at,
        reason=row.reason,
        superseded_by=row.superseded_by,
        expired=now > row.not_after,
    )


def status(db: Database, serial: str | int, *, now: dt.datetime | None = None) -> CertificateStatus:
    """What the database knows about a certificate; `not_found` if this instance never issued it."""
    key = parse_serial(serial)
    with db.reading() as session:
        row = session.get(CertificateRecord, key)
        if row is None:
            raise CaError("not_found", key)
        return _status_of(row, now or utcnow())


def certificates_of(db: Database, iin: str) -> Sequence[CertificateStatus]:
    """Every certificate issued to person `iin`, oldest first."""
    now = utcnow()
    with db.reading() as session:
        rows = session.scalars(
            select(CertificateRecord)
            .where(CertificateRecord.iin == iin)
            .order_by(CertificateRecord.created_at, CertificateRecord.serial)
        )
        return [_status_of(row, now) for row in rows]


def issued_for_key(db: Database, ski: str) -> Sequence[tuple[CertificateStatus, bytes]]:
    """Every certificate issued for the public key whose SubjectKeyIdentifier is ``ski`` (hex),
    with its DER, oldest first. Public: a certificate is public, and only the key's holder
    knows its identifier before the certificate exists (how a client recovers a certificate
    whose answer it never received)."""
    key = ski.strip().lower()
    if len(key) != 40 or any(c not in "0123456789abcdef" for c in key):
        raise CaError("invalid_input", "a key identifier is 40 hex digits (SHA-1 of the key)")
    now = utcnow()
    with db.reading() as session:
        rows = session.scalars(
            select(CertificateRecord)
            .where(CertificateRecord.ski == key)
            .order_by(CertificateRecord.created_at, CertificateRecord.serial)
        )
        return [(_status_of(row, now), row.der) for row in rows]


def status_lookup(db: Database) -> StatusLookup:
    """The status lookup an OCSP responder (ocsp.respond) asks: CertId.issuer is the CA id."""

    def lookup(cert_id: CertId) -> CertStatus:
        try:
            with db.reading() as session:
                row = session.get(CertificateRecord, serial_hex(cert_id.serial_number))
        except CaError:  # database_error: the database cannot be reached
            raise TryLater("the CA database is not available") from None
        if row is None or row.ca_id != cert_id.issuer:
            return CertStatus.unknown()
        if row.status == REVOKED and row.revoked_at is not None:
            reason = x509.ReasonFlags(row.reason) if row.reason else None
            return CertStatus.revoked(row.revoked_at, reason)
        return CertStatus.good()

    return lookup


# -- CRLs -------------------------------------------------------------------------------------


def _due(state: CrlState, now: dt.datetime) -> bool:
    if state.stale or state.der is None or state.this_update is None or state.next_update is None:
        return True
    half_life = (state.next_update - state.this_update) / 2
    return now >= state.this_update + half_life


def current_crl(
    db: Database, ca: CertificationAuthority, *, now: dt.datetime | None = None
) -> bytes:
    """The CA's CRL (DER), made anew when a revocation made it stale or half its life is gone."""
    moment = _now(now)
    with db.reading() as session:
        state = session.get(CrlState, ca.id)
        if state is not None and not _due(state, moment) and state.der is not None:
            return state.der
    with db.transaction() as session:
        state = session.scalars(
            select(CrlState).where(CrlState.ca_id == ca.id).with_for_update()
        ).one_or_none()
        if state is None:
            state = CrlState(ca_id=ca.id, crl_number=0, stale=True)
            session.add(state)
        elif not _due(state, moment) and state.der is not None:
            return state.der  # another worker made it while we waited for the lock
        revoked = session.execute(
            select(CertificateRecord.serial, CertificateRecord.revoked_at, CertificateRecord.reason)
            .where(CertificateRecord.ca_id == ca.id, CertificateRecord.status == REVOKED)
            .order_by(CertificateRecord.revoked_at, CertificateRecord.serial)
        ).all()
        entries = [
            RevokedEntry(int(serial, 16), at, x509.ReasonFlags(reason) if reason else None)
            for serial, at, reason in revoked
            if at is not None
        ]
        number = state.crl_number + 1
        if isinstance(ca.signer, GostCaSigner):
            der = _gost_crl(ca, ca.signer, entries, number, moment)
        else:
            der = build_crl(
                ca.certificate,
                ca.signer.private_key,
                entries,
                number,
                moment,
                moment + ca.crl_validity,
            )
        state.crl_number = number
        state.this_update = moment
        state.next_update = moment + ca.crl_validity
        state.der = der
        state.stale = False
        audit.record(
            session,
            "system",
            "crl.generate",
            ca.id,
            details={"crl_number": number, "revoked": len(entries)},
            at=moment,
        )
        return der


def _gost_crl(
    ca: CertificationAuthority,
    signer: GostCaSigner,
    entries: Sequence[RevokedEntry],
    number: int,
    moment: dt.datetime,
) -> bytes:
    """The GOST CA's CRL: the same content as crl.build_crl's, signed through gost_x509.py."""
    ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    return gost_x509.sign_crl(
        issuer=ca.certificate.subject.public_bytes(),
        this_update=moment,
        next_update=moment + ca.crl_validity,
        revoked=[
            gost_x509.RevokedEntry(e.serial_number, e.revocation_time, e.reason) for e in entries
        ],
        extensions=[
            x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(number)),
            x509.Extension(x509.AuthorityKeyIdentifier.oid, False, aki),
        ],
        key=signer.private_key,
    )
