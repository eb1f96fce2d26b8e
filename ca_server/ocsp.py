"""RFC 6960 OCSP responder core: request bytes in, a DER OCSPResponse out, always.

Pure: no database and no HTTP. The caller gives the delegated responder (`OcspSigner`) and a
status lookup; the HTTP layer only moves bytes. Bad input never raises: it becomes an unsigned
error response (`malformedRequest`, `unauthorized`, `tryLater`).

Decisions:

* **Unknown issuer.** A request none of whose CertIDs names a CA we serve gets `unauthorized`
  (RFC 6960 §2.3, RFC 5019 §2.2.3: the server cannot answer authoritatively). A signed `unknown`
  would be worthless, since our delegated responder is not authorised for a foreign CA and no
  client could accept it; and an unsigned answer costs no private-key operation. In a
  multi-CertID request that names at least one CA we serve, the CertIDs of other CAs are
  answered `unknown` (RFC 6960 §2.2: "usually because the request indicates an unrecognized
  issuer"). The first CertID we can serve picks the responder when several are configured.
* **Hashes.** issuerNameHash and issuerKeyHash are matched with the request's own algorithm:
  SHA-1 (what openssl and most clients send), SHA-224, SHA-256 (what NCA uses), SHA-384,
  SHA-512. A CertID made with any other algorithm cannot be matched: a foreign issuer.
* **Nonce** (RFC 8954): 1 to 32 octets is echoed; an empty or longer nonce, or one whose
  extension value is not an OCTET STRING, is `malformedRequest`.
* **Extensions.** Critical request extensions other than the nonce, acceptable-responses and
  preferred-signature-algorithms ones are `malformedRequest` (RFC 6960 §4.4: unrecognised
  extensions are ignored unless critical); duplicates too. The request signature is ignored.
* **Several CertIDs** in one request are all answered, in order, up to `MAX_REQUESTS`; more is
  `malformedRequest`. Each CertID is repeated in DER with the hash parameters as sent (NULL or
  absent: clients compare them too); other parameters are `malformedRequest`.
* **Times.** producedAt = thisUpdate = now in whole seconds; nextUpdate = now + the signer's
  `validity`. Revocation reason `unspecified` is left out, as RFC 5280 §5.3.1 asks of CRLs.

Why hand-built DER rather than cryptography's `OCSPResponseBuilder` (measured: bench_responders):
the builder answers one CertID per response only, and it costs about a third of an RSA-2048
signature on top of the signature itself (it re-derives the responder ID and re-encodes the
certificate on every call); a response is a few fixed fragments cached per signer plus the
CertIDs, times and nonce. cryptography's `load_der_ocsp_request` has the same one-CertID limit,
so requests are read with the small TLV reader of signer_app.crypto.der.

`CachedResponder` keeps signed responses for nonce-less requests (keyed by the request's bytes:
the same bytes ask the same question, and a hit costs no parsing) and status lookups for all
requests. A request with a nonce is always signed afresh (its response must echo the nonce) but
reuses a cached status. `unknown` answers are never cached (a client can ask about any number
of random serials). `max_age` bounds how stale an answer can be when a revocation happened in
another worker process that could not call `invalidate` here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
    PublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID

from ca_server.responder_keys import (
    DIGITAL_SIGNATURE_ONLY,
    build_service_certificate,
    service_subject,
)
from signer_app.crypto import der, gost
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.keystores import SoftwareKey

__all__ = [
    "DEFAULT_VALIDITY",
    "MAX_NONCE_LENGTH",
    "MAX_REQUESTS",
    "CachedResponder",
    "CertId",
    "CertStatus",
    "OcspSigner",
    "Status",
    "StatusLookup",
    "TryLater",
    "make_responder_certificate",
    "respond",
]

DEFAULT_VALIDITY = dt.timedelta(hours=1)
MAX_NONCE_LENGTH = 32  # RFC 8954 §2.1
MAX_REQUESTS = 16

# GOST: the GOST issuing CA answers for its own certificates (see OcspSigner).
ResponderKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | gost.GostPrivateKey


class TryLater(Exception):
    """Raised by a status lookup that cannot answer now (database down): `tryLater` is sent."""


class Status(StrEnum):
    """The three answers OCSP gives about a certificate."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CertStatus:
    """A certificate's status; revocation time and reason only for revoked certificates."""

    status: Status
    revocation_time: dt.datetime | None = None
    reason: x509.ReasonFlags | None = None

    def __post_init__(self) -> None:
        if self.status is Status.REVOKED:
            if self.revocation_time is None or self.revocation_time.tzinfo is None:
                raise ValueError("a revoked status needs a time-zone-aware revocation time")
            if self.reason is x509.ReasonFlags.remove_from_crl:
                raise ValueError("removeFromCRL is no revocation reason: the certificate is good")
        elif self.revocation_time is not None or self.reason is not None:
            raise ValueError(f"a {self.status} status has no revocation time or reason")

    @classmethod
    def good(cls) -> CertStatus:
        """The certificate is known and not revoked."""
        return cls(Status.GOOD)

    @classmethod
    def revoked(cls, time: dt.datetime, reason: x509.ReasonFlags | None = None) -> CertStatus:
        """The certificate was revoked at `time` (for `reason`, if one was given)."""
        return cls(Status.REVOKED, time, reason)

    @classmethod
    def unknown(cls) -> CertStatus:
        """This CA never issued the serial number (or the responder does not know it)."""
        return cls(Status.UNKNOWN)


