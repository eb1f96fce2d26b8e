"""Who a Kazakh certificate belongs to: IIN, BIN, names, organisation, purpose and roles.

The rules come from shared/KZ_PKI.md: IIN in SERIALNUMBER prefixed "IIN", BIN in OU prefixed
"BIN", the patronymic in givenName (G), roles as OIDs under 1.2.398.3.3.4 in the extended key
usage. A certificate that breaks a rule (a test IIN with a wrong check digit, no IIN at all) is
still described: the flags say what is wrong, nothing raises.
"""

from __future__ import annotations

import enum
import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

# --------------------------------------------------------------------------- IIN and BIN

_FIRST_WEIGHTS = tuple(range(1, 12))
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
_TWELVE_DIGITS = re.compile(r"\d{12}")


def check_digit(first_eleven: str) -> int | None:
    """The 12th digit of an IIN or BIN from its first 11, or None if no such number exists."""
    if len(first_eleven) != 11 or not first_eleven.isdigit():
        raise ValueError("the check digit needs exactly 11 digits")
    digits = [int(c) for c in first_eleven]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        s = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        if s < 10:
            return s
    return None


def _well_formed(number: str) -> bool:
    if not _TWELVE_DIGITS.fullmatch(number):
        return False
    return check_digit(number[:11]) == int(number[11])


def is_valid_iin(iin: str) -> bool:
    """Twelve digits with a correct check digit and a possible century/sex digit (1..6)."""
    return _well_formed(iin) and iin[6] in "123456"


def is_valid_bin(bin_: str) -> bool:
    """Twelve digits with a correct check digit and a known kind of entity (4, 5 or 6)."""
    return _well_formed(bin_) and bin_[4] in "456"


def iin_birth_date(iin: str) -> date | None:
    """The birth date an IIN encodes, or None (since 2013 the digits need not be a date)."""
    if not _TWELVE_DIGITS.fullmatch(iin) or iin[6] not in "123456":
        return None
    century = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}[iin[6]]
    try:
        return date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        return None


# --------------------------------------------------------------------------- roles and purpose


class Role(enum.Enum):
    """Key-user roles NCA puts in the extended key usage."""

    INDIVIDUAL = "1.2.398.3.3.4.1.1"
    LEGAL_ENTITY = "1.2.398.3.3.4.1.2"
    HEAD = "1.2.398.3.3.4.1.2.1"
    SIGNER = "1.2.398.3.3.4.1.2.2"
    FINANCIAL_SIGNER = "1.2.398.3.3.4.1.2.3"
    HR = "1.2.398.3.3.4.1.2.4"
    EMPLOYEE = "1.2.398.3.3.4.1.2.5"
    NCA_ADMIN = "1.2.398.3.3.4.2.1"
    NCA_MANAGER = "1.2.398.3.3.4.2.2"
    OPERATOR = "1.2.398.3.3.4.2.3"
    IDENTIFIED_AT_PSC = "1.2.398.3.3.4.3.1"
    IDENTIFIED_REMOTELY = "1.2.398.3.3.4.3.2"

    @property
    def label(self) -> str:
        """A short English name for reports."""
        return self.name.lower().replace("_", " ")


class Purpose(enum.Enum):
    """What a key is for: logging in (AUTH) or legally binding signatures (SIGN)."""

    AUTH = "auth"
    SIGN = "sign"
    UNKNOWN = "unknown"


class CentreKind(enum.Enum):
    """Which certification centre issued the certificate."""

    NAC = "nac"
    GOV = "gov"
    OTHER = "other"


_NAC_MARKERS = ("ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ", "ҰКО", "НАЦИОНАЛЬНЫЙ УДОСТОВЕРЯЮЩИЙ ЦЕНТР")
_GOV_MARKERS = ("МЕМЛЕКЕТТІК ОРГАНДАРДЫҢ", "ГОСУДАРСТВЕННЫХ ОРГАНОВ")

# BouncyCastle's short names, which NCALayer's getKeyInfo and portals' parsers use.
_DN_NAMES: dict[ObjectIdentifier, str] = {
    NameOID.COMMON_NAME: "CN",
    NameOID.SURNAME: "SURNAME",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.GIVEN_NAME: "G",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.USER_ID: "UID",
    NameOID.BUSINESS_CATEGORY: "BusinessCategory",
}


def dn_string(name: x509.Name) -> str:
    """The DN as NCALayer prints it: RDNs in encoded order, comma-separated, no spaces."""
    parts = []
    for rdn in name.rdns:
        for attribute in rdn:
            label = _DN_NAMES.get(attribute.oid, attribute.oid.dotted_string)
            value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
            parts.append(f"{label}={value}")
    return ",".join(parts)


