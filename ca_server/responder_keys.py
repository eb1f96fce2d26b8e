"""Service certificates for the CA's own responders (OCSP, TSA): the parts they share.

A service certificate is an end-entity certificate the issuing CA gives to one of its services:
a subject in NCA's service-certificate order (CN, C, O; KZ_PKI_NOTES §2.4), a random 20-byte
serial, SKI and AKI, BasicConstraints CA:FALSE, and whatever the service adds (key usage, EKU,
OCSP no-check). `ocsp.make_responder_certificate` and `tsa.make_tsa_certificate` build on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
)
from cryptography.x509.oid import NameOID

from ca_server.profiles import random_serial_number

__all__ = [
    "DIGITAL_SIGNATURE_ONLY",
    "build_service_certificate",
    "service_subject",
    "signature_hash",
]

# The key usage of both service certificates: they sign responses and nothing else.
DIGITAL_SIGNATURE_ONLY = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def signature_hash(key: CertificateIssuerPrivateKeyTypes) -> hashes.SHA256 | None:
    """The hash to sign with `key`: SHA-256, or None for EdDSA keys (which hash internally)."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    return hashes.SHA256()


def service_subject(common_name: str, ca_certificate: x509.Certificate) -> x509.Name:
    """CN, C=KZ, then the CA's O (if it has one), as NCA names its OCSP and TSA services."""
    fields = [(NameOID.COMMON_NAME, common_name), (NameOID.COUNTRY_NAME, "KZ")]
    fields += [
        (NameOID.ORGANIZATION_NAME, str(attribute.value))
        for attribute in ca_certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    ]
    return x509.Name(
        [x509.RelativeDistinguishedName([x509.NameAttribute(oid, value)]) for oid, value in fields]
    )


def build_service_certificate(
    *,
    ca_certificate: x509.Certificate,
    ca_key: CertificateIssuerPrivateKeyTypes,
    public_key: CertificateIssuerPublicKeyTypes,
    subject: x509.Name,
    not_before: dt.datetime,
    validity: dt.timedelta,
    extensions: Iterable[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    """Issue a service certificate under `ca_certificate` with the given (extension, critical)."""
    if validity <= dt.timedelta(0):
        raise ValueError("a certificate's validity must be positive")
    ca_ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_certificate.subject)
        .public_key(public_key)
        .serial_number(random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(ca_key, signature_hash(ca_key))
