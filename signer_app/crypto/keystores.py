"""Key storages: the KeyStore protocol, PKCS#12 key files, and safe password changes.

A KeyStore yields KeyEntry values: a certificate, its chain, and a SigningKey that signs without
ever handing out the private key, so a PKCS#11 token can implement the same protocol. Passwords
are taken as ``str`` or UTF-8 ``bytes``, used, and dropped; no error or log line carries one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupported
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from . import gost, gost_pkcs12, pkcs12_kdf
from .algorithms import DigestAlgorithm, KeyAlgorithm
from .atomicfile import atomic_write
from .errors import (
    CorruptKeyStore,
    EmptyKeyStore,
    FileIOError,
    FileNotFound,
    KeyTypeMismatch,
    UnsupportedAlgorithm,
    WrongPassword,
)

Password = str | bytes
Encryption = Literal["aes", "legacy"]
# What a key file can be written from: a `cryptography` key, or a GOST 2015 key (gost.py).
WritableKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | gost.GostPrivateKey


class Streebog512Hash(hashes.HashAlgorithm):
    """Names Streebog-512 where a `cryptography` hash object is expected (``Prehashed``).

    OpenSSL cannot compute it: only gost.py's branches of publickeys.py receive this object.
    """

    name = "streebog512"
    digest_size = 64
    block_size = 64


class Gost34311Hash(hashes.HashAlgorithm):
    """Names GOST 34.311-95 where a `cryptography` hash object is expected (verify only)."""

    name = "gost34311"
    digest_size = 32
    block_size = 32


_HASHES: dict[DigestAlgorithm, type[hashes.HashAlgorithm]] = {
    DigestAlgorithm.SHA256: hashes.SHA256,
    DigestAlgorithm.SHA384: hashes.SHA384,
    DigestAlgorithm.SHA512: hashes.SHA512,
    DigestAlgorithm.STREEBOG512: Streebog512Hash,
    DigestAlgorithm.GOST34311: Gost34311Hash,
}

# Files larger than this are not key files; refusing early keeps a wrong pick cheap.
MAX_KEYSTORE_SIZE = 1 << 20


def _password_bytes(password: Password) -> bytes:
    return password.encode("utf-8") if isinstance(password, str) else password


def hash_for(digest: DigestAlgorithm) -> hashes.HashAlgorithm:
    """The `cryptography` hash object for a digest algorithm."""
    return _HASHES[digest]()


@runtime_checkable
class SigningKey(Protocol):
    """A private key that signs but never leaves its store (file key or token key)."""

    @property
    def algorithm(self) -> KeyAlgorithm:
        """The key family: decides the signature scheme."""
        ...

    @property
    def key_size(self) -> int:
        """Bits of the key (2048, 4096, 256, ...)."""
        ...

    def sign(self, data: bytes, digest: DigestAlgorithm) -> bytes:
        """Hash ``data`` with ``digest`` and sign the hash."""
        ...

    def sign_digest(self, digest_value: bytes, digest: DigestAlgorithm) -> bytes:
        """Sign a digest computed elsewhere (streamed files, NCALayer's hash signing)."""
        ...


@dataclass(frozen=True, eq=False)
class SoftwareKey:
    """A SigningKey over a `cryptography` private key held in memory."""

    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def algorithm(self) -> KeyAlgorithm:
        """RSA or EC."""
        return (
            KeyAlgorithm.RSA if isinstance(self.private_key, rsa.RSAPrivateKey) else KeyAlgorithm.EC
        )

    @property
    def key_size(self) -> int:
        """Bits of the key."""
        return self.private_key.key_size

    def sign(self, data: bytes, digest: DigestAlgorithm) -> bytes:
        """PKCS#1 v1.5 for RSA, DER-encoded ECDSA for EC."""
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            return self.private_key.sign(data, padding.PKCS1v15(), hash_for(digest))
        return self.private_key.sign(data, ec.ECDSA(hash_for(digest)))

    def sign_digest(self, digest_value: bytes, digest: DigestAlgorithm) -> bytes:
        """Like sign(), for a digest already computed."""
        if len(digest_value) != digest.size:
            raise ValueError(f"a {digest.hashlib_name} digest has {digest.size} bytes")
        prehashed = utils.Prehashed(hash_for(digest))
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            return self.private_key.sign(digest_value, padding.PKCS1v15(), prehashed)
        return self.private_key.sign(digest_value, ec.ECDSA(prehashed))


@dataclass(frozen=True, eq=False)
class KeyEntry:
    """One key of a store: alias, certificate, chain (issuer first) and the key that signs."""

    alias: str
    certificate: x509.Certificate
    key: SigningKey
    chain: tuple[x509.Certificate, ...] = field(default=())

    @cached_property
    def certificate_der(self) -> bytes:
        """The certificate's DER, computed once (signing embeds it every time)."""
        return self.certificate.public_bytes(serialization.Encoding.DER)


class KeyStore(Protocol):
    """Anything that holds keys: a PKCS#12 file now, a PKCS#11 token later."""

    @property
    def storage(self) -> str:
        """NCALayer's storage name: "PKCS12", "AKKaztokenStore", ..."""
        ...

    @property
    def label(self) -> str:
        """What a person recognises: the file path or the token's label."""
        ...

    def entries(self) -> Sequence[KeyEntry]:
        """The keys inside, each with its certificate."""
        ...


@dataclass(frozen=True, eq=False)
class Pkcs12KeyStore:
    """An opened PKCS#12 key file."""

    label: str
    encryption: Encryption
    _entries: tuple[KeyEntry, ...]
    storage: str = "PKCS12"

    def entries(self) -> Sequence[KeyEntry]:
        """The one key of the file (PKCS#12 files from NCA hold exactly one)."""
        return self._entries

    @property
    def entry(self) -> KeyEntry:
        """The first (and usually only) key of the file."""
        return self._entries[0]


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_KEYSTORE_SIZE:
            raise CorruptKeyStore(f"{size} bytes is too large for a key file")
        return path.read_bytes()
    except FileNotFoundError:
        raise FileNotFound(str(path), path=str(path)) from None
    except IsADirectoryError:
        raise CorruptKeyStore("a directory, not a file") from None
    except OSError as exc:
        raise FileIOError(exc.strerror or type(exc).__name__, path=str(path)) from None


def _parse_pfx(data: bytes) -> asn1_pkcs12.Pfx:
    if not data:
        raise CorruptKeyStore("empty file")
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        # Touch the authenticated safe: a truncated or random file fails here, not later.
        asn1_pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native).native  # noqa: B018
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CorruptKeyStore(f"not a PKCS#12 structure ({type(exc).__name__})") from None
    return pfx


