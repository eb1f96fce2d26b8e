"""X.509 certificates and CRLs signed by a GOST 34.10-2015 (512) key, as NCA's GOST CAs sign them.

Why by hand (with der.py): `cryptography`'s builders sign only with keys OpenSSL knows, and
asn1crypto refuses to encode a SubjectPublicKeyInfo whose algorithm it does not know. The
TBSCertificate and TBSCertList are short fixed sequences; what they *say* is decided elsewhere
and arrives here already encoded: names from ``x509.Name.public_bytes()``, extensions from
``ExtensionType.public_bytes()`` (ca_server/profiles.py decides them once for every key family),
the subject key as DER SubjectPublicKeyInfo. This module only orders, signs and wraps them:
signature algorithm 1.2.398.3.10.1.1.2.3.2 with NULL parameters and NCA's r‖s little-endian
value (gost.py), exactly as in NCA's GOST 2022 certificates and CRLs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from . import der
from .algorithms import DigestAlgorithm
from .gost import GOST2015_512_SIGNATURE_OID, GostPrivateKey

_SIGNATURE_ALGORITHM = der.sequence(der.oid(GOST2015_512_SIGNATURE_OID), der.null())
_BIT_STRING = 0x03
_BOOLEAN_TRUE = b"\x01\x01\xff"


def extension_der(extension: x509.Extension[x509.ExtensionType]) -> bytes:
    """One Extension: OID, critical (only when TRUE, as DER wants), the value's DER wrapped."""
    critical = _BOOLEAN_TRUE if extension.critical else b""
    value = extension.value.public_bytes()
    return der.sequence(der.oid(extension.oid.dotted_string), critical, der.octet_string(value))


def _signed(tbs: bytes, key: GostPrivateKey) -> bytes:
    signature = key.sign(tbs, DigestAlgorithm.STREEBOG512)
    return der.sequence(tbs, _SIGNATURE_ALGORITHM, der.tlv(_BIT_STRING, b"\x00" + signature))


@dataclass(frozen=True)
class TbsCertificate:
    """What a v3 certificate says, every part already DER (names, key, extensions)."""

    serial_number: int
    issuer: bytes
    subject: bytes
    not_before: dt.datetime
    not_after: dt.datetime
    subject_public_key_info: bytes
    extensions: Sequence[x509.Extension[x509.ExtensionType]]

    def der(self) -> bytes:
        """The DER TBSCertificate with NCA's GOST signature algorithm."""
        if self.serial_number <= 0:
            raise ValueError("serial numbers are positive")
        fields = [
            der.tlv(0xA0, der.integer(2)),  # [0] EXPLICIT version v3
            der.integer(self.serial_number),
            _SIGNATURE_ALGORITHM,
            self.issuer,
            der.sequence(der.time(self.not_before), der.time(self.not_after)),
            self.subject,
            self.subject_public_key_info,
        ]
        if self.extensions:
            fields.append(der.tlv(0xA3, der.sequence(*map(extension_der, self.extensions))))
        return der.sequence(*fields)


def sign_certificate(tbs: TbsCertificate, key: GostPrivateKey) -> x509.Certificate:
    """The certificate, signed by the issuer's GOST key, loaded by `cryptography` (which reads
    GOST certificates; it only cannot check their signature: gost.certificate_signed_by does)."""
    return x509.load_der_x509_certificate(_signed(tbs.der(), key))


@dataclass(frozen=True)
class RevokedEntry:
    """One revoked certificate of a CRL."""

    serial_number: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags | None = None


def _revoked_der(entry: RevokedEntry) -> bytes:
    parts = [der.integer(entry.serial_number), der.time(entry.revoked_at)]
    if entry.reason is not None and entry.reason is not x509.ReasonFlags.unspecified:
        reason = x509.Extension(x509.CRLReason.oid, False, x509.CRLReason(entry.reason))
        parts.append(der.sequence(extension_der(reason)))
    return der.sequence(*parts)


def sign_crl(
    *,
    issuer: bytes,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: Sequence[RevokedEntry],
    extensions: Sequence[x509.Extension[x509.ExtensionType]],
    key: GostPrivateKey,
) -> bytes:
    """A DER v2 CRL (RFC 5280 §5.1) signed by the issuer's GOST key; ``issuer`` is its DER Name."""
    fields = [
        der.integer(1),  # v2
        _SIGNATURE_ALGORITHM,
        issuer,
        der.time(this_update),
        der.time(next_update),
    ]
    if revoked:
        fields.append(der.sequence(*map(_revoked_der, revoked)))
    if extensions:
        fields.append(der.tlv(0xA0, der.sequence(*map(extension_der, extensions))))
    return _signed(der.sequence(*fields), key)


__all__ = ["RevokedEntry", "TbsCertificate", "extension_der", "sign_certificate", "sign_crl"]
