"""KZ certificate profiles as data, and the builders that turn them into X.509 certificates.

The profiles follow shared/KZ_PKI.md: two key pairs per person (AUTH and SIGN), role OIDs in the
extended key usage, NCA's policy OIDs, and the subject DN in the order NCA issues it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
)
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
)

from signer_app.crypto.gost import GostPrivateKey, GostPublicKey
from signer_app.crypto.gost_x509 import TbsCertificate, sign_certificate

__all__ = [
    "DEFAULT_BASE_URL",
    "PROFILES",
    "ROLE_OIDS",
    "KeyUsageBit",
    "Person",
    "Profile",
    "Purpose",
    "Role",
    "build_ca_certificate",
    "build_ca_subject",
    "build_end_entity_certificate",
    "build_subject",
    "ca_extensions",
    "end_entity_extensions",
    "random_serial_number",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8080"

_ROLE_INDIVIDUAL = x509.ObjectIdentifier("1.2.398.3.3.4.1.1")
_ROLE_LEGAL_ENTITY = x509.ObjectIdentifier("1.2.398.3.3.4.1.2")
_ROLE_HEAD = x509.ObjectIdentifier("1.2.398.3.3.4.1.2.1")
_ROLE_SIGNER = x509.ObjectIdentifier("1.2.398.3.3.4.1.2.2")
_ROLE_EMPLOYEE = x509.ObjectIdentifier("1.2.398.3.3.4.1.2.5")
_ROLE_NCA_OPERATOR = x509.ObjectIdentifier("1.2.398.3.3.4.2.3")

_POLICY_SIGN_LEGAL = x509.ObjectIdentifier("1.2.398.3.3.2.1")
_POLICY_AUTH_LEGAL = x509.ObjectIdentifier("1.2.398.3.3.2.2")
_POLICY_SIGN_INDIVIDUAL = x509.ObjectIdentifier("1.2.398.3.3.2.3")
_POLICY_AUTH_INDIVIDUAL = x509.ObjectIdentifier("1.2.398.3.3.2.4")


class Purpose(StrEnum):
    """What a key pair is for: logging in (AUTH) or signing with legal force (SIGN)."""

    AUTH = "auth"
    SIGN = "sign"


class Role(StrEnum):
    """Who holds the key, as the role OIDs in the extended key usage say it."""

    INDIVIDUAL = "individual"
    HEAD = "head"
    SIGNER = "signer"
    EMPLOYEE = "employee"
    CIVIL_SERVANT = "civil_servant"
    PSC_OPERATOR = "psc_operator"

    @property
    def is_legal_entity(self) -> bool:
        return self is not Role.INDIVIDUAL


class KeyUsageBit(StrEnum):
    """KeyUsage bits, named as cryptography's `x509.KeyUsage` arguments."""

    DIGITAL_SIGNATURE = "digital_signature"
    NON_REPUDIATION = "content_commitment"
    KEY_ENCIPHERMENT = "key_encipherment"
    DATA_ENCIPHERMENT = "data_encipherment"
    KEY_AGREEMENT = "key_agreement"
    KEY_CERT_SIGN = "key_cert_sign"
    CRL_SIGN = "crl_sign"


ROLE_OIDS: Mapping[Role, tuple[x509.ObjectIdentifier, ...]] = {
    Role.INDIVIDUAL: (_ROLE_INDIVIDUAL,),
    Role.HEAD: (_ROLE_LEGAL_ENTITY, _ROLE_HEAD),
    Role.SIGNER: (_ROLE_LEGAL_ENTITY, _ROLE_SIGNER),
    Role.EMPLOYEE: (_ROLE_LEGAL_ENTITY, _ROLE_EMPLOYEE),
    # GOV CA: a civil servant is an employee of a state agency; a PSC operator is one too,
    # plus the operator privilege that lets them act on the CA.
    Role.CIVIL_SERVANT: (_ROLE_LEGAL_ENTITY, _ROLE_EMPLOYEE),
    Role.PSC_OPERATOR: (_ROLE_LEGAL_ENTITY, _ROLE_EMPLOYEE, _ROLE_NCA_OPERATOR),
}


@dataclass(frozen=True)
class Profile:
    """An end-entity certificate template."""

    name: str
    purpose: Purpose
    key_usage: frozenset[KeyUsageBit]
    extended_key_usage: tuple[x509.ObjectIdentifier, ...]
    policy: x509.ObjectIdentifier
    validity_days: int


