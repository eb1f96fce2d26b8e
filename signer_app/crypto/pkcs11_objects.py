"""Key pairs made on a PKCS#11 token and certificates written to it (enrolment on a token).

``generate_key_pair`` asks the token for a new RSA-2048 or P-256 pair that stays on it (the
private half sensitive, never extractable, signing only) under a fresh CKA_ID shared by both
halves; the public key is read back from the token as a SubjectPublicKeyInfo, so the person's
certificate request can be signed by the token itself (csr.build_csr with the pair's TokenKey).
``store_certificate`` writes the issued certificate under the same CKA_ID, which is how
``Pkcs11Token.entries`` pairs it with its key; ``store_ca_certificates`` adds the chain when
the token has room. ``destroy_key_pair`` removes a pair nothing was issued for.

Every call goes through ``Pkcs11Token.use_session`` (one thread at a time, PKCS#11 errors
translated); the token must have been opened read-write (``login(..., rw=True)``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from asn1crypto import core, keys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import Attribute, CertificateType, KeyType, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11x
from pkcs11.util.ec import encode_named_curve_parameters

from .algorithms import KeyAlgorithm
from .errors import InvalidInput, TokenError
from .pkcs11 import Pkcs11Token, TokenKey

KeyKind = Literal["rsa", "ec"]
KEY_KINDS: tuple[KeyKind, ...] = ("rsa", "ec")
RSA_BITS = 2048
_ID_BYTES = 16
_CURVES: dict[str, ec.EllipticCurve] = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}

# The private half: kept on the token, readable by nobody, usable only for signing.
_PRIVATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
_PUBLIC = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: False,
    Attribute.VERIFY: True,
    Attribute.ENCRYPT: False,
    Attribute.WRAP: False,
}


@dataclass(frozen=True)
class TokenKeyPair:
    """A key pair on the token: its CKA_ID, label, public key as read, and a signing handle."""

    key_id: bytes
    label: str
    spki: bytes
    key: TokenKey

    @property
    def ski(self) -> str:
        """The SubjectKeyIdentifier (RFC 5280 method 1) in hex, as the CA records it."""
        public = serialization.load_der_public_key(self.spki)
        return x509.SubjectKeyIdentifier.from_public_key(public).digest.hex()  # type: ignore[arg-type]


def _check_kind(kind: str) -> KeyKind:
    if kind not in KEY_KINDS:
        raise InvalidInput(kind, reason='the key kind is "rsa" or "ec"')
    return kind


def _fresh_id(session: Any) -> bytes:
    while True:
        candidate = os.urandom(_ID_BYTES)
        if not any(True for _ in session.get_objects({Attribute.ID: candidate})):
            return candidate


def _ec_point(raw: bytes) -> bytes:
    # PKCS#11 says CKA_EC_POINT is a DER OCTET STRING; some drivers give the bare point.
    try:
        parsed = core.OctetString.load(raw, strict=True)
        return bytes(parsed.native)
    except ValueError:
        return raw


def _public_key_info(public: Any) -> tuple[bytes, KeyAlgorithm, int]:
    """The SPKI DER of a public key object, built from its attributes (and so checked)."""
    key_type = public[Attribute.KEY_TYPE]
    if key_type == KeyType.RSA:
        n = int.from_bytes(bytes(public[Attribute.MODULUS]), "big")
        e = int.from_bytes(bytes(public[Attribute.PUBLIC_EXPONENT]), "big")
        key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey = rsa.RSAPublicNumbers(e, n).public_key()
        algorithm = KeyAlgorithm.RSA
    elif key_type == KeyType.EC:
        params = keys.ECDomainParameters.load(bytes(public[Attribute.EC_PARAMS]))
        curve = _CURVES.get(str(params.chosen.native)) if params.name == "named" else None
        if curve is None:
            raise TokenError("EC parameters", reason="the token made a key on an unknown curve")
        point = _ec_point(bytes(public[Attribute.EC_POINT]))
        key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        algorithm = KeyAlgorithm.EC
    else:
        raise TokenError("key type", reason=f"the token made a key of type {key_type!r}")
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return spki, algorithm, key.key_size


def _pair(token: Pkcs11Token, public: Any, private: Any, key_id: bytes, label: str) -> TokenKeyPair:
    spki, algorithm, size = _public_key_info(public)
    return TokenKeyPair(key_id, label, spki, TokenKey(private, algorithm, size, token))


def generate_key_pair(token: Pkcs11Token, kind: str, label: str) -> TokenKeyPair:
    """A new key pair made on the token ("rsa": RSA-2048, "ec": P-256), stored there."""
    chosen = _check_kind(kind)

    def make(session: Any) -> TokenKeyPair:
        key_id = _fresh_id(session)
        common: dict[str, Any] = {
            "id": key_id,
            "label": label,
            "store": True,
            "capabilities": MechanismFlag.SIGN | MechanismFlag.VERIFY,
            "public_template": _PUBLIC,
            "private_template": _PRIVATE,
        }
        if chosen == "rsa":
            public, private = session.generate_keypair(KeyType.RSA, RSA_BITS, **common)
        else:
            curve = encode_named_curve_parameters("secp256r1")
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: curve}, local=True
            )
            public, private = params.generate_keypair(**common)
        return _pair(token, public, private, key_id, label)

    return token.use_session("generate a key pair", make)


def find_key_pair(token: Pkcs11Token, key_id: bytes) -> TokenKeyPair | None:
    """The key pair stored under ``key_id``; None when either half is missing."""

    def find(session: Any) -> TokenKeyPair | None:
        halves = {}
        for cls in (ObjectClass.PUBLIC_KEY, ObjectClass.PRIVATE_KEY):
            found = list(session.get_objects({Attribute.CLASS: cls, Attribute.ID: key_id}))
            if len(found) != 1:
                return None
            halves[cls] = found[0]
        private = halves[ObjectClass.PRIVATE_KEY]
        try:
            label = str(private[Attribute.LABEL])
        except p11x.PKCS11Error:
            label = ""
        return _pair(token, halves[ObjectClass.PUBLIC_KEY], private, key_id, label)

    return token.use_session("find a key pair", find)


def destroy_key_pair(token: Pkcs11Token, key_id: bytes, *, certificates: bool = False) -> int:
    """Remove both halves of the pair under ``key_id`` (and its certificates when asked:
    by default they stay, as the CA chain shares no ID with a pair); how many objects went."""
    classes = [ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY]
    if certificates:
        classes.append(ObjectClass.CERTIFICATE)

    def destroy(session: Any) -> int:
        gone = 0
        for cls in classes:
            for obj in list(session.get_objects({Attribute.CLASS: cls, Attribute.ID: key_id})):
                obj.destroy()
                gone += 1
        return gone

    count = token.use_session("remove a key pair", destroy)
    token.refresh()
    return count


def _certificate_template(cert: x509.Certificate, label: str) -> dict[Any, Any]:
    # No CKA_CERTIFICATE_CATEGORY: python-pkcs11 cannot encode it, and it is optional.
    return {
        Attribute.CLASS: ObjectClass.CERTIFICATE,
        Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
        Attribute.TOKEN: True,
        Attribute.PRIVATE: False,
        Attribute.LABEL: label,
        Attribute.SUBJECT: cert.subject.public_bytes(),
        Attribute.ISSUER: cert.issuer.public_bytes(),
        Attribute.SERIAL_NUMBER: core.Integer(cert.serial_number).dump(),
        Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
    }


def store_certificate(
    token: Pkcs11Token, certificate: x509.Certificate, key_id: bytes, label: str
) -> None:
    """Write the key's certificate under its CKA_ID (refused when it is not the key's; once:
    a certificate already there is not written again, so a resumed enrolment can repeat it)."""
    pair = find_key_pair(token, key_id)
    if pair is None:
        raise InvalidInput(key_id.hex(), reason="no key pair with this id is on the token")
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if spki != pair.spki:
        raise InvalidInput("certificate", reason="the certificate is not for this key")
    template = {**_certificate_template(certificate, label), Attribute.ID: key_id}

    def write(session: Any) -> None:
        wanted = {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.ID: key_id}
        there = (bytes(obj[Attribute.VALUE]) for obj in session.get_objects(wanted))
        if template[Attribute.VALUE] not in there:
            session.create_object(template)

    token.use_session("write the certificate", write)
    token.refresh()


def store_ca_certificates(token: Pkcs11Token, chain: tuple[x509.Certificate, ...]) -> int:
    """Add the CA certificates the token does not hold yet, while it has room; how many."""

    def write(session: Any) -> int:
        held = {
            bytes(obj[Attribute.VALUE])
            for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
        }
        written = 0
        for cert in chain:
            der = cert.public_bytes(serialization.Encoding.DER)
            if der in held:
                continue
            label = cert.subject.rfc4514_string()[:64]
            try:
                session.create_object(_certificate_template(cert, label))
            except p11x.DeviceMemory:
                # A full token still signs: the chain can come from the CA's public URLs.
                break
            written += 1
        return written

    count = token.use_session("write the CA certificates", write)
    token.refresh()
    return count


__all__ = [
    "KEY_KINDS",
    "KeyKind",
    "TokenKeyPair",
    "destroy_key_pair",
    "find_key_pair",
    "generate_key_pair",
    "store_ca_certificates",
    "store_certificate",
]