def _first(name: x509.Name, oid: ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Identity:
    """A certificate's owner and purpose as a person would describe them."""

    common_name: str
    surname: str | None
    given_name: str | None
    patronymic: str | None
    iin: str | None
    iin_valid: bool
    bin: str | None
    bin_valid: bool
    organisation: str | None
    email: str | None
    purpose: Purpose
    roles: tuple[Role, ...]
    other_eku_oids: tuple[str, ...]
    centre: CentreKind
    issuer_common_name: str
    subject_dn: str
    issuer_dn: str
    serial_hex: str
    not_before: datetime
    not_after: datetime

    @property
    def full_name(self) -> str:
        """Surname, given name and patronymic, as printed on an ID card."""
        parts = [self.surname, self.given_name, self.patronymic]
        joined = " ".join(p for p in parts if p)
        return joined or self.common_name

    @property
    def is_legal_entity(self) -> bool:
        """True for certificates of a legal entity's head or employee (a BIN is present)."""
        return self.bin is not None or Role.LEGAL_ENTITY in self.roles

    def status_at(self, when: datetime) -> str:
        """ "valid", "not_yet_valid" or "expired" at ``when`` (revocation is checked elsewhere)."""
        if when < self.not_before:
            return "not_yet_valid"
        if when > self.not_after:
            return "expired"
        return "valid"


def _purpose(cert: x509.Certificate, eku: tuple[str, ...]) -> Purpose:
    if ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string in eku:
        return Purpose.AUTH
    if ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string in eku:
        return Purpose.SIGN
    # No telling EKU: NCANode's rule on key usage (nonRepudiation -> SIGN, keyEncipherment -> AUTH).
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return Purpose.UNKNOWN
    if usage.content_commitment:
        return Purpose.SIGN
    if usage.key_encipherment:
        return Purpose.AUTH
    return Purpose.UNKNOWN


def _eku_oids(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(oid.dotted_string for oid in eku)


def _centre(issuer_cn: str) -> CentreKind:
    upper = issuer_cn.upper()
    if any(marker in upper for marker in _GOV_MARKERS):
        return CentreKind.GOV
    if any(marker in upper for marker in _NAC_MARKERS):
        return CentreKind.NAC
    return CentreKind.OTHER


def _strip_prefix(value: str | None, prefix: str) -> str | None:
    if value is None:
        return None
    return value[len(prefix) :] if value.upper().startswith(prefix) else None


def identity_of(cert: x509.Certificate) -> Identity:
    """Describe a certificate's owner: never raises for odd but parseable certificates."""
    with warnings.catch_warnings():
        # Real NCA certificates carry CNs longer than X.520's 64 characters; that is their
        # business, not a reason to warn the person reading them.
        warnings.filterwarnings("ignore", "Attribute's length", UserWarning)
        return _identity_of(cert)


def _identity_of(cert: x509.Certificate) -> Identity:
    subject = cert.subject
    common_name = _first(subject, NameOID.COMMON_NAME) or ""
    surname = _first(subject, NameOID.SURNAME)
    given_name = None
    if surname and common_name.upper().startswith(surname.upper() + " "):
        given_name = common_name[len(surname) + 1 :].strip() or None
    iin = _strip_prefix(_first(subject, NameOID.SERIAL_NUMBER), "IIN")
    bin_ = None
    for attribute in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
        if isinstance(attribute.value, str):
            bin_ = bin_ or _strip_prefix(attribute.value, "BIN")
    eku = _eku_oids(cert)
    known = {role.value: role for role in Role}
    roles = tuple(known[oid] for oid in eku if oid in known)
    standard = {
        ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,
        ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string,
    }
    others = tuple(oid for oid in eku if oid not in known and oid not in standard)
    issuer_cn = _first(cert.issuer, NameOID.COMMON_NAME) or ""
    return Identity(
        common_name=common_name,
        surname=surname,
        given_name=given_name,
        patronymic=_first(subject, NameOID.GIVEN_NAME),
        iin=iin,
        iin_valid=iin is not None and is_valid_iin(iin),
        bin=bin_,
        bin_valid=bin_ is not None and is_valid_bin(bin_),
        organisation=_first(subject, NameOID.ORGANIZATION_NAME),
        email=_first(subject, NameOID.EMAIL_ADDRESS),
        purpose=_purpose(cert, eku),
        roles=roles,
        other_eku_oids=others,
        centre=_centre(issuer_cn),
        issuer_common_name=issuer_cn,
        subject_dn=dn_string(subject),
        issuer_dn=dn_string(cert.issuer),
        serial_hex=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


__all__ = [
    "CentreKind",
    "Identity",
    "Purpose",
    "Role",
    "check_digit",
    "dn_string",
    "identity_of",
    "iin_birth_date",
    "is_valid_bin",
    "is_valid_iin",
]
