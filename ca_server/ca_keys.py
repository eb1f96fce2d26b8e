"""CA signing keys behind one interface: a key file now, a PKCS#11 token later.

`CaSigner` is what the authority, the CRL, OCSP and TSA code sign with: a certificate and a key
that cryptography's builders accept. `FileCaSigner` loads an encrypted PKCS#8 PEM file. Private
key files are always written encrypted (BestAvailableEncryption) and readable by the owner only
(0600); the passphrase comes from ``--passphrase-file``, from ``QALAM_CA_PASSPHRASE``, or from the
file `init` generates in the data directory, and is never logged or put in an error.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ca_server.errors import CaError
from signer_app.crypto.atomicfile import atomic_write

__all__ = [
    "PASSPHRASE_ENV",
    "CaPrivateKey",
    "CaSigner",
    "FileCaSigner",
    "generate_passphrase_file",
    "read_certificate",
    "read_key",
    "read_passphrase_file",
    "resolve_passphrase",
    "write_certificate",
    "write_key",
]

PASSPHRASE_ENV = "QALAM_CA_PASSPHRASE"  # noqa: S105 - a variable name

CaPrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CaSigner(Protocol):
    """A CA (or OCSP/TSA service) key with its certificate.

    ``private_key`` is what cryptography's certificate, CRL and OCSP builders sign with; a
    PKCS#11 implementation will provide a key object of its own there, or sign TBS bytes with
    ``sign``.
    """

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def private_key(self) -> CaPrivateKey: ...

    def sign(self, data: bytes) -> bytes:
        """A SHA-256 signature of `data` (PKCS#1 v1.5 for RSA, ECDSA for EC)."""
        ...


def _public_der(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | object) -> bytes:
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise CaError("internal", "the CA certificate holds neither an RSA nor an EC key")
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True, eq=False)
class FileCaSigner:
    """A CA key loaded from an encrypted PKCS#8 file, with its certificate."""

    certificate: x509.Certificate
    private_key: CaPrivateKey

    def __post_init__(self) -> None:
        if _public_der(self.certificate.public_key()) != _public_der(self.private_key.public_key()):
            raise CaError("internal", "the CA key does not belong to the CA certificate")

    @classmethod
    def load(cls, certificate_path: Path, key_path: Path, passphrase: bytes) -> FileCaSigner:
        """Open the certificate and its encrypted key."""
        return cls(read_certificate(certificate_path), read_key(key_path, passphrase))

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))


# -- files ------------------------------------------------------------------------------------


def write_key(path: Path, key: CaPrivateKey, passphrase: bytes) -> None:
    """Write `key` as encrypted PKCS#8 PEM, atomically, mode 0600."""
    if not passphrase:
        raise CaError("passphrase_missing", "an empty passphrase cannot protect a CA key")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    atomic_write(path, pem, mode=0o600)


def read_key(path: Path, passphrase: bytes) -> CaPrivateKey:
    """Open an encrypted PKCS#8 key; a wrong passphrase is `ca_key_locked`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaError("ca_key_locked", f"{path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, passphrase or None)
    except (ValueError, TypeError):
        raise CaError("ca_key_locked", str(path)) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CaError("ca_key_locked", f"{path}: neither an RSA nor an EC key")
    return key


def write_certificate(path: Path, certificate: x509.Certificate) -> None:
    """Write a certificate as PEM (public: 0644)."""
    atomic_write(path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)


def read_certificate(path: Path) -> x509.Certificate:
    """Read a PEM certificate."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CaError("internal", f"cannot read the certificate {path}: {exc}") from None


# -- the passphrase -----------------------------------------------------------------------------


def read_passphrase_file(path: Path) -> bytes:
    """The passphrase in `path` (one line; the line end is not part of it)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaError("passphrase_missing", f"{path}: {exc.strerror}") from None
    passphrase = data.rstrip(b"\r\n")
    if not passphrase:
        raise CaError("passphrase_missing", f"{path} is empty")
    return passphrase


def resolve_passphrase(
    *,
    passphrase: bytes | None = None,
    passphrase_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    fallback_file: Path | None = None,
) -> bytes | None:
    """The first of: `passphrase`, `passphrase_file`, $QALAM_CA_PASSPHRASE, `fallback_file`."""
    if passphrase:
        return passphrase
    if passphrase_file is not None:
        return read_passphrase_file(passphrase_file)
    value = (os.environ if env is None else env).get(PASSPHRASE_ENV)
    if value:
        return value.encode("utf-8")
    if fallback_file is not None and fallback_file.exists():
        return read_passphrase_file(fallback_file)
    return None


def generate_passphrase_file(path: Path) -> bytes:
    """A new random passphrase (256 bits, URL-safe text) written to `path` with mode 0600."""
    passphrase = secrets.token_urlsafe(32).encode("ascii")
    atomic_write(path, passphrase + b"\n", mode=0o600)
    return passphrase
