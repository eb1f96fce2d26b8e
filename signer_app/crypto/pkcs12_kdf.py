"""The PKCS#12 key derivation (RFC 7292 appendix B) and the two things we need it for.

Written by hand because `cryptography` does not expose it: its ``load_pkcs12`` answers "invalid
password or PKCS12 data" both for a wrong password and for a key it cannot read (GOST), and a
person must be told which. Checking the MAC ourselves separates the two; decrypting a legacy
3DES key bag tells which key algorithm is inside (and is what a GOST reader will build on).
"""

from __future__ import annotations

import hashlib
import hmac

from asn1crypto import algos, cms, core, pkcs12
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

_BLOCK_SIZES = {"sha1": 64, "sha224": 64, "sha256": 64, "sha384": 128, "sha512": 128}

PURPOSE_KEY = 1
PURPOSE_IV = 2
PURPOSE_MAC = 3


def bmp_password(password: bytes) -> bytes:
    """The password as PKCS#12 hashes it: UTF-16BE with two zero bytes at the end."""
    return password.decode("utf-8").encode("utf-16-be") + b"\x00\x00"


def derive(
    hash_name: str, password: bytes, salt: bytes, purpose: int, rounds: int, n: int
) -> bytes:
    """RFC 7292 B.2: ``n`` bytes of key material for ``purpose`` (1 key, 2 IV, 3 MAC)."""
    v = _BLOCK_SIZES[hash_name]
    p = bmp_password(password)
    d = bytes([purpose]) * v

    def fill(data: bytes) -> bytes:
        if not data:
            return b""
        length = v * ((len(data) + v - 1) // v)
        return (data * (length // len(data) + 1))[:length]

    block = bytearray(fill(salt) + fill(p))
    out = b""
    while len(out) < n:
        a = hashlib.new(hash_name, d + bytes(block)).digest()
        for _ in range(rounds - 1):
            a = hashlib.new(hash_name, a).digest()
        out += a
        if len(out) >= n:
            break
        b = int.from_bytes((a * (v // len(a) + 1))[:v], "big")
        for j in range(0, len(block), v):
            chunk = (int.from_bytes(block[j : j + v], "big") + b + 1) % (1 << (8 * v))
            block[j : j + v] = chunk.to_bytes(v, "big")
    return out[:n]


def pbe_3des_encrypt(password: bytes, plaintext: bytes, salt: bytes, rounds: int) -> bytes:
    """pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C), the cipher of NCA's key bags."""
    key = derive("sha1", password, salt, PURPOSE_KEY, rounds, 24)
    iv = derive("sha1", password, salt, PURPOSE_IV, rounds, 8)
    pad = 8 - len(plaintext) % 8
    encryptor = Cipher(TripleDES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(plaintext + bytes([pad]) * pad) + encryptor.finalize()


def pbe_3des_decrypt(password: bytes, ciphertext: bytes, salt: bytes, rounds: int) -> bytes:
    """The inverse of ``pbe_3des_encrypt``; ValueError for a wrong length or padding."""
    if not ciphertext or len(ciphertext) % 8:
        raise ValueError("the key bag is not whole 3DES blocks")
    key = derive("sha1", password, salt, PURPOSE_KEY, rounds, 24)
    iv = derive("sha1", password, salt, PURPOSE_IV, rounds, 8)
    decryptor = Cipher(TripleDES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(ciphertext) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 8 or plain[-pad:] != bytes([pad]) * pad:
        raise ValueError("the key bag's padding is wrong")
    return plain[:-pad]


def mac(hash_name: str, password: bytes, salt: bytes, rounds: int, content: bytes) -> bytes:
    """The PKCS#12 MAC of ``content``: HMAC keyed by the RFC 7292 B.2 derivation."""
    size = hashlib.new(hash_name).digest_size
    key = derive(hash_name, password, salt, PURPOSE_MAC, rounds, size)
    return hmac.new(key, content, hash_name).digest()


class _AnyAlgorithm(core.Sequence):  # type: ignore[misc]
    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", core.Any, {"optional": True})]


class _PrivateKeyInfoHead(core.Sequence):  # type: ignore[misc]
    """PKCS#8 read only as far as the algorithm: asn1crypto's own refuses unknown (GOST) OIDs."""

    _fields = [
        ("version", core.Integer),
        ("algorithm", _AnyAlgorithm),
        ("private_key", core.OctetString),
        ("attributes", core.Any, {"implicit": 0, "optional": True}),
    ]


def mac_matches(pfx: pkcs12.Pfx, password: bytes) -> bool | None:
    """Whether the file's HMAC checks out with ``password``; None when the file has no MAC."""
    mac_data = pfx["mac_data"]
    if mac_data.native is None:
        return None
    hash_name = mac_data["mac"]["digest_algorithm"]["algorithm"].native
    if hash_name not in _BLOCK_SIZES:
        return None
    rounds = mac_data["iterations"].native or 1
    salt = mac_data["mac_salt"].native
    expected = mac_data["mac"]["digest"].native
    content = pfx["auth_safe"]["content"].native
    actual = mac(hash_name, password, salt, rounds, content)
    return hmac.compare_digest(actual, expected)


def shrouded_keys(pfx: pkcs12.Pfx, password: bytes) -> list[tuple[bytes, pkcs12.SafeBag]]:
    """The decrypted PKCS#8 of each legacy 3DES-shrouded key bag in ``pfx``, with its bag.

    The PKCS#8 is returned whatever its key algorithm: this is how GOST keys, which no library
    reads, are taken out of NCA's files (see gost.py). ValueError for a bag that does not
    decrypt to a PKCS#8 structure (damaged, truncated, or the wrong password without a MAC).
    """
    found: list[tuple[bytes, pkcs12.SafeBag]] = []
    safe = pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native)
    for info in safe:
        if info["content_type"].native != "data":
            continue
        for bag in pkcs12.SafeContents.load(info["content"].native):
            if bag["bag_id"].native != "pkcs8_shrouded_key_bag":
                continue
            encrypted = bag["bag_value"]
            algorithm = encrypted["encryption_algorithm"]
            if algorithm["algorithm"].native != "pkcs12_sha1_tripledes_3key":
                continue
            params = algorithm["parameters"]
            plain = pbe_3des_decrypt(
                password,
                encrypted["encrypted_data"].native,
                params["salt"].native,
                params["iterations"].native,
            )
            _PrivateKeyInfoHead.load(plain).native  # noqa: B018 - refuse garbage here
            found.append((plain, bag))
    return found


def key_algorithms(pfx: pkcs12.Pfx, password: bytes) -> list[str]:
    """The PKCS#8 algorithm OIDs of the legacy 3DES-shrouded key bags in ``pfx``."""
    return [
        _PrivateKeyInfoHead.load(plain)["algorithm"]["algorithm"].dotted
        for plain, _ in shrouded_keys(pfx, password)
    ]


def without_key_bags(pfx: pkcs12.Pfx) -> bytes:
    """The same PKCS#12 without its key bags and MAC: the certificates alone.

    `cryptography` reads the RC2-40 certificate bags of NCA's files (through OpenSSL's legacy
    provider) but refuses a whole file whose key it cannot read; handed this it returns the
    certificates, so no RC2 of our own is needed.
    """
    kept = []
    safe = pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native)
    for info in safe:
        if info["content_type"].native == "data":
            bags = [
                bag
                for bag in pkcs12.SafeContents.load(info["content"].native)
                if bag["bag_id"].native not in ("pkcs8_shrouded_key_bag", "key_bag")
            ]
            if not bags:
                continue
            info = cms.ContentInfo(
                {"content_type": "data", "content": pkcs12.SafeContents(bags).dump(force=True)}
            )
        kept.append(info)
    authenticated = pkcs12.AuthenticatedSafe(kept).dump(force=True)
    stripped = pkcs12.Pfx(
        {"version": 3, "auth_safe": {"content_type": "data", "content": authenticated}}
    )
    return bytes(stripped.dump())


def uses_legacy_encryption(pfx: pkcs12.Pfx) -> bool:
    """True when the key bags use the PKCS#12 v1 PBE (3DES/RC2) rather than PBES2 (AES)."""
    safe = pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native)
    for info in safe:
        if info["content_type"].native != "data":
            continue
        for bag in pkcs12.SafeContents.load(info["content"].native):
            if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                algorithm: algos.EncryptionAlgorithm = bag["bag_value"]["encryption_algorithm"]
                return bool(algorithm["algorithm"].native != "pbes2")
    return False
