"""PKCS#10 certificate requests (RFC 2986) signed by any SigningKey: a key in memory, a key on
a PKCS#11 token, a GOST key.

Why by hand (with der.py): `cryptography`'s CertificateSigningRequestBuilder signs only with
its own in-memory keys, while a token's private key never leaves the token and GOST keys are
unknown to it. A request is three small elements (the request info, the algorithm, the
signature), written the way cms.py writes its fixed fragments. What the signature bytes look
like is the key's business (PKCS#1 v1.5, DER ECDSA, NCA's GOST r||s): they go into the BIT
STRING as the key returns them, exactly as in a certificate.
"""

from __future__ import annotations

from . import der
from .algorithms import DigestAlgorithm, scheme_for
from .keystores import SigningKey

EMPTY_NAME = der.sequence()  # the CA takes the subject from its registry (ca_server/authority.py)
_BIT_STRING = 0x03
_ATTRIBUTES = 0xA0  # [0] IMPLICIT SET OF Attribute


def build_csr(
    subject_public_key_info: bytes,
    key: SigningKey,
    *,
    subject: bytes = EMPTY_NAME,
    digest: DigestAlgorithm | None = None,
) -> bytes:
    """A DER CertificationRequest for the public key ``subject_public_key_info`` (DER), signed
    by ``key`` (its private half), naming ``subject`` (a DER Name; empty by default)."""
    info = der.sequence(der.integer(0), subject, subject_public_key_info, der.tlv(_ATTRIBUTES, b""))
    scheme = scheme_for(key.algorithm, digest)
    algorithm = der.oid(scheme.cms_oid) + (der.null() if scheme.cms_parameters_null else b"")
    signature = key.sign(info, scheme.digest)
    return der.sequence(info, der.sequence(algorithm), der.tlv(_BIT_STRING, b"\x00" + signature))


__all__ = ["EMPTY_NAME", "build_csr"]
