"""GOST 2015 private keys at rest as encrypted PKCS#8 PEM (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC).

The same "ENCRYPTED PRIVATE KEY" format `cryptography`'s BestAvailableEncryption writes for the
RSA CA keys (ca_server/ca_keys.py), so a CA directory holds one kind of key file whatever the
algorithm. Put together here because `cryptography` will not serialise a key it cannot load;
the primitives (PBKDF2, AES) are `cryptography`'s and the structures asn1crypto's.
"""

from __future__ import annotations

import secrets

from asn1crypto import algos, keys, pem
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .errors import QalamError
from .gost import GostPrivateKey, private_key_from_pkcs8

ITERATIONS = 200_000
_PEM_TYPE = "ENCRYPTED PRIVATE KEY"


def _kdf(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase)


def encrypt_private_key(key: GostPrivateKey, passphrase: bytes) -> bytes:
    """The key as PEM "ENCRYPTED PRIVATE KEY"; ValueError for an empty passphrase."""
    if not passphrase:
        raise ValueError("an empty passphrase cannot protect a key")
    salt, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(key.to_pkcs8()) + padder.finalize()
    encryptor = Cipher(
        algorithms.AES(_kdf(passphrase, salt, ITERATIONS)), modes.CBC(iv)
    ).encryptor()
    info = keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": "pbes2",
                "parameters": {
                    "key_derivation_func": {
                        "algorithm": "pbkdf2",
                        "parameters": {
                            "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                            "iteration_count": ITERATIONS,
                            "prf": {"algorithm": "sha256", "parameters": None},
                        },
                    },
                    "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                },
            },
            "encrypted_data": encryptor.update(plain) + encryptor.finalize(),
        }
    )
    return bytes(pem.armor(_PEM_TYPE, info.dump()))


def decrypt_private_key(data: bytes, passphrase: bytes) -> GostPrivateKey:
    """The GOST key of an ``encrypt_private_key`` PEM; ValueError for a wrong passphrase or a
    file that is not one (the two cannot be told apart without a MAC, as for any PKCS#8)."""
    try:
        kind, _, body = pem.unarmor(data)
        if kind != _PEM_TYPE:
            raise ValueError(kind)
        info = keys.EncryptedPrivateKeyInfo.load(body, strict=True)
        params = info["encryption_algorithm"]["parameters"]
        kdf = params["key_derivation_func"]["parameters"]
        if params["encryption_scheme"]["algorithm"].native != "aes256_cbc":
            raise ValueError("cipher")
        key = _kdf(passphrase, kdf["salt"].native, kdf["iteration_count"].native)
        iv = params["encryption_scheme"]["parameters"].native
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(info["encrypted_data"].native) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        return private_key_from_pkcs8(plain)
    except (ValueError, TypeError, KeyError, QalamError):
        raise ValueError("not a GOST key file, or the wrong passphrase") from None


__all__ = ["ITERATIONS", "decrypt_private_key", "encrypt_private_key"]