def _profile(purpose: Purpose, role: Role, validity_days: int = 365) -> Profile:
    legal = role.is_legal_entity
    if purpose is Purpose.AUTH:
        usage = {KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.KEY_ENCIPHERMENT}
        eku = ExtendedKeyUsageOID.CLIENT_AUTH
        policy = _POLICY_AUTH_LEGAL if legal else _POLICY_AUTH_INDIVIDUAL
    else:
        usage = {KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.NON_REPUDIATION}
        eku = ExtendedKeyUsageOID.EMAIL_PROTECTION
        policy = _POLICY_SIGN_LEGAL if legal else _POLICY_SIGN_INDIVIDUAL
    return Profile(
        name=f"{purpose.name}_{role.name}",
        purpose=purpose,
        key_usage=frozenset(usage),
        extended_key_usage=(eku, *ROLE_OIDS[role]),
        policy=policy,
        validity_days=validity_days,
    )


# NCA issues file keys for one year (KZ_PKI_NOTES §2.7); callers may `dataclasses.replace` it.
PROFILES: Mapping[tuple[Purpose, Role], Profile] = {
    (purpose, role): _profile(purpose, role) for purpose in Purpose for role in Role
}


@dataclass(frozen=True)
class Person:
    """The holder of an end-entity certificate, as the subject DN names them."""

    surname: str
    given_name: str
    iin: str
    patronymic: str | None = None
    organisation: str | None = None
    bin: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        # Only the shape is checked: test keys with a wrong check digit exist (KZ_PKI.md).
        for label, number in (("IIN", self.iin), ("BIN", self.bin)):
            if number is not None and not (len(number) == 12 and number.isdigit()):
                raise ValueError(f"{label} must be 12 digits, got {number!r}")
        if (self.organisation is None) != (self.bin is None):
            raise ValueError("organisation and BIN go together")

    @property
    def common_name(self) -> str:
        return f"{self.surname} {self.given_name}".upper()


def _name(fields: list[tuple[x509.ObjectIdentifier, str]]) -> x509.Name:
    """One attribute per RDN, in the given order, as NCA issues them.

    cryptography's default string types are NCA's: PrintableString for C and SERIALNUMBER,
    IA5String for emailAddress, UTF8String for the rest. It also caps a CN at 64 UTF-8 *bytes*
    (RFC 5280 counts characters), which is 32 Cyrillic letters: a longer CN raises here, and
    reading one from a certificate warns.
    """
    return x509.Name(
        [x509.RelativeDistinguishedName([x509.NameAttribute(oid, value)]) for oid, value in fields]
    )


def build_subject(person: Person) -> x509.Name:
    """The subject DN in NCA's order: CN, SURNAME, SERIALNUMBER, C, [O, OU], G, [E]."""
    fields = [
        (NameOID.COMMON_NAME, person.common_name),
        (NameOID.SURNAME, person.surname.upper()),
        (NameOID.SERIAL_NUMBER, f"IIN{person.iin}"),
        (NameOID.COUNTRY_NAME, "KZ"),
    ]
    if person.organisation is not None and person.bin is not None:
        fields.append((NameOID.ORGANIZATION_NAME, person.organisation.upper()))
        fields.append((NameOID.ORGANIZATIONAL_UNIT_NAME, f"BIN{person.bin}"))
    if person.patronymic is not None:
        # G (givenName) holds the patronymic in KZ certificates, not the first name.
        fields.append((NameOID.GIVEN_NAME, person.patronymic.upper()))
    if person.email is not None:
        fields.append((NameOID.EMAIL_ADDRESS, person.email))
    return _name(fields)


def build_ca_subject(common_name: str, organisation: str | None = None) -> x509.Name:
    """A CA's DN, ordered like NCA's RSA root: CN, [O], C."""
    fields = [(NameOID.COMMON_NAME, common_name)]
    if organisation is not None:
        fields.append((NameOID.ORGANIZATION_NAME, organisation))
    fields.append((NameOID.COUNTRY_NAME, "KZ"))
    return _name(fields)


def random_serial_number() -> int:
    """20 random bytes, the first in 0x10..0x7f: always 20 bytes long and positive."""
    raw = bytearray(os.urandom(20))
    raw[0] = 0x10 + raw[0] % 0x70
    return int.from_bytes(raw, "big")


