"""Key filters: NCALayer's keyType and signerParams as small predicates (EU DSS style).

Each filter answers ``refusal(candidate)``: None when the key fits, else the reason a person
reads when the key is greyed out (a ``Reason``: a code with parameters, shown in the person's
language; service/key_status.py holds the table). A request's filters are combined with ``all()``
(``accepts``); ``refusals`` lists every reason at once so the dialog can say all that is wrong.
``filters_for`` builds the list from the wire's values (PROTOCOL.md §6 keyType, §7 signerParams).

``signerParams.chain`` null means "the CAs this computer trusts": the trust store's anchors
(the demo roots by default, the real NCA RK roots once the user imports them), the path built
from the key file's own chain and the store's intermediates, without the network.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ..crypto.identity import Identity, Purpose, identity_of
from ..crypto.keystores import KeyEntry
from .key_status import CaSet, Reason
from .prompter import KeyType

# An absent IIN or BIN in a refusal: the same in every language.
NONE = "—"


@dataclass(frozen=True)
class Candidate:
    """A key being considered: its entry, who it belongs to, and the time of the request."""

    entry: KeyEntry
    identity: Identity
    now: datetime

    @classmethod
    def of(cls, entry: KeyEntry, now: datetime | None = None) -> Candidate:
        """Describe ``entry`` at ``now`` (the current time by default)."""
        return cls(entry, _identity(entry.certificate), now or datetime.now(UTC))

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
    def description(self) -> Reason:
        """What the filter asks for, in a few words (shown in the key chooser)."""
        ...

    def refusal(self, candidate: Candidate) -> Reason | None:
        """None if the key fits, else why not."""
        ...


@dataclass(frozen=True)
class PurposeFilter:
    """keyType SIGNATURE or AUTHENTICATION."""

    purpose: Purpose

    @property
    def description(self) -> Reason:
        """Which purpose."""
        return Reason("filter.purpose", purpose=self.purpose.name)

    def refusal(self, candidate: Candidate) -> Reason | None:
        """Refused when the certificate's purpose differs."""
        actual = candidate.identity.purpose
        if actual is self.purpose:
            return None
        return Reason("refused.purpose", actual=actual.name, wanted=self.purpose.name)


@dataclass(frozen=True)
class ExtKeyUsageFilter:
    """signerParams.extKeyUsageOids: every listed OID must be in the certificate's EKU."""

    oids: tuple[str, ...]

    @property
    def description(self) -> Reason:
        """The OIDs."""
        return Reason("filter.eku", oids=", ".join(self.oids))

    def refusal(self, candidate: Candidate) -> Reason | None:
        """Refused when an OID is missing."""
        missing = [oid for oid in self.oids if oid not in candidate.eku_oids]
        if not missing:
            return None
        return Reason("refused.eku", oids=", ".join(missing))


@dataclass(frozen=True)
class IinFilter:
    """signerParams.iin: the owner's IIN."""

    iin: str

    @property
    def description(self) -> Reason:
        """The IIN."""
        return Reason("filter.iin", iin=self.iin)

    def refusal(self, candidate: Candidate) -> Reason | None:
        """Refused for another person's key."""
        if candidate.identity.iin == self.iin:
            return None
        return Reason("refused.iin", actual=candidate.identity.iin or NONE, wanted=self.iin)


@dataclass(frozen=True)
class BinFilter:
    """signerParams.bin: the organisation's BIN."""

    bin: str

    @property
    def description(self) -> Reason:
        """The BIN."""
        return Reason("filter.bin", bin=self.bin)

    def refusal(self, candidate: Candidate) -> Reason | None:
        """Refused for another organisation's (or a private person's) key."""
        if candidate.identity.bin == self.bin:
            return None
        return Reason("refused.bin", actual=candidate.identity.bin or NONE, wanted=self.bin)


@dataclass(frozen=True)
class SerialFilter:
    """signerParams.serialNumber: the certificate's serial number (hex, any case)."""

    serial_hex: str

    @property
    def description(self) -> Reason:
        """The serial number."""
        return Reason("filter.serial", serial=self.serial_hex)

    def refusal(self, candidate: Candidate) -> Reason | None:
        """Refused for another certificate."""
        wanted = self.serial_hex.lower().removeprefix("0x").lstrip("0")
        actual = candidate.identity.serial_hex.lower().lstrip("0")
        if wanted == actual:
            return None
        return Reason("refused.serial", actual=candidate.identity.serial_hex)


@dataclass(frozen=True)
class ValidityFilter:
    """Not expired and already valid (signingParams.allowExpired switches it off)."""

    @property
    def description(self) -> Reason:
        """Validity."""
        return Reason("filter.valid")

    def refusal(self, candidate: Candidate) -> Reason | None:
        """Refused outside the validity period."""
        status = candidate.identity.status_at(candidate.now)
        if status == "expired":
            return Reason("refused.expired", date=candidate.identity.not_after.date().isoformat())
        if status == "not_yet_valid":
            start = candidate.identity.not_before.date().isoformat()
            return Reason("refused.not_yet_valid", date=start)
        return None


@dataclass(frozen=True)
class ChainFilter:
    """signerParams.chain as PEM CAs (or, with ``trusted``, the trust store's anchors): the
    certificate must chain to one of them.

    The path is built from the anchors, the ``intermediates`` and the chain stored with the key,
    each link checked by signature, not by name alone.
    """

    anchors: tuple[x509.Certificate, ...]
    max_depth: int = field(default=8)
    intermediates: tuple[x509.Certificate, ...] = ()
    trusted: bool = False

    @classmethod
    def to_trusted(cls, cas: CaSet) -> ChainFilter:
        """``chain: null``: the CAs this computer trusts."""
        return cls(cas.anchors, intermediates=cas.intermediates, trusted=True)

    @property
    def description(self) -> Reason:
        """The CAs' names."""
        if self.trusted:
            return Reason("filter.trusted")
        names = ", ".join(a.subject.rfc4514_string() for a in self.anchors)
        return Reason("filter.chain", names=names)

    def refusal(self, candidate: Candidate) -> Reason | None:
        """Refused when no path reaches an anchor."""
        pool = [*self.anchors, *candidate.entry.chain, *self.intermediates]
        current = candidate.entry.certificate
        for _ in range(self.max_depth):
            if any(_issued_by(current, anchor) for anchor in self.anchors):
                return None
            issuer = next((c for c in pool if c != current and _issued_by(current, c)), None)
            if issuer is None:
                break
            current = issuer
        return Reason("refused.untrusted" if self.trusted else "refused.chain")


# The same key file is opened request after request (as NCALayer does): its identity and the
# signatures of its chain are worked out once. Certificates hash and compare by their DER, so
# a remembered answer only ever applies to the very same bytes.
@functools.lru_cache(maxsize=256)
def _identity(certificate: x509.Certificate) -> Identity:
    return identity_of(certificate)


@functools.lru_cache(maxsize=1024)
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


def refusals(filters: Sequence[KeyFilter], candidate: Candidate) -> tuple[Reason, ...]:
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
    trusted: CaSet | None = None,
) -> tuple[KeyFilter, ...]:
    """The filters a request asks for; empty strings and lists mean "no filter", as on the wire.

    ``chain=None`` means "only the CAs this computer trusts" (PROTOCOL.md §7: NCA RK's current
    CAs, which the user imports into the trust store) when ``trusted`` names them; callers
    without the notion (commonUtils, whose methods take no chain) pass no ``trusted``.
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
    elif chain is None and trusted is not None:
        found.append(ChainFilter.to_trusted(trusted))
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