@dataclass(frozen=True, slots=True)
class CertId:
    """What a lookup is asked: the serial number and the name the OcspSigner gives its CA."""

    issuer: str
    serial_number: int


StatusLookup = Callable[[CertId], CertStatus]

# CertID hash algorithms we can match, by the content octets of their OIDs.
_HASH_OIDS: Mapping[bytes, str] = {
    der.oid_content("1.3.14.3.2.26"): "sha1",
    der.oid_content("2.16.840.1.101.3.4.2.4"): "sha224",
    der.oid_content("2.16.840.1.101.3.4.2.1"): "sha256",
    der.oid_content("2.16.840.1.101.3.4.2.2"): "sha384",
    der.oid_content("2.16.840.1.101.3.4.2.3"): "sha512",
}

_CONTEXT_0 = 0xA0
_CONTEXT_1 = 0xA1
_CONTEXT_2 = 0xA2
_BOOLEAN = 0x01
_BIT_STRING = 0x03
_ENUMERATED = 0x0A


def _public_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _certificate_spki(certificate: x509.Certificate) -> bytes:
    """The DER SubjectPublicKeyInfo of a certificate, GOST keys included (unknown to OpenSSL)."""
    gost_key = gost.public_key_from_certificate(certificate)
    if gost_key is not None:
        return gost_key.subject_public_key_info()
    return _public_der(certificate.public_key())


def _key_spki(key: ResponderKey) -> bytes:
    if isinstance(key, gost.GostPrivateKey):
        return key.public_key.subject_public_key_info()
    return _public_der(key.public_key())


def _key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's bits (what issuerKeyHash and a byKey responder ID hash)."""
    spki = _certificate_spki(certificate)
    start, stop, _ = der.expect(spki, 0, len(spki), der.SEQUENCE)
    _, (tag, _, bits_start, bits_stop, _) = der.items(spki, start, stop)
    if tag != _BIT_STRING:
        raise ValueError("not a SubjectPublicKeyInfo")
    return spki[bits_start + 1 : bits_stop]


def _check_responder(
    certificate: x509.Certificate, issuer: x509.Certificate, issuer_name: str
) -> None:
    if certificate == issuer:
        return  # the CA answers for itself
    if gost.public_key_from_certificate(issuer) is not None:
        if not gost.certificate_signed_by(certificate, issuer):
            raise ValueError(f"the responder certificate is not from CA {issuer_name!r}")
    else:
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as error:
            message = f"the responder certificate is not from CA {issuer_name!r}"
            raise ValueError(message) from error
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
        raise ValueError("a delegated responder certificate needs the OCSPSigning EKU")


_SHA256_RSA = der.sequence(der.oid("1.2.840.113549.1.1.11"), der.null())
_SHA256_ECDSA = der.sequence(der.oid("1.2.840.10045.4.3.2"))
# NCA's GOST 2015 signature algorithm, with NULL parameters as in its certificates and CRLs.
_GOST2015_512 = der.sequence(der.oid(gost.GOST2015_512_SIGNATURE_OID), der.null())