def load_pkcs12(data: bytes, password: Password, label: str = "") -> Pkcs12KeyStore:
    """Open PKCS#12 bytes: WrongPassword, CorruptKeyStore or UnsupportedAlgorithm otherwise."""
    pfx = _parse_pfx(data)
    secret = _password_bytes(password)
    try:
        if pkcs12_kdf.mac_matches(pfx, secret) is False:
            raise WrongPassword(label)
        legacy = pkcs12_kdf.uses_legacy_encryption(pfx)
    except WrongPassword:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptKeyStore(f"unreadable MAC or bags ({type(exc).__name__})") from None
    try:
        loaded = pkcs12.load_pkcs12(data, secret)
    except (ValueError, _CryptoUnsupported):
        pass
    else:
        return _store_from(loaded, label, "legacy" if legacy else "aes")
    oids = _key_oids(pfx, secret, label)
    if gost.GOST2015_512_KEY_OID in oids:
        return _gost_store(pfx, secret, label)
    for oid in oids:
        if oid in gost.GOST_NAMES:
            raise UnsupportedAlgorithm(f"{label}: key {oid}", name=gost.GOST_NAMES[oid])
    raise CorruptKeyStore(f"{label}: key algorithms {oids or 'unknown'}")


def _key_oids(pfx: asn1_pkcs12.Pfx, secret: bytes, label: str) -> list[str]:
    """The MAC was right but `cryptography` refused the file: which key families are inside."""
    try:
        return pkcs12_kdf.key_algorithms(pfx, secret)
    except (ValueError, TypeError, KeyError):
        if pfx["mac_data"].native is None:
            # Without a MAC a wrong password only shows as garbage after decryption.
            raise WrongPassword(label) from None
        raise CorruptKeyStore(f"{label}: key bag cannot be decrypted") from None


