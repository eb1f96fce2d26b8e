"""Key filters: NCALayer's keyType and signerParams as small predicates (EU DSS style).

Each filter answers ``refusal(candidate)``: None when the key fits, else the reason a person
reads when the key is greyed out. A request's filters are combined with ``all()``
(``accepts``); ``refusals`` lists every reason at once so the dialog can say all that is wrong.
``filters_for`` builds the list from the wire's values (PROTOCOL.md §6 keyType, §7 signerParams).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ..crypto.identity import Identity, Purpose, identity_of
from ..crypto.keystores import KeyEntry
from .prompter import KeyType


@dataclass(frozen=True)
class Candidate:
    """A key being considered: its entry, who it belongs to, and the time of the request."""

    entry: KeyEntry
    identity: Identity
    now: datetime

    @classmethod
    def of(cls, entry: KeyEntry, now: datetime | None = None) -> Candidate:
        """Describe ``entry`` at ``now`` (the current time by default)."""
        return cls(entry, identity_of(entry.certificate), now or datetime.now(UTC))

    @property
    def eku_oids(self) -> frozenset[str]:
        """Every extended key usage OID of the certificate (roles included)."""
        try:
            eku = self.entry.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        except x509.ExtensionNotFound:
            return frozenset()
        return frozenset(oid.dotted_string for oid in eku.value)


class KeyFilter(Protocol):
    """A predicate over keys with a reason for refusal."""

    @property
    def description(self) -> str:
        """What the filter asks for, in a few words (shown in the key chooser)."""
        ...

    def refusal(self, candidate: Candidate) -> str | None:
        """None if the key fits, else why not."""
        ...


@dataclass(frozen=True)
class PurposeFilter:
    """keyType SIGNATURE or AUTHENTICATION."""

    purpose: Purpose

    @property
    def description(self) -> str:
        """Which purpose."""
        return f"be a {self.purpose.name} key"

    def refusal(self, candidate: Candidate) -> str | None:
        """Refused when the certificate's purpose differs."""
        actual = candidate.identity.purpose
        if actual is self.purpose:
            return None
        return f"this is a {actual.name} key, the request needs a {self.purpose.name} key"


@dataclass(frozen=True)
class ExtKeyUsageFilter:
    """signerParams.extKeyUsageOids: every listed OID must be in the certificate's EKU."""

    oids: tuple[str, ...]

    @property
    def description(self) -> str:
        """The OIDs."""
        return "carry the usages " + ", ".join(self.oids)

    def refusal(self, candidate: Candidate) -> str | None:
        """Refused when an OID is missing."""
        missing = [oid for oid in self.oids if oid not in candidate.eku_oids]
        if not missing:
            return None
        return "the certificate lacks the usage(s) " + ", ".join(missing)


@dataclass(frozen=True)
class IinFilter:
    """signerParams.iin: the owner's IIN."""

    iin: str

    @property
    def description(self) -> str:
        """The IIN."""
        return f"belong to IIN {self.iin}"

    def refusal(self, candidate: Candidate) -> str | None:
        """Refused for another person's key."""
        if candidate.identity.iin == self.iin:
            return None
        return f"the key belongs to IIN {candidate.identity.iin or '(none)'}, not {self.iin}"


@dataclass(frozen=True)
class BinFilter:
    """signerParams.bin: the organisation's BIN."""

    bin: str

    @property
    def description(self) -> str:
        """The BIN."""
        return f"belong to BIN {self.bin}"

    def refusal(self, candidate: Candidate) -> str | None:
        """Refused for another organisation's (or a private person's) key."""
        if candidate.identity.bin == self.bin:
            return None
        return f"the key belongs to BIN {candidate.identity.bin or '(none)'}, not {self.bin}"