def _key_usage(bits: frozenset[KeyUsageBit]) -> x509.KeyUsage:
    flags = {bit.value: bit in bits for bit in KeyUsageBit}
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


# -- extensions: decided here once, for every key family --------------------------------------
#
# The extensions are built as `cryptography` extension objects whatever the key: the RSA/EC
# builders add them as they are, and the GOST path (which `cryptography` cannot sign) encodes
# the very same objects with ``public_bytes()`` into a TBSCertificate of its own
# (signer_app/crypto/gost_x509.py). Keeping cryptography's objects as the one representation
# means one place decides what a certificate says, and its encoding is cryptography's in both
# paths; a GOST certificate differs from an RSA one only in its key and signature.

Extensions = list[x509.Extension[x509.ExtensionType]]

# NCA's keystore-type extension (KZ_PKI_NOTES §2.6): SEQUENCE { 1.2.398.3.3.5.1.1 = PKCS#12 file },
# on every file-key certificate of its 2022 CAs, the GOST ones included.
_KEYSTORE_OID = x509.ObjectIdentifier("1.2.398.3.3.5")
_KEYSTORE_PKCS12 = bytes.fromhex("300a06082a830e0303050101")


def _extension(value: x509.ExtensionType, critical: bool) -> x509.Extension[x509.ExtensionType]:
    return x509.Extension(value.oid, critical, value)


def _identifiers(subject_key_id: bytes, issuer: x509.Certificate | None) -> Extensions:
    found = [_extension(x509.SubjectKeyIdentifier(subject_key_id), False)]
    if issuer is not None:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        found.append(_extension(aki, False))
    return found


def _locators(issuer_name: str, base_url: str, *, ocsp: bool) -> Extensions:
    """AIA (OCSP first, then caIssuers, as NCA's 2022 CAs write it) and the CDP."""
    access = []
    if ocsp:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(f"{base_url}/ocsp"),
            )
        )
    access.append(
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier(f"{base_url}/ca/{issuer_name}.crt"),
        )
    )
    point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(f"{base_url}/crl/{issuer_name}.crl")],
        relative_name=None,
        reasons=None,
        crl_issuer=None,
    )
    return [
        _extension(x509.AuthorityInformationAccess(access), False),
        _extension(x509.CRLDistributionPoints([point]), False),
    ]


def end_entity_extensions(
    *,
    profile: Profile,
    subject_key_id: bytes,
    issuer: x509.Certificate,
    issuer_name: str,
    base_url: str = DEFAULT_BASE_URL,
    keystore_pkcs12: bool = False,
) -> Extensions:
    """The extensions of an end-entity certificate of `profile`, in the order they are written."""
    found = _identifiers(subject_key_id, issuer)
    found += [
        _extension(x509.BasicConstraints(ca=False, path_length=None), True),
        _extension(_key_usage(profile.key_usage), True),
        _extension(x509.ExtendedKeyUsage(list(profile.extended_key_usage)), False),
        _extension(x509.CertificatePolicies([x509.PolicyInformation(profile.policy, None)]), False),
    ]
    found += _locators(issuer_name, base_url, ocsp=True)
    if keystore_pkcs12:
        found.append(_extension(x509.UnrecognizedExtension(_KEYSTORE_OID, _KEYSTORE_PKCS12), False))
    return found


def ca_extensions(
    *,
    subject_key_id: bytes,
    issuer: x509.Certificate | None,
    issuer_name: str | None,
    path_length: int | None,
    base_url: str = DEFAULT_BASE_URL,
) -> Extensions:
    """The extensions of a root (no `issuer`) or an issuing CA certificate, in order."""
    found = _identifiers(subject_key_id, issuer)
    found += [
        _extension(x509.BasicConstraints(ca=True, path_length=path_length), True),
        _extension(_key_usage(frozenset({KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN})), True),
    ]
    if issuer is not None:
        if issuer_name is None:
            raise ValueError("a CA under an issuer needs the issuer's name for its URLs")
        found += _locators(issuer_name, base_url, ocsp=False)
    return found


def _builder(
    subject: x509.Name,
    public_key: CertificateIssuerPublicKeyTypes,
    issuer: x509.Certificate | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial_number: int | None,
    extensions: Extensions,
) -> x509.CertificateBuilder:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.subject)
        .public_key(public_key)
        .serial_number(random_serial_number() if serial_number is None else serial_number)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for extension in extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    return builder