def _gost_store(pfx: asn1_pkcs12.Pfx, secret: bytes, label: str) -> Pkcs12KeyStore:
    """An NCA GOST 2015 key file: our own key reader (gost.py), `cryptography` for the certs."""
    try:
        (pkcs8, _), *_ = pkcs12_kdf.shrouded_keys(pfx, secret)
        certs = pkcs12.load_pkcs12(pkcs12_kdf.without_key_bags(pfx), secret).additional_certs
    except (ValueError, TypeError, KeyError, _CryptoUnsupported):
        raise CorruptKeyStore(f"{label}: the GOST key file cannot be read") from None
    key = gost.private_key_from_pkcs8(pkcs8)
    mine = [c for c in certs if _is_certificate_of(c.certificate, key)]
    if not mine:
        if not certs:
            raise EmptyKeyStore(label)
        raise CorruptKeyStore(f"{label}: the certificate is not the key's")
    cert = mine[0]
    alias = (cert.friendly_name or b"").decode("utf-8", "replace") or _ski_hex(cert.certificate)
    chain = tuple(c.certificate for c in certs if c is not cert)
    entry = KeyEntry(alias=alias, certificate=cert.certificate, key=key, chain=chain)
    return Pkcs12KeyStore(label=label, encryption="legacy", _entries=(entry,))


def _is_certificate_of(certificate: x509.Certificate, key: gost.GostPrivateKey) -> bool:
    public = gost.public_key_from_certificate(certificate)
    return public is not None and (public.x, public.y) == (key.public_key.x, key.public_key.y)


def _store_from(
    loaded: pkcs12.PKCS12KeyAndCertificates, label: str, enc: Encryption
) -> Pkcs12KeyStore:
    key = loaded.key
    cert = loaded.cert
    if key is None or cert is None:
        raise EmptyKeyStore(label)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        name = type(key).__name__
        raise UnsupportedAlgorithm(f"{label}: {name}", name=name)
    alias = (cert.friendly_name or b"").decode("utf-8", "replace") or _ski_hex(cert.certificate)
    chain = tuple(extra.certificate for extra in loaded.additional_certs)
    entry = KeyEntry(alias=alias, certificate=cert.certificate, key=SoftwareKey(key), chain=chain)
    if _spki(entry.certificate.public_key()) != _spki(key.public_key()):
        raise CorruptKeyStore(f"{label}: the certificate is not the key's")
    return Pkcs12KeyStore(label=label, encryption=enc, _entries=(entry,))


def _spki(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _ski_hex(cert: x509.Certificate) -> str:
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return ski.value.digest.hex()
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest.hex()


def open_pkcs12(path: str | os.PathLike[str], password: Password) -> Pkcs12KeyStore:
    """Open a PKCS#12 key file from disk."""
    p = Path(path)
    return load_pkcs12(_read_file(p), password, label=str(p))


def dump_pkcs12(
    key: WritableKey,
    certificate: x509.Certificate,
    password: Password,
    *,
    chain: Sequence[x509.Certificate] = (),
    alias: str | None = None,
    encryption: Encryption = "aes",
) -> bytes:
    """PKCS#12 bytes: modern AES-256/PBKDF2, or the legacy 3DES/SHA-1 MAC that Kalkan reads.

    A GOST key is always written the legacy way, as NCA's GOST512_*.p12 (gost_pkcs12.py): no
    other PKCS#12 of a GOST key is read anywhere.
    """
    secret = _password_bytes(password)
    if not secret:
        raise ValueError("a key file needs a password")
    if isinstance(key, gost.GostPrivateKey):
        if not _is_certificate_of(certificate, key):
            raise ValueError("the certificate is not the key's")
        return gost_pkcs12.dump_gost_pkcs12(
            key,
            certificate.public_bytes(serialization.Encoding.DER),
            secret,
            alias=alias,
            chain=[c.public_bytes(serialization.Encoding.DER) for c in chain],
        )
    algorithm: serialization.KeySerializationEncryption
    if encryption == "legacy":
        algorithm = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())  # noqa: S303 - the MAC NCA's own files and Kalkan use
            .build(secret)
        )
    else:
        algorithm = serialization.BestAvailableEncryption(secret)
    name = (alias or _ski_hex(certificate)).encode("utf-8")
    return pkcs12.serialize_key_and_certificates(
        name, key, certificate, list(chain) or None, algorithm
    )


