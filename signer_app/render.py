"""Plain text and JSON views of identities, key files and verification results (for the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from .crypto.identity import Identity, identity_of
from .crypto.keystores import KeyEntry


def identity_json(who: Identity, now: datetime | None = None) -> dict[str, Any]:
    """An identity as a JSON-ready dict (stable keys; dates in ISO 8601 UTC)."""
    moment = now or datetime.now(UTC)
    return {
        "name": who.full_name,
        "common_name": who.common_name,
        "iin": who.iin,
        "iin_valid": who.iin_valid,
        "bin": who.bin,
        "bin_valid": who.bin_valid if who.bin else None,
        "organisation": who.organisation,
        "email": who.email,
        "purpose": who.purpose.value,
        "roles": [role.label for role in who.roles],
        "centre": who.centre.value,
        "issuer": who.issuer_common_name,
        "subject_dn": who.subject_dn,
        "serial": who.serial_hex,
        "not_before": who.not_before.isoformat(),
        "not_after": who.not_after.isoformat(),
        "validity": who.status_at(moment),
    }


def entry_json(entry: KeyEntry, now: datetime | None = None) -> dict[str, Any]:
    """A key of a key store: alias, algorithm, owner and the chain's subjects."""
    return {
        "alias": entry.alias,
        "algorithm": entry.key.algorithm.value,
        "key_size": entry.key.key_size,
        "identity": identity_json(identity_of(entry.certificate), now),
        "chain": [identity_of(cert).subject_dn for cert in entry.chain],
    }


_PURPOSE_TEXT = {"auth": "authentication (AUTH)", "sign": "signing (SIGN)", "unknown": "unknown"}
_VALIDITY_TEXT = {"valid": "valid", "expired": "EXPIRED", "not_yet_valid": "not yet valid"}


def identity_lines(who: Identity, now: datetime | None = None) -> list[str]:
    """An identity as a few lines a person reads."""
    moment = now or datetime.now(UTC)
    lines = [f"  Owner:        {who.full_name}"]
    if who.iin:
        lines.append(
            f"  IIN:          {who.iin}" + ("" if who.iin_valid else "  (check digit wrong)")
        )
    if who.organisation or who.bin:
        org = who.organisation or ""
        lines.append(f"  Organisation: {org}" + (f"  BIN {who.bin}" if who.bin else ""))
    if who.roles:
        lines.append(f"  Roles:        {', '.join(role.label for role in who.roles)}")
    lines.append(f"  Purpose:      {_PURPOSE_TEXT[who.purpose.value]}")
    lines.append(f"  Issued by:    {who.issuer_common_name}")
    days = (who.not_after - moment).days
    status = _VALIDITY_TEXT[who.status_at(moment)]
    if status == "valid":
        status += f", {days} days left"
    lines.append(
        f"  Valid:        {who.not_before:%Y-%m-%d} to {who.not_after:%Y-%m-%d} ({status})"
    )
    lines.append(f"  Serial:       {who.serial_hex}")
    return lines


def entry_lines(entry: KeyEntry) -> list[str]:
    """A key as text: alias and algorithm, then its owner, then the chain."""
    lines = [f"Key {entry.alias} ({entry.key.algorithm.value}-{entry.key.key_size})"]
    lines += identity_lines(identity_of(entry.certificate))
    for cert in entry.chain:
        lines.append(f"  Chain:        {identity_of(cert).common_name}")
    return lines


@dataclass(frozen=True)
class SignerView:
    """One signer of a verified document, whatever the format."""

    certificate: x509.Certificate | None
    valid: bool
    problems: Sequence[str]
    signing_time: datetime | None = None
    timestamp_time: datetime | None = None


def verification_json(
    kind: str, valid: bool, signers: Sequence[SignerView], detached: bool = False
) -> dict[str, Any]:
    """A verification result as JSON: overall verdict and one object per signer."""
    return {
        "valid": valid,
        "format": kind,
        "detached": detached,
        "signers": [
            {
                "valid": signer.valid,
                "problems": list(signer.problems),
                "signing_time": signer.signing_time.isoformat() if signer.signing_time else None,
                "timestamp_time": (
                    signer.timestamp_time.isoformat() if signer.timestamp_time else None
                ),
                "identity": identity_json(identity_of(signer.certificate))
                if signer.certificate
                else None,
            }
            for signer in signers
        ],
    }


def verification_lines(kind: str, valid: bool, signers: Sequence[SignerView]) -> list[str]:
    """A verification result as text."""
    verdict = "VALID" if valid else "NOT VALID"
    lines = [f"{kind.upper()} signature: {verdict} ({len(signers)} signer(s))"]
    lines.append("  (mathematical check only: chain and revocation are not checked yet)")
    for number, signer in enumerate(signers, 1):
        mark = "valid" if signer.valid else "INVALID: " + ", ".join(signer.problems)
        lines.append(f"Signer {number}: {mark}")
        if signer.signing_time:
            lines.append(f"  Signed at:    {signer.signing_time:%Y-%m-%d %H:%M:%S %Z}")
        if signer.timestamp_time:
            stamped = f"{signer.timestamp_time:%Y-%m-%d %H:%M:%S %Z}"
            lines.append(f"  Timestamp:    {stamped} (RFC 3161 token, TSA chain not checked yet)")
        if signer.certificate is not None:
            lines += identity_lines(identity_of(signer.certificate))
    return lines