@dataclass(frozen=True)
class OcspSigner:
    """A delegated OCSP responder: its certificate and key, and the CAs it answers for by name.

    The certificate must be issued by each CA in `issuers` and carry the OCSPSigning EKU, or be
    that CA's own certificate; this is checked here, so a misconfiguration fails at start-up.
    A GOST 2015 key signs with Streebog-512 and NCA's signature OID: the GOST issuing CA answers
    for itself (RFC 6960 §4.2.2.2 case 1), since the RSA responder is not authorised for it.
    """

    certificate: x509.Certificate
    private_key: ResponderKey
    issuers: Mapping[str, x509.Certificate]
    validity: dt.timedelta = DEFAULT_VALIDITY
    _index: Mapping[tuple[str, bytes, bytes], str] = field(init=False, repr=False, compare=False)
    _fixed: tuple[bytes, bytes, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(
            self.private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | gost.GostPrivateKey
        ):
            raise TypeError("the responder key must be an RSA, EC or GOST 2015 private key")
        if _key_spki(self.private_key) != _certificate_spki(self.certificate):
            raise ValueError("the responder key does not match the responder certificate")
        if not self.issuers:
            raise ValueError("a responder answers for at least one CA")
        if self.validity <= dt.timedelta(0):
            raise ValueError("the response validity must be positive")
        index: dict[tuple[str, bytes, bytes], str] = {}
        for name, issuer in self.issuers.items():
            _check_responder(self.certificate, issuer, name)
            subject, bits = issuer.subject.public_bytes(), _key_bits(issuer)
            for algorithm in _HASH_OIDS.values():
                name_hash = hashlib.new(algorithm, subject).digest()
                key_hash = hashlib.new(algorithm, bits).digest()
                index[algorithm, name_hash, key_hash] = name
        key_hash = hashlib.sha1(_key_bits(self.certificate), usedforsecurity=False).digest()
        responder_id = der.tlv(_CONTEXT_2, der.octet_string(key_hash))  # byKey
        if isinstance(self.private_key, gost.GostPrivateKey):
            signature_algorithm = _GOST2015_512
        elif isinstance(self.private_key, rsa.RSAPrivateKey):
            signature_algorithm = _SHA256_RSA
        else:
            signature_algorithm = _SHA256_ECDSA
        certificates = der.tlv(
            _CONTEXT_0, der.sequence(self.certificate.public_bytes(serialization.Encoding.DER))
        )
        object.__setattr__(self, "issuers", MappingProxyType(dict(self.issuers)))
        object.__setattr__(self, "_index", MappingProxyType(index))
        object.__setattr__(self, "_fixed", (responder_id, signature_algorithm, certificates))

    def issuer_for(self, algorithm: str, name_hash: bytes, key_hash: bytes) -> str | None:
        """The name of the CA whose CertID hashes (made with `algorithm`) these are, if served."""
        return self._index.get((algorithm, name_hash, key_hash))

    def sign(self, data: bytes) -> bytes:
        """The responder's signature over `data` (SHA-256 with its RSA or EC key, Streebog-512
        with a GOST key)."""
        if isinstance(self.private_key, gost.GostPrivateKey):
            return self.private_key.sign(data, DigestAlgorithm.STREEBOG512)
        return SoftwareKey(self.private_key).sign(data, DigestAlgorithm.SHA256)


def make_responder_certificate(
    ca_cert: x509.Certificate,
    ca_key: CertificateIssuerPrivateKeyTypes,
    responder_public_key: CertificateIssuerPublicKeyTypes,
    subject_cn: str = "OCSP RESPONDER",
    validity: dt.timedelta = dt.timedelta(days=365),
    *,
    not_before: dt.datetime | None = None,
) -> x509.Certificate:
    """A delegated OCSP responder certificate as NCA issues it (KZ_PKI_NOTES §2.4).

    KU digitalSignature (critical), EKU OCSPSigning, id-pkix-ocsp-nocheck, no AIA and no CDP.
    """
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) if not_before is None else not_before
    usage = DIGITAL_SIGNATURE_ONLY
    return build_service_certificate(
        ca_certificate=ca_cert,
        ca_key=ca_key,
        public_key=responder_public_key,
        subject=service_subject(subject_cn, ca_cert),
        not_before=start,
        validity=validity,
        extensions=[
            (usage, True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False),
            (x509.OCSPNoCheck(), False),
        ],
    )


