"""Checking a signature with a public key, one branch per key family (the mirror of SigningKey).

CMS and XML-DSig both come here, so a new key family (GOST 34.10-2015) is one new branch.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from .algorithms import KeyAlgorithm

_PKCS1 = padding.PKCS1v15()


def key_algorithm_of(public_key: CertificatePublicKeyTypes) -> KeyAlgorithm | None:
    """The family of a public key, or None for families Qalam does not sign with."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return KeyAlgorithm.RSA
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return KeyAlgorithm.EC
    return None


def signature_ok(
    public_key: CertificatePublicKeyTypes,
    family: KeyAlgorithm,
    signature: bytes,
    data: bytes,
    algorithm: hashes.HashAlgorithm | utils.Prehashed,
) -> bool:
    """Whether ``signature`` (PKCS#1 v1.5 or DER ECDSA) over ``data`` verifies with the key.

    ``algorithm`` is a hash, or a Prehashed one when ``data`` is already a digest. A key of
    another family than ``family`` gives False, never an exception.
    """
    try:
        if family is KeyAlgorithm.RSA and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, _PKCS1, algorithm)
            return True
        if family is KeyAlgorithm.EC and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(algorithm))
            return True
    except InvalidSignature:
        return False
    return False


__all__ = ["key_algorithm_of", "signature_ok"]