SubjectPublicKey = CertificateIssuerPublicKeyTypes | GostPublicKey
IssuerKey = CertificateIssuerPrivateKeyTypes | GostPrivateKey


def _key_id(public_key: SubjectPublicKey) -> bytes:
    if isinstance(public_key, GostPublicKey):
        return public_key.key_identifier()
    return x509.SubjectKeyIdentifier.from_public_key(public_key).digest


def _spki(public_key: SubjectPublicKey) -> bytes:
    if isinstance(public_key, GostPublicKey):
        return public_key.subject_public_key_info()
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _issuer_name_der(subject: x509.Name, issuer: x509.Certificate | None) -> bytes:
    if issuer is None:
        return subject.public_bytes()
    # The issuer's subject exactly as its own certificate encodes it, so name chaining holds.
    certificate = asn1_x509.Certificate.load(issuer.public_bytes(serialization.Encoding.DER))
    return bytes(certificate["tbs_certificate"]["subject"].dump())


def _sign(
    *,
    subject: x509.Name,
    public_key: SubjectPublicKey,
    issuer: x509.Certificate | None,
    issuer_key: IssuerKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial_number: int | None,
    extensions: Extensions,
) -> x509.Certificate:
    """`cryptography` signs RSA and EC; a GOST issuer key signs through gost_x509.py."""
    if isinstance(issuer_key, GostPrivateKey):
        tbs = TbsCertificate(
            serial_number=random_serial_number() if serial_number is None else serial_number,
            issuer=_issuer_name_der(subject, issuer),
            subject=subject.public_bytes(),
            not_before=not_before,
            not_after=not_after,
            subject_public_key_info=_spki(public_key),
            extensions=extensions,
        )
        return sign_certificate(tbs, issuer_key)
    if isinstance(public_key, GostPublicKey):
        raise ValueError("a GOST key is certified by a GOST CA only")
    builder = _builder(
        subject, public_key, issuer, not_before, not_after, serial_number, extensions
    )
    return builder.sign(issuer_key, hashes.SHA256())


def build_end_entity_certificate(
    *,
    person: Person,
    public_key: SubjectPublicKey,
    profile: Profile,
    issuer: x509.Certificate,
    issuer_key: IssuerKey,
    issuer_name: str,
    not_before: dt.datetime,
    not_after: dt.datetime | None = None,
    serial_number: int | None = None,
    base_url: str = DEFAULT_BASE_URL,
) -> x509.Certificate:
    """Issue `person` a certificate of `profile`; `issuer_name` names the CA in its URLs.

    A GOST `issuer_key` signs a GOST 2015 certificate (with NCA's keystore-type extension, as
    NCA's GOST 2022 CA writes it); otherwise `cryptography` signs with SHA-256."""
    if not_after is None:
        not_after = not_before + dt.timedelta(days=profile.validity_days)
    extensions = end_entity_extensions(
        profile=profile,
        subject_key_id=_key_id(public_key),
        issuer=issuer,
        issuer_name=issuer_name,
        base_url=base_url,
        keystore_pkcs12=isinstance(issuer_key, GostPrivateKey),
    )
    return _sign(
        subject=build_subject(person),
        public_key=public_key,
        issuer=issuer,
        issuer_key=issuer_key,
        not_before=not_before,
        not_after=not_after,
        serial_number=serial_number,
        extensions=extensions,
    )


def build_ca_certificate(
    *,
    subject: x509.Name,
    public_key: SubjectPublicKey,
    signing_key: IssuerKey,
    not_before: dt.datetime,
    validity_days: int,
    issuer: x509.Certificate | None = None,
    issuer_name: str | None = None,
    path_length: int | None = None,
    base_url: str = DEFAULT_BASE_URL,
) -> x509.Certificate:
    """A root (no `issuer`: self-signed with `signing_key`) or an issuing CA under `issuer`."""
    not_after = not_before + dt.timedelta(days=validity_days)
    extensions = ca_extensions(
        subject_key_id=_key_id(public_key),
        issuer=issuer,
        issuer_name=issuer_name,
        path_length=path_length,
        base_url=base_url,
    )
    return _sign(
        subject=subject,
        public_key=public_key,
        issuer=issuer,
        issuer_key=signing_key,
        not_before=not_before,
        not_after=not_after,
        serial_number=None,
        extensions=extensions,
    )