# -- requests --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Query:
    """One CertID of a request: its bytes (echoed in the answer) and what matching needs."""

    cert_id: bytes  # DER, as the answer repeats it
    algorithm: str  # "sha1", "sha256", ..., or "" for a hash we cannot compute
    name_hash: bytes
    key_hash: bytes
    serial_number: int


@dataclass(frozen=True, slots=True)
class _Request:
    queries: tuple[_Query, ...]
    nonce: bytes | None


class _Malformed(Exception):
    """A request that does not follow RFC 6960 (internal: it becomes malformedRequest)."""


_NULL = der.null()
_NONCE = der.oid_content("1.3.6.1.5.5.7.48.1.2")
_UNDERSTOOD = frozenset(
    {
        _NONCE,
        der.oid_content("1.3.6.1.5.5.7.48.1.4"),  # acceptable responses
        der.oid_content("1.3.6.1.5.5.7.48.1.8"),  # preferred signature algorithms
    }
)


def _extensions(buf: bytes, start: int, stop: int) -> dict[bytes, tuple[bool, int, int]]:
    """Extensions (inside an EXPLICIT tag) by OID content: (critical, value start, value stop)."""
    inner_start, inner_stop, nxt = der.expect(buf, start, stop, der.SEQUENCE)
    if nxt != stop:
        raise _Malformed
    found: dict[bytes, tuple[bool, int, int]] = {}
    for tag, _, s, e, _ in der.items(buf, inner_start, inner_stop):
        if tag != der.SEQUENCE:
            raise _Malformed
        parts = der.items(buf, s, e)
        critical = False
        if len(parts) == 3 and parts[1][0] == _BOOLEAN:
            critical = buf[parts[1][2] : parts[1][3]] != b"\x00"
            del parts[1]
        if len(parts) != 2 or parts[0][0] != der.OID or parts[1][0] != der.OCTET_STRING:
            raise _Malformed
        oid = buf[parts[0][2] : parts[0][3]]
        if oid in found or (critical and oid not in _UNDERSTOOD):
            raise _Malformed
        found[oid] = (critical, parts[1][2], parts[1][3])
    return found


def _cert_id(buf: bytes, start: int, stop: int) -> _Query:
    """A CertID, re-encoded in DER for the answer (keeping NULL or absent hash parameters)."""
    parts = der.items(buf, start, stop)
    if [part[0] for part in parts] != [
        der.SEQUENCE,
        der.OCTET_STRING,
        der.OCTET_STRING,
        der.INTEGER,
    ]:
        raise _Malformed
    algorithm = der.items(buf, parts[0][2], parts[0][3])
    if not 0 < len(algorithm) <= 2 or algorithm[0][0] != der.OID:
        raise _Malformed
    if len(algorithm) == 2 and buf[algorithm[1][1] : algorithm[1][4]] != _NULL:
        raise _Malformed  # a hash algorithm's parameters are NULL or absent
    oid = buf[algorithm[0][2] : algorithm[0][3]]
    der.oid_dotted(oid)  # raises for a malformed OID
    name_hash = buf[parts[1][2] : parts[1][3]]
    key_hash = buf[parts[2][2] : parts[2][3]]
    serial_number = der.integer_value(buf[parts[3][2] : parts[3][3]])
    algorithm_id = der.sequence(der.tlv(der.OID, oid), _NULL if len(algorithm) == 2 else b"")
    return _Query(
        cert_id=der.sequence(
            algorithm_id,
            der.octet_string(name_hash),
            der.octet_string(key_hash),
            der.integer(serial_number),
        ),
        algorithm=_HASH_OIDS.get(oid, ""),
        name_hash=name_hash,
        key_hash=key_hash,
        serial_number=serial_number,
    )


