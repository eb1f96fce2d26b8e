"""The local TLS identity: a per-machine root CA and a 127.0.0.1/localhost server certificate.

Made on first start in ``<data-dir>/tls/`` (mkcert's approach, PROTOCOL.md §2.2): root.pem and
root.key (EC P-256, 10 years, key 0600; it never leaves the machine and is never shared),
server.pem (leaf then root) and server.key (0600): SAN IP 127.0.0.1, IP ::1, DNS localhost,
serverAuth, CA:FALSE, one year. The leaf is renewed when fewer than 30 days are left, when it
does not chain to the root on disk, or when a file is missing; the root likewise, which also
renews the leaf. Installing the root into trust stores is ``qalam trust`` (a later slice).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..crypto.atomicfile import atomic_write

ROOT_LIFETIME = timedelta(days=3650)
LEAF_LIFETIME = timedelta(days=365)
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """Where the local TLS identity lives."""

    folder: Path

    @property
    def root_pem(self) -> Path:
        """The root certificate users trust."""
        return self.folder / "root.pem"

    @property
    def root_key(self) -> Path:
        """The root's private key (0600)."""
        return self.folder / "root.key"

    @property
    def server_pem(self) -> Path:
        """The server certificate followed by the root."""
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        """The server's private key (0600)."""
        return self.folder / "server.key"


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _fresh(cert: x509.Certificate, now: datetime) -> bool:
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > RENEW_BEFORE


def _load_pair(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    except (OSError, ValueError, IndexError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.public_key() != key.public_key():
        return None
    return cert, key


def _make_root(now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Qalam local signer"),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"Qalam local root ({socket.gethostname()[:32]})"
            ),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_leaf(
    root: x509.Certificate, root_key: ec.EllipticCurvePrivateKey, now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
            x509.DNSName("localhost"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + LEAF_LIFETIME, root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    return cert, key


def _chains_to(leaf: x509.Certificate, root: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def ensure_tls(data_dir: Path, now: datetime | None = None) -> TlsFiles:
    """Make or renew the local root and server certificate; returns where they are."""
    now = now or datetime.now(UTC)
    files = TlsFiles(Path(data_dir) / "tls")
    files.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(files.folder, 0o700)
    root_pair = _load_pair(files.root_pem, files.root_key)
    if root_pair is None or not _fresh(root_pair[0], now):
        root_pair = _make_root(now)
        atomic_write(files.root_key, _key_pem(root_pair[1]), mode=0o600)
        atomic_write(files.root_pem, _cert_pem(root_pair[0]), mode=0o644)
    root, root_key = root_pair
    leaf_pair = _load_pair(files.server_pem, files.server_key)
    if leaf_pair is None or not _fresh(leaf_pair[0], now) or not _chains_to(leaf_pair[0], root):
        leaf, leaf_key = _make_leaf(root, root_key, now)
        atomic_write(files.server_key, _key_pem(leaf_key), mode=0o600)
        atomic_write(files.server_pem, _cert_pem(leaf) + _cert_pem(root), mode=0o644)
    return files


__all__ = ["LEAF_LIFETIME", "RENEW_BEFORE", "ROOT_LIFETIME", "TlsFiles", "ensure_tls"]
