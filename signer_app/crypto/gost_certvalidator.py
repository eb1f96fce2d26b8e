"""GOST signatures inside pyhanko-certvalidator: certificate paths, OCSP responses and CRLs
signed by NCA's GOST CAs.

pyhanko-certvalidator checks every signature through a pluggable ``SignatureValidator``; its
default hands the key to OpenSSL, which does not know NCA's GOST OIDs. This one answers for GOST
public keys with gost.py (NCA's encodings, Streebog-512) and leaves every other key to the
default, so one ValidationContext validates RSA, EC and GOST lines alike.
"""

from __future__ import annotations

from asn1crypto import algos
from asn1crypto.keys import PublicKeyInfo
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)

from .algorithms import KeyAlgorithm
from .gost import GOST2004_SIGNATURE_OID, GOST2015_512_SIGNATURE_OID, public_key_from_spki

_SIGNATURE_OID = {
    KeyAlgorithm.GOST2015: GOST2015_512_SIGNATURE_OID,
    KeyAlgorithm.GOST2004: GOST2004_SIGNATURE_OID,
}


class GostAwareSignatureValidator(DefaultSignatureValidator):
    """pyhanko-certvalidator's signature check, with GOST 2015 keys verified by gost.py."""

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        """Return if ``signature`` verifies, else raise cryptography's InvalidSignature."""
        key = public_key_from_spki(public_key_info.dump())
        if key is None:
            super().validate_signature(
                signature, signed_data, public_key_info, signature_algorithm, context
            )
            return
        oid = signature_algorithm["algorithm"].dotted
        if oid != _SIGNATURE_OID[key.algorithm]:
            raise InvalidSignature(f"a {key.algorithm.value} key does not make {oid} signatures")
        if not key.verify(signature, signed_data):
            raise InvalidSignature("the GOST signature does not verify")


GOST_AWARE = GostAwareSignatureValidator()

__all__ = ["GOST_AWARE", "GostAwareSignatureValidator"]