def _read_request(buf: bytes) -> _Request:
    start, stop, nxt = der.expect(buf, 0, len(buf), der.SEQUENCE)
    if nxt != len(buf):
        raise _Malformed  # trailing bytes
    outer = der.items(buf, start, stop)
    if not outer or outer[0][0] != der.SEQUENCE or len(outer) > 2:
        raise _Malformed
    if len(outer) == 2 and outer[1][0] != _CONTEXT_0:  # optionalSignature, not checked
        raise _Malformed
    tbs = der.items(buf, outer[0][2], outer[0][3])
    tags = [item[0] for item in tbs]
    if tags and tags[0] == _CONTEXT_0:  # version: v1 (0) is the only one
        if buf[tbs[0][2] : tbs[0][3]] != b"\x02\x01\x00":
            raise _Malformed
        tbs, tags = tbs[1:], tags[1:]
    if tags and tags[0] == _CONTEXT_1:  # requestorName: not used
        tbs, tags = tbs[1:], tags[1:]
    if tags not in ([der.SEQUENCE], [der.SEQUENCE, _CONTEXT_2]):
        raise _Malformed
    requests = der.items(buf, tbs[0][2], tbs[0][3])
    if not 0 < len(requests) <= MAX_REQUESTS:
        raise _Malformed
    queries = []
    for tag, _, s, e, _ in requests:
        parts = der.items(buf, s, e)
        if tag != der.SEQUENCE or not 0 < len(parts) <= 2 or parts[0][0] != der.SEQUENCE:
            raise _Malformed
        if len(parts) == 2:
            if parts[1][0] != _CONTEXT_0:
                raise _Malformed
            _extensions(buf, parts[1][2], parts[1][3])  # singleRequestExtensions: checked only
        queries.append(_cert_id(buf, parts[0][2], parts[0][3]))
    nonce = None
    if len(tbs) == 2:
        extension = _extensions(buf, tbs[1][2], tbs[1][3]).get(_NONCE)
        if extension is not None:
            _, value_start, value_stop = extension
            s, e, n = der.expect(buf, value_start, value_stop, der.OCTET_STRING)
            if n != value_stop or not 0 < e - s <= MAX_NONCE_LENGTH:
                raise _Malformed
            nonce = buf[s:e]
    return _Request(tuple(queries), nonce)


def _parse(request_der: bytes) -> _Request | None:
    """The request, or None when it is malformed."""
    try:
        return _read_request(bytes(request_der))
    except (_Malformed, ValueError, IndexError, TypeError):  # DerError is a ValueError
        return None


# -- responses -------------------------------------------------------------------------------


def _error(status: int) -> bytes:
    return der.sequence(der.tlv(_ENUMERATED, bytes((status,))))


_MALFORMED = _error(1)
_TRY_LATER = _error(3)
_UNAUTHORIZED = _error(6)

_BASIC = der.oid("1.3.6.1.5.5.7.48.1.1")
_SUCCESSFUL = der.tlv(_ENUMERATED, b"\x00")
_NONCE_OID = der.tlv(der.OID, _NONCE)
_GOOD = b"\x80\x00"  # [0] IMPLICIT NULL
_UNKNOWN = b"\x82\x00"  # [2] IMPLICIT NULL

# CRLReason codes (RFC 5280 §5.3.1); 7 is unused and removeFromCRL (8) is no revocation.
_CRL_REASONS: Mapping[x509.ReasonFlags, int] = {
    x509.ReasonFlags.key_compromise: 1,
    x509.ReasonFlags.ca_compromise: 2,
    x509.ReasonFlags.affiliation_changed: 3,
    x509.ReasonFlags.superseded: 4,
    x509.ReasonFlags.cessation_of_operation: 5,
    x509.ReasonFlags.certificate_hold: 6,
    x509.ReasonFlags.privilege_withdrawn: 9,
    x509.ReasonFlags.aa_compromise: 10,
}


def _generalized_time(moment: dt.datetime) -> bytes:
    utc = moment.astimezone(dt.UTC)
    text = (
        f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}{utc.second:02d}Z"
    )
    return der.tlv(der.GENERALIZED_TIME, text.encode("ascii"))


