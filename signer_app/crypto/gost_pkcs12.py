"""Writing GOST 34.10-2015 key files shaped like NCA's ``GOST512_<key id>.p12``.

Neither OpenSSL nor `cryptography` can serialise a GOST key, so the PKCS#12 is put together here
from asn1crypto's structures, mirroring what NCA's files hold (shared/KZ_PKI_NOTES.md §2.8,
checked against the files in shared/vectors/nca/):

* PFX v3 with an HMAC-SHA1 MAC, 1024 iterations, 20-byte salt;
* a SafeContents (``data``) with one pkcs8ShroudedKeyBag under pbeWithSHAAnd3-KeyTripleDES-CBC
  (1024 iterations, 20-byte salt); the PKCS#8 inside is gost.py's, byte for byte NCA's;
* an ``encryptedData`` SafeContents with the end-entity certificate only (no chain);
* both bags carry ``localKeyID`` = the SubjectKeyIdentifier and ``friendlyName`` = its lower-case
  hex (Kalkan's "alias").

Two deliberate differences, neither visible to a PKCS#12 reader: the file is DER where NCA's is
BER with indefinite lengths, and the certificate bag uses the same 3DES PBE as the key where NCA
uses 40-bit RC2 (`cryptography`'s RC2 takes 128-bit keys only, and a 40-bit cipher over a
public certificate is not worth a dependency). Our reader (keystores.py) and OpenSSL read both.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from asn1crypto import algos, cms, core, pkcs12, x509

from .gost import GostPrivateKey
from .pkcs12_kdf import mac, pbe_3des_encrypt

ROUNDS = 1024  # NCA's iteration count for the key bag, the certificate bag and the MAC
_SALT_BYTES = 20


def _pbe_algorithm(salt: bytes) -> algos.EncryptionAlgorithm:
    return algos.EncryptionAlgorithm(
        {
            "algorithm": "pkcs12_sha1_tripledes_3key",
            "parameters": {"salt": salt, "iterations": ROUNDS},
        }
    )


def _attributes(key_id: bytes, alias: str) -> pkcs12.Attributes:
    return pkcs12.Attributes(
        [
            {"type": "local_key_id", "values": [core.OctetString(key_id)]},
            {"type": "friendly_name", "values": [core.BMPString(alias)]},
        ]
    )


def gost_file_name(key: GostPrivateKey, *, auth: bool = False) -> str:
    """NCA's name for the key file: ``GOST512_<key id>.p12`` (``AUTH_`` before it for an
    authentication key, as for RSA's ``AUTH_RSA256_``)."""
    prefix = "AUTH_" if auth else ""
    return f"{prefix}GOST512_{key.public_key.key_identifier().hex()}.p12"


def dump_gost_pkcs12(
    key: GostPrivateKey,
    certificate_der: bytes,
    password: bytes,
    *,
    alias: str | None = None,
    chain: Sequence[bytes] = (),
) -> bytes:
    """PKCS#12 bytes holding ``key`` and its certificate, encrypted and MACed with ``password``.

    NCA's files hold no ``chain``; given one, its certificates follow in bags without
    attributes, as OpenSSL writes them. ValueError for an empty password or a certificate that
    is not DER. The caller checks that the certificate is the key's (keystores.dump_pkcs12 does).
    """
    if not password:
        raise ValueError("a key file needs a password")
    certificate = x509.Certificate.load(certificate_der, strict=True)
    extra = [
        pkcs12.SafeBag(
            {
                "bag_id": "cert_bag",
                "bag_value": {
                    "cert_id": "x509",
                    "cert_value": x509.Certificate.load(der, strict=True),
                },
            }
        )
        for der in chain
    ]
    key_id = key.public_key.key_identifier()
    attributes = _attributes(key_id, alias or key_id.hex())

    key_salt = secrets.token_bytes(_SALT_BYTES)
    shrouded = pkcs12.SafeBag(
        {
            "bag_id": "pkcs8_shrouded_key_bag",
            "bag_value": {
                "encryption_algorithm": _pbe_algorithm(key_salt),
                "encrypted_data": pbe_3des_encrypt(password, key.to_pkcs8(), key_salt, ROUNDS),
            },
            "bag_attributes": attributes,
        }
    )
    cert_bag = pkcs12.SafeBag(
        {
            "bag_id": "cert_bag",
            "bag_value": {"cert_id": "x509", "cert_value": certificate},
            "bag_attributes": attributes,
        }
    )
    cert_salt = secrets.token_bytes(_SALT_BYTES)
    encrypted_certs = cms.EncryptedData(
        {
            "version": "v0",
            "encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": _pbe_algorithm(cert_salt),
                "encrypted_content": pbe_3des_encrypt(
                    password, pkcs12.SafeContents([cert_bag, *extra]).dump(), cert_salt, ROUNDS
                ),
            },
        }
    )
    authenticated = pkcs12.AuthenticatedSafe(
        [
            {"content_type": "data", "content": pkcs12.SafeContents([shrouded]).dump()},
            {"content_type": "encrypted_data", "content": encrypted_certs},
        ]
    ).dump()
    mac_salt = secrets.token_bytes(_SALT_BYTES)
    pfx = pkcs12.Pfx(
        {
            "version": "v3",
            "auth_safe": {"content_type": "data", "content": authenticated},
            "mac_data": {
                "mac": {
                    "digest_algorithm": {"algorithm": "sha1", "parameters": core.Null()},
                    "digest": mac("sha1", password, mac_salt, ROUNDS, authenticated),
                },
                "mac_salt": mac_salt,
                "iterations": ROUNDS,
            },
        }
    )
    return bytes(pfx.dump())


__all__ = ["ROUNDS", "dump_gost_pkcs12", "gost_file_name"]
