"""Checking a signature with a public key, one branch per key family (the mirror of SigningKey).

CMS and XML-DSig both come here. RSA and EC keys are `cryptography`'s; GOST keys, which
`cryptography` cannot read, are gost.py's GostPublicKey.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupported
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from . import gost
from .algorithms import DigestAlgorithm, KeyAlgorithm

_PKCS1 = padding.PKCS1v15()


def public_key_of(certificate: x509.Certificate) -> Any:
    """The certificate's key: a `cryptography` key, a GostPublicKey, or None if unusable."""
    try:
        return certificate.public_key()
    except (_CryptoUnsupported, ValueError):
        return gost.public_key_from_certificate(certificate)


def key_algorithm_of(public_key: Any) -> KeyAlgorithm | None:
    """The family of a public key, or None for families Qalam does not sign with."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return KeyAlgorithm.RSA
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return KeyAlgorithm.EC
    if isinstance(public_key, gost.GostPublicKey):
        return public_key.algorithm
    return None


# The concrete classes seen to be RSA public keys: a set lookup instead of an ABC isinstance
# check (the abstract classes' check is a visible share of verifying a small signature).
_RSA_KEY_TYPES: set[type] = set()


def _remember_rsa(public_key: Any) -> bool:
    if isinstance(public_key, rsa.RSAPublicKey):
        _RSA_KEY_TYPES.add(type(public_key))
        return True
    return False


def signature_ok(
    public_key: Any,
    family: KeyAlgorithm,
    signature: bytes,
    data: bytes,
    algorithm: hashes.HashAlgorithm | utils.Prehashed,
) -> bool:
    """Whether ``signature`` (PKCS#1 v1.5, DER ECDSA or NCA's GOST r‖s) over ``data`` verifies.

    ``algorithm`` is a hash, or a Prehashed one when ``data`` is already a digest. A key of
    another family than ``family`` gives False, never an exception.
    """
    try:
        if family is KeyAlgorithm.RSA and (
            type(public_key) in _RSA_KEY_TYPES or _remember_rsa(public_key)
        ):
            public_key.verify(signature, data, _PKCS1, algorithm)
            return True
        if family is KeyAlgorithm.EC and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(algorithm))
            return True
    except InvalidSignature:
        return False
    if isinstance(public_key, gost.GostPublicKey) and public_key.algorithm is family:
        # The scheme table pairs GOST 2015 with Streebog-512 and GOST 2004 with 34.311-95 only.
        own = (
            DigestAlgorithm.STREEBOG512
            if family is KeyAlgorithm.GOST2015
            else DigestAlgorithm.GOST34311
        )
        if isinstance(algorithm, utils.Prehashed):
            if algorithm.digest_size != own.size:
                return False
            digest = data
        elif algorithm.name == own.hashlib_name:
            digest = own.digest(data)
        else:
            return False
        return public_key.verify_digest(signature, digest)
    return False


__all__ = ["key_algorithm_of", "public_key_of", "signature_ok"]
