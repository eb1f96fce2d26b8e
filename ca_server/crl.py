"""RFC 5280 CRLs of an issuing CA: revoked entries in, a signed DER CRL out.

Pure: the caller (authority.py) decides what is revoked, numbers the CRLs and stores them. What
we write matches NCA's test CRLs (KZ_PKI_NOTES §1.6): v2, CRLNumber and AKI (the CA's SKI), a
reason code per entry, and optionally the invalidity date; a delta CRL adds the critical
DeltaCRLIndicator. Entries are sorted by serial number, so the same input gives the same CRL.

cryptography's `add_revoked_certificate` copies the whole list on every call (quadratic: minutes
for NCA's ~400k entries); the builder's constructor takes the list at once, which is linear.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PublicKeyTypes,
)

from ca_server.responder_keys import signature_hash

__all__ = ["MAX_CRL_NUMBER", "RevokedEntry", "build_crl"]

# RFC 5280 §5.2.3: a CRL number fits in 20 octets.
MAX_CRL_NUMBER = (1 << 159) - 1


def _utc_seconds(moment: dt.datetime, what: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be time-zone aware")
    return moment.astimezone(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    """One revoked certificate: serial, when, why (None: no reason code), since when invalid."""

    serial_number: int
    revocation_time: dt.datetime
    reason: x509.ReasonFlags | None = None
    invalidity_date: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.serial_number <= 0:
            raise ValueError("a certificate serial number is positive")
        _utc_seconds(self.revocation_time, "the revocation time")
        if self.invalidity_date is not None:
            _utc_seconds(self.invalidity_date, "the invalidity date")

    def _build(self) -> x509.RevokedCertificate:
        builder = (
            x509.RevokedCertificateBuilder()
            .serial_number(self.serial_number)
            .revocation_date(_utc_seconds(self.revocation_time, "the revocation time"))
        )
        # RFC 5280 §5.3.1: leave the reason code out rather than say "unspecified".
        if self.reason is not None and self.reason is not x509.ReasonFlags.unspecified:
            builder = builder.add_extension(x509.CRLReason(self.reason), critical=False)
        if self.invalidity_date is not None:
            moment = _utc_seconds(self.invalidity_date, "the invalidity date")
            builder = builder.add_extension(x509.InvalidityDate(moment), critical=False)
        return builder.build()


def _authority_key_identifier(
    ca_cert: x509.Certificate, ca_key: CertificateIssuerPrivateKeyTypes
) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _public_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def build_crl(
    ca_cert: x509.Certificate,
    ca_key: CertificateIssuerPrivateKeyTypes,
    revoked: Iterable[RevokedEntry],
    crl_number: int,
    this_update: dt.datetime,
    next_update: dt.datetime,
    *,
    delta_base: int | None = None,
) -> bytes:
    """A DER v2 CRL signed by `ca_key`; with `delta_base`, a delta CRL on that full CRL number.

    Raises ValueError for a CRL no relying party could use: a key that is not the CA's, a
    number out of range, nextUpdate not after thisUpdate, a serial listed twice, or
    removeFromCRL in a full CRL (RFC 5280 §5.3.1 allows it only in delta CRLs).
    """
    if _public_der(ca_key.public_key()) != _public_der(ca_cert.public_key()):
        raise ValueError("the key does not belong to the CA certificate")
    if not 0 <= crl_number <= MAX_CRL_NUMBER:
        raise ValueError(f"a CRL number is between 0 and 2**159 - 1, not {crl_number}")
    if delta_base is not None and not 0 <= delta_base < crl_number:
        raise ValueError("a delta CRL's base CRL number is below its own number")
    start = _utc_seconds(this_update, "thisUpdate")
    end = _utc_seconds(next_update, "nextUpdate")
    if end <= start:
        raise ValueError("nextUpdate must be after thisUpdate")
    entries = sorted(revoked, key=lambda entry: entry.serial_number)
    for previous, entry in itertools.pairwise(entries):
        if previous.serial_number == entry.serial_number:
            raise ValueError(f"serial {entry.serial_number:x} is listed twice")
    if delta_base is None and any(e.reason is x509.ReasonFlags.remove_from_crl for e in entries):
        raise ValueError("removeFromCRL belongs in delta CRLs only")
    extensions: list[x509.Extension[x509.ExtensionType]] = [
        x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(crl_number)),
        x509.Extension(
            x509.AuthorityKeyIdentifier.oid, False, _authority_key_identifier(ca_cert, ca_key)
        ),
    ]
    if delta_base is not None:
        indicator = x509.DeltaCRLIndicator(delta_base)
        extensions.append(x509.Extension(indicator.oid, True, indicator))
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=ca_cert.subject,
        last_update=start,
        next_update=end,
        extensions=extensions,
        revoked_certificates=[entry._build() for entry in entries],
    )
    crl = builder.sign(ca_key, signature_hash(ca_key))
    return crl.public_bytes(serialization.Encoding.DER)
