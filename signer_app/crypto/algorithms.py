"""Which digest and signature algorithm goes with which key, with their OIDs and XML URIs.

Every signing format (CMS, XML, later PDF) asks this module instead of naming algorithms itself,
so a new key family is one new row here; nothing in cms.py or xmldsig.py names RSA, EC or GOST
directly. GOST 34.10-2015 (512) with Streebog-512 uses NCA's OIDs and URIs
(shared/KZ_PKI_NOTES.md §2.5); its arithmetic lives in gost.py.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any

from .errors import UnsupportedAlgorithm


class DigestAlgorithm(enum.Enum):
    """A message digest, with the names the formats use for it."""

    SHA256 = ("sha256", "2.16.840.1.101.3.4.2.1", "http://www.w3.org/2001/04/xmlenc#sha256", 32)
    SHA384 = (
        "sha384",
        "2.16.840.1.101.3.4.2.2",
        "http://www.w3.org/2001/04/xmldsig-more#sha384",
        48,
    )
    SHA512 = ("sha512", "2.16.840.1.101.3.4.2.3", "http://www.w3.org/2001/04/xmlenc#sha512", 64)
    # GOST 34.11-2015 (Streebog-512) under NCA's OID and pkigovkz URI; not in hashlib (gost.py).
    STREEBOG512 = (
        "streebog512",
        "1.2.398.3.10.1.3.3",
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512",
        64,
    )
    # GOST 34.311-95, the hash of NCA's GOST 34.310-2004 signatures (verify only; gost34311.py).
    GOST34311 = (
        "gost34311",
        "1.2.398.3.10.1.3.1",
        "http://www.w3.org/2001/04/xmldsig-more#gost34311",
        32,
    )

    def __init__(self, hashlib_name: str, oid: str, xml_uri: str, size: int) -> None:
        self.hashlib_name = hashlib_name
        self.oid = oid
        self.xml_uri = xml_uri
        self.size = size

    def new(self) -> Any:
        """A fresh hashlib-like object for streaming (OpenSSL for SHA-2, gostcrypto for GOST)."""
        if self is DigestAlgorithm.STREEBOG512:
            from .gost import Streebog  # gost.py imports this module

            return Streebog(self.hashlib_name)
        if self is DigestAlgorithm.GOST34311:
            from .gost34311 import Gost34311

            return Gost34311()
        return hashlib.new(self.hashlib_name)

    def digest(self, data: bytes) -> bytes:
        """The digest of ``data`` in one call."""
        if self in (DigestAlgorithm.STREEBOG512, DigestAlgorithm.GOST34311):
            return bytes(self.new_with(data).digest())
        return hashlib.new(self.hashlib_name, data).digest()

    def new_with(self, data: bytes) -> Any:
        """A hashlib-like object that has already hashed ``data``."""
        hasher = self.new()
        hasher.update(data)
        return hasher

    @classmethod
    def from_oid(cls, oid: str) -> DigestAlgorithm:
        """The digest named by an OID, or UnsupportedAlgorithm."""
        for member in cls:
            if member.oid == oid:
                return member
        raise UnsupportedAlgorithm(f"digest OID {oid}", name=oid)

    @classmethod
    def from_xml_uri(cls, uri: str) -> DigestAlgorithm:
        """The digest named by an XML-DSig URI, or UnsupportedAlgorithm."""
        for member in cls:
            if member.xml_uri == uri:
                return member
        raise UnsupportedAlgorithm(f"digest URI {uri}", name=uri)


class KeyAlgorithm(enum.Enum):
    """The key families Qalam knows, by the names Kalkan's keys report (NCALayer's KeyInfo)."""

    RSA = "RSA"
    EC = "EC"
    GOST2015 = "ECGOST3410-2015"
    # GOST 34.310-2004: verified, never signed with (NCA stopped issuing it in 2024).
    GOST2004 = "ECGOST34310"


@dataclass(frozen=True)
class SignatureScheme:
    """A key family plus a digest: the OIDs and URIs a signature of that kind carries."""

    key_algorithm: KeyAlgorithm
    digest: DigestAlgorithm
    cms_oid: str
    cms_parameters_null: bool
    xml_uri: str


_SCHEMES: dict[tuple[KeyAlgorithm, DigestAlgorithm], SignatureScheme] = {
    (KeyAlgorithm.RSA, DigestAlgorithm.SHA256): SignatureScheme(
        KeyAlgorithm.RSA,
        DigestAlgorithm.SHA256,
        "1.2.840.113549.1.1.11",
        True,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    ),
    (KeyAlgorithm.RSA, DigestAlgorithm.SHA384): SignatureScheme(
        KeyAlgorithm.RSA,
        DigestAlgorithm.SHA384,
        "1.2.840.113549.1.1.12",
        True,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    ),
    (KeyAlgorithm.RSA, DigestAlgorithm.SHA512): SignatureScheme(
        KeyAlgorithm.RSA,
        DigestAlgorithm.SHA512,
        "1.2.840.113549.1.1.13",
        True,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    ),
    (KeyAlgorithm.EC, DigestAlgorithm.SHA256): SignatureScheme(
        KeyAlgorithm.EC,
        DigestAlgorithm.SHA256,
        "1.2.840.10045.4.3.2",
        False,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    ),
    (KeyAlgorithm.EC, DigestAlgorithm.SHA384): SignatureScheme(
        KeyAlgorithm.EC,
        DigestAlgorithm.SHA384,
        "1.2.840.10045.4.3.3",
        False,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    ),
    (KeyAlgorithm.EC, DigestAlgorithm.SHA512): SignatureScheme(
        KeyAlgorithm.EC,
        DigestAlgorithm.SHA512,
        "1.2.840.10045.4.3.4",
        False,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    ),
    (KeyAlgorithm.GOST2015, DigestAlgorithm.STREEBOG512): SignatureScheme(
        KeyAlgorithm.GOST2015,
        DigestAlgorithm.STREEBOG512,
        "1.2.398.3.10.1.1.2.3.2",
        True,  # NULL parameters, as in NCA's own certificates
        "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512",
    ),
    # Verify only: scheme_for refuses GOST 2004 (no DEFAULT_DIGEST), so nothing signs with it.
    (KeyAlgorithm.GOST2004, DigestAlgorithm.GOST34311): SignatureScheme(
        KeyAlgorithm.GOST2004,
        DigestAlgorithm.GOST34311,
        "1.2.398.3.10.1.1.1.2",
        True,
        "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311",
    ),
}

# The digest each key family signs with unless the caller asks otherwise (what NCA issues).
DEFAULT_DIGEST = {
    KeyAlgorithm.RSA: DigestAlgorithm.SHA256,
    KeyAlgorithm.EC: DigestAlgorithm.SHA256,
    KeyAlgorithm.GOST2015: DigestAlgorithm.STREEBOG512,
}

# Key-family OIDs that also appear as a SignerInfo's signatureAlgorithm: rsaEncryption (what
# OpenSSL writes) and id-ecPublicKey (what some Java encoders write) say "this family, digest from
# digestAlgorithm".
_FAMILY_OIDS = {
    "1.2.840.113549.1.1.1": KeyAlgorithm.RSA,
    "1.2.840.10045.2.1": KeyAlgorithm.EC,
    "1.2.398.3.10.1.1.2.2": KeyAlgorithm.GOST2015,
}


def scheme_for(
    key_algorithm: KeyAlgorithm, digest: DigestAlgorithm | None = None
) -> SignatureScheme:
    """The signature scheme for a key family and digest (the family's default digest if None)."""
    if key_algorithm not in DEFAULT_DIGEST:
        name = f"{key_algorithm.value} (verification only)"
        raise UnsupportedAlgorithm(name, name=name)
    chosen = digest or DEFAULT_DIGEST[key_algorithm]
    try:
        return _SCHEMES[(key_algorithm, chosen)]
    except KeyError:
        name = f"{key_algorithm.value} with {chosen.hashlib_name}"
        raise UnsupportedAlgorithm(name, name=name) from None


def scheme_from_cms(signature_oid: str, digest: DigestAlgorithm) -> SignatureScheme:
    """The scheme a CMS SignerInfo names by its signatureAlgorithm and digestAlgorithm."""
    if signature_oid in _FAMILY_OIDS:
        return scheme_for(_FAMILY_OIDS[signature_oid], digest)
    for scheme in _SCHEMES.values():
        if scheme.cms_oid == signature_oid:
            if scheme.digest is not digest:
                # A signature OID that names another digest than digestAlgorithm is a forgery
                # attempt or a broken encoder; either way we do not guess.
                name = f"{signature_oid} with digest {digest.hashlib_name}"
                raise UnsupportedAlgorithm(name, name=name)
            return scheme
    raise UnsupportedAlgorithm(f"signature OID {signature_oid}", name=signature_oid)


def scheme_from_xml_uri(uri: str) -> SignatureScheme:
    """The scheme an XML-DSig SignatureMethod names."""
    for scheme in _SCHEMES.values():
        if scheme.xml_uri == uri:
            return scheme
    raise UnsupportedAlgorithm(f"signature URI {uri}", name=uri)


__all__ = [
    "DEFAULT_DIGEST",
    "DigestAlgorithm",
    "KeyAlgorithm",
    "SignatureScheme",
    "scheme_for",
    "scheme_from_cms",
    "scheme_from_xml_uri",
]