def write_pkcs12(
    path: str | os.PathLike[str],
    key: WritableKey,
    certificate: x509.Certificate,
    password: Password,
    *,
    chain: Sequence[x509.Certificate] = (),
    alias: str | None = None,
    encryption: Encryption = "aes",
) -> None:
    """Write a new key file atomically, readable by its owner only."""
    data = dump_pkcs12(key, certificate, password, chain=chain, alias=alias, encryption=encryption)
    atomic_write(Path(path), data, mode=0o600)


def require_key_algorithm(key: SigningKey, *allowed: KeyAlgorithm) -> None:
    """KeyTypeMismatch, naming both families, unless ``key`` is of one of ``allowed``."""
    if key.algorithm not in allowed:
        raise KeyTypeMismatch(
            f"{key.algorithm.value} key, {'/'.join(a.value for a in allowed)} required",
            expected=" / ".join(_FAMILY_NAMES.get(a, a.value) for a in allowed),
            actual=_FAMILY_NAMES.get(key.algorithm, key.algorithm.value),
        )


_FAMILY_NAMES = {
    KeyAlgorithm.RSA: "RSA",
    KeyAlgorithm.EC: "ECDSA",
    KeyAlgorithm.GOST2015: "GOST 34.10-2015",
    KeyAlgorithm.GOST2004: "GOST 34.310-2004",
}


def backup_path(path: Path) -> Path:
    """Where the previous version of a key file waits while a new one is written."""
    return path.with_name(path.name + ".bak")


def change_password(
    path: str | os.PathLike[str],
    old_password: Password,
    new_password: Password,
    *,
    encryption: Encryption | None = None,
) -> Pkcs12KeyStore:
    """Re-encrypt a key file under a new password without ever risking the only copy.

    Order: open with the old password; build and re-open the new bytes in memory; keep the old
    file as ``*.bak``; atomically replace; re-open the file from disk; only then drop the backup.
    If the re-open fails the backup is put back and the error raised. The encryption style of
    the file is kept (legacy stays legacy, so NCALayer can still read it) unless asked otherwise.
    """
    p = Path(path)
    original = _read_file(p)
    store = load_pkcs12(original, old_password, label=str(p))
    entry = store.entry
    require_key_algorithm(entry.key, KeyAlgorithm.RSA, KeyAlgorithm.EC, KeyAlgorithm.GOST2015)
    private_key: WritableKey
    if isinstance(entry.key, SoftwareKey):
        private_key = entry.key.private_key
    elif isinstance(entry.key, gost.GostPrivateKey):
        private_key = entry.key
    else:
        raise UnsupportedAlgorithm("not a software key", name="token key")
    new_bytes = dump_pkcs12(
        private_key,
        entry.certificate,
        new_password,
        chain=entry.chain,
        alias=entry.alias,
        encryption=encryption or store.encryption,
    )
    load_pkcs12(new_bytes, new_password, label=str(p))
    backup = backup_path(p)
    atomic_write(backup, original, mode=0o600)
    try:
        atomic_write(p, new_bytes, mode=0o600)
        reopened = open_pkcs12(p, new_password)
    except BaseException:
        os.replace(backup, p)
        raise
    backup.unlink()
    return reopened


__all__ = [
    "MAX_KEYSTORE_SIZE",
    "Encryption",
    "KeyEntry",
    "KeyStore",
    "Password",
    "Pkcs12KeyStore",
    "SigningKey",
    "SoftwareKey",
    "Streebog512Hash",
    "WritableKey",
    "backup_path",
    "change_password",
    "dump_pkcs12",
    "hash_for",
    "load_pkcs12",
    "open_pkcs12",
    "require_key_algorithm",
    "write_pkcs12",
]