@dataclass(frozen=True)
class SerialFilter:
    """signerParams.serialNumber: the certificate's serial number (hex, any case)."""

    serial_hex: str

    @property
    def description(self) -> str:
        """The serial number."""
        return f"have serial number {self.serial_hex}"

    def refusal(self, candidate: Candidate) -> str | None:
        """Refused for another certificate."""
        wanted = self.serial_hex.lower().removeprefix("0x").lstrip("0")
        actual = candidate.identity.serial_hex.lower().lstrip("0")
        if wanted == actual:
            return None
        return f"the certificate's serial number is {candidate.identity.serial_hex}"


@dataclass(frozen=True)
class ValidityFilter:
    """Not expired and already valid (signingParams.allowExpired switches it off)."""

    @property
    def description(self) -> str:
        """Validity."""
        return "be valid now"

    def refusal(self, candidate: Candidate) -> str | None:
        """Refused outside the validity period."""
        status = candidate.identity.status_at(candidate.now)
        if status == "expired":
            end = candidate.identity.not_after.date().isoformat()
            return f"the certificate expired on {end}"
        if status == "not_yet_valid":
            start = candidate.identity.not_before.date().isoformat()
            return f"the certificate is not valid before {start}"
        return None


@dataclass(frozen=True)
class ChainFilter:
    """signerParams.chain as PEM CAs: the certificate must chain to one of them.

    The path is built from the given CAs and the chain stored with the key, each link checked
    by signature, not by name alone.
    """

    anchors: tuple[x509.Certificate, ...]
    max_depth: int = field(default=8)

    @property
    def description(self) -> str:
        """The CAs' names."""
        names = ", ".join(a.subject.rfc4514_string() for a in self.anchors)
        return f"chain to {names}"

    def refusal(self, candidate: Candidate) -> str | None:
        """Refused when no path reaches an anchor."""
        pool = list(self.anchors) + list(candidate.entry.chain)
        current = candidate.entry.certificate
        for _ in range(self.max_depth):
            if any(_issued_by(current, anchor) for anchor in self.anchors):
                return None
            issuer = next((c for c in pool if c != current and _issued_by(current, c)), None)
            if issuer is None:
                break
            current = issuer
        return "the certificate does not chain to a CA the site accepts"


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def accepts(filters: Sequence[KeyFilter], candidate: Candidate) -> bool:
    """True when every filter lets the key through."""
    return all(f.refusal(candidate) is None for f in filters)


def refusals(filters: Sequence[KeyFilter], candidate: Candidate) -> tuple[str, ...]:
    """Every reason the key is refused (empty when it fits)."""
    return tuple(r for f in filters if (r := f.refusal(candidate)) is not None)


def filters_for(
    key_type: KeyType = KeyType.ANY,
    *,
    ext_key_usage_oids: Sequence[str] = (),
    iin: str = "",
    bin: str = "",
    serial_number: str = "",
    chain: Sequence[x509.Certificate] | None = None,
    allow_expired: bool = False,
) -> tuple[KeyFilter, ...]:
    """The filters a request asks for; empty strings and lists mean "no filter", as on the wire.

    ``chain=None`` should mean "only NCA RK's current CAs" (PROTOCOL.md §7); until the trust
    anchors arrive with validation.py it filters nothing, like ``[]``.
    """
    found: list[KeyFilter] = []
    if key_type is KeyType.SIGNATURE:
        found.append(PurposeFilter(Purpose.SIGN))
    elif key_type is KeyType.AUTHENTICATION:
        found.append(PurposeFilter(Purpose.AUTH))
    if ext_key_usage_oids:
        found.append(ExtKeyUsageFilter(tuple(ext_key_usage_oids)))
    if iin:
        found.append(IinFilter(iin))
    if bin:
        found.append(BinFilter(bin))
    if serial_number:
        found.append(SerialFilter(serial_number))
    if chain:
        found.append(ChainFilter(tuple(chain)))
    if not allow_expired:
        found.append(ValidityFilter())
    return tuple(found)


__all__ = [
    "BinFilter",
    "Candidate",
    "ChainFilter",
    "ExtKeyUsageFilter",
    "IinFilter",
    "KeyFilter",
    "PurposeFilter",
    "SerialFilter",
    "ValidityFilter",
    "accepts",
    "filters_for",
    "refusals",
]