def _cert_status(status: CertStatus) -> bytes:
    if status.status is Status.GOOD:
        return _GOOD
    if status.status is Status.UNKNOWN or status.revocation_time is None:
        return _UNKNOWN
    info = _generalized_time(status.revocation_time)
    code = None if status.reason is None else _CRL_REASONS.get(status.reason)
    if code is not None:
        info += der.tlv(_CONTEXT_0, der.tlv(_ENUMERATED, bytes((code,))))
    return der.tlv(_CONTEXT_1, info)  # [1] IMPLICIT RevokedInfo


def _signed(
    queries: Sequence[_Query],
    statuses: Sequence[CertStatus],
    nonce: bytes | None,
    signer: OcspSigner,
    now: dt.datetime,
) -> bytes:
    responder_id, algorithm, certificates = signer._fixed
    this_update = _generalized_time(now)
    next_update = der.tlv(_CONTEXT_0, _generalized_time(now + signer.validity))
    singles = [
        der.sequence(query.cert_id, _cert_status(status), this_update, next_update)
        for query, status in zip(queries, statuses, strict=True)
    ]
    parts = [responder_id, this_update, der.sequence(*singles)]
    if nonce is not None:
        extension = der.sequence(_NONCE_OID, der.octet_string(der.octet_string(nonce)))
        parts.append(der.tlv(_CONTEXT_1, der.sequence(extension)))
    tbs = der.sequence(*parts)
    signature = der.tlv(_BIT_STRING, b"\x00" + signer.sign(tbs))
    basic = der.sequence(tbs, algorithm, signature, certificates)
    response_bytes = der.sequence(_BASIC, der.octet_string(basic))
    return der.sequence(_SUCCESSFUL, der.tlv(_CONTEXT_0, response_bytes))


def _answer(
    request: _Request,
    signers: Sequence[OcspSigner],
    lookup: StatusLookup,
    now: dt.datetime,
) -> tuple[bytes, list[CertStatus] | None]:
    """The response, and the statuses it states (None for an unsigned error response)."""
    for query in request.queries:
        signer = next(
            (s for s in signers if s.issuer_for(query.algorithm, query.name_hash, query.key_hash)),
            None,
        )
        if signer is not None:
            break
    else:
        return _UNAUTHORIZED, None
    try:
        statuses = []
        for query in request.queries:
            name = signer.issuer_for(query.algorithm, query.name_hash, query.key_hash)
            if name is None:
                statuses.append(CertStatus.unknown())
            else:
                statuses.append(lookup(CertId(name, query.serial_number)))
    except TryLater:
        return _TRY_LATER, None
    return _signed(request.queries, statuses, request.nonce, signer, now), statuses


def _signers(responder: OcspSigner | Sequence[OcspSigner]) -> tuple[OcspSigner, ...]:
    return (responder,) if isinstance(responder, OcspSigner) else tuple(responder)


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    return now.astimezone(dt.UTC).replace(microsecond=0)


def respond(
    request_der: bytes,
    responder: OcspSigner | Sequence[OcspSigner],
    lookup: StatusLookup,
    *,
    now: dt.datetime | None = None,
) -> bytes:
    """Answer a DER OCSPRequest with a DER OCSPResponse; never raises for bad input."""
    request = _parse(request_der)
    if request is None:
        return _MALFORMED
    return _answer(request, _signers(responder), lookup, _now(now))[0]


# -- cache -----------------------------------------------------------------------------------


class _LookupNeeded(Exception):
    """A status is not cached and the caller asked for no lookup (internal)."""


@dataclass(frozen=True, slots=True)
class _Cached:
    value: bytes | CertStatus
    made: dt.datetime
    serials: frozenset[int]


class CachedResponder:
    """`respond` with a cache of signed responses (nonce-less requests) and of status lookups.

    Call `invalidate(serial)` when a certificate is revoked (or its status otherwise changes);
    every entry older than `max_age` is made afresh anyway. Safe to share between threads.
    """

    def __init__(
        self,
        responder: OcspSigner | Sequence[OcspSigner],
        lookup: StatusLookup,
        *,
        max_age: dt.timedelta = dt.timedelta(seconds=60),
        max_entries: int = 4096,
    ) -> None:
        self._signers = _signers(responder)
        self._lookup = lookup
        self._max_age = max_age
        self._max_entries = max_entries
        # Keys: the bytes of a nonce-less request (responses); a CertId (statuses).
        self._responses: OrderedDict[Hashable, _Cached] = OrderedDict()
        self._statuses: OrderedDict[Hashable, _Cached] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self.hits = 0
        self.misses = 0

    def _get(
        self, table: OrderedDict[Hashable, _Cached], key: Hashable, now: dt.datetime
    ) -> bytes | CertStatus | None:
        with self._lock:
            entry = table.get(key)
            if entry is None:
                return None
            if not dt.timedelta(0) <= now - entry.made < self._max_age:
                del table[key]
                return None
            table.move_to_end(key)
            return entry.value

    def _put(
        self, table: OrderedDict[Hashable, _Cached], key: Hashable, entry: _Cached, generation: int
    ) -> None:
        with self._lock:
            if generation != self._generation:
                return  # a status changed while this answer was being made: it may be stale
            table[key] = entry
            table.move_to_end(key)
            while len(table) > self._max_entries:
                table.popitem(last=False)

    def cached(self, request_der: bytes, *, now: dt.datetime | None = None) -> bytes | None:
        """The stored response to exactly these request bytes, if a fresh one is stored.

        No parsing, no lookup, no signature: what an HTTP handler tries on its event loop before
        handing a miss to a worker thread.
        """
        cached = self._get(self._responses, bytes(request_der), _now(now))
        if isinstance(cached, bytes):
            self.hits += 1
            return cached
        return None

    def respond(self, request_der: bytes, *, now: dt.datetime | None = None) -> bytes:
        """Like `respond`, from the cache when the same status was already signed."""
        response = self._respond(request_der, now, may_look_up=True)
        assert response is not None  # noqa: S101 - only a refused lookup gives None
        return response

    def respond_without_lookup(
        self, request_der: bytes, *, now: dt.datetime | None = None
    ) -> bytes | None:
        """Like `respond` when every status the answer needs is cached; None when one would
        have to be looked up. It may sign, but touches no database: an HTTP handler can run it
        on its event loop and leave only the lookups to worker threads."""
        return self._respond(request_der, now, may_look_up=False)

    def _respond(
        self, request_der: bytes, now: dt.datetime | None, *, may_look_up: bool
    ) -> bytes | None:
        moment = _now(now)
        # Only nonce-less requests are ever stored, so a hit needs no parsing at all.
        key = bytes(request_der)
        cached = self._get(self._responses, key, moment)
        if isinstance(cached, bytes):
            self.hits += 1
            return cached
        request = _parse(key)
        if request is None:
            return _MALFORMED
        with self._lock:
            generation = self._generation

        def lookup(cert_id: CertId) -> CertStatus:
            cached = self._get(self._statuses, cert_id, moment)
            if isinstance(cached, CertStatus):
                return cached
            if not may_look_up:
                raise _LookupNeeded
            status = self._lookup(cert_id)
            if status.status is not Status.UNKNOWN:
                serials = frozenset({cert_id.serial_number})
                self._put(self._statuses, cert_id, _Cached(status, moment, serials), generation)
            return status

        try:
            response, statuses = _answer(request, self._signers, lookup, moment)
        except _LookupNeeded:
            return None
        self.misses += 1
        if (
            request.nonce is None
            and statuses is not None
            and all(status.status is not Status.UNKNOWN for status in statuses)
        ):
            serials = frozenset(query.serial_number for query in request.queries)
            self._put(self._responses, key, _Cached(response, moment, serials), generation)
        return response

    def invalidate(self, serial_number: int) -> None:
        """Forget every cached answer about `serial_number` (of any CA)."""
        with self._lock:
            self._generation += 1
            for table in (self._responses, self._statuses):
                stale = [key for key, entry in table.items() if serial_number in entry.serials]
                for key in stale:
                    del table[key]

    def clear(self) -> None:
        """Forget everything (e.g. after a bulk change of statuses)."""
        with self._lock:
            self._generation += 1
            self._responses.clear()
            self._statuses.clear()
