"""Plain text and JSON views of identities, key files and verification results (for the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from .crypto.identity import Identity, identity_of
from .crypto.keystores import KeyEntry
from .crypto.revocation import RevocationStatus
from .crypto.validation import ChainLink, SignerReport, TimestampReport, ValidationReport


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


# -- validation reports (crypto/validation.ValidationReport) ----------------------------------

_VERDICT_WORDS = {
    "TOTAL_PASSED": "VALID",
    "TOTAL_FAILED": "NOT VALID",
    "INDETERMINATE": "CANNOT BE CONFIRMED",
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def revocation_json(status: RevocationStatus | None) -> dict[str, Any] | None:
    """A revocation status as JSON."""
    if status is None:
        return None
    return {
        "status": status.status,
        "source": status.source,
        "checked_at": _iso(status.checked_at),
        "revoked_at": _iso(status.revoked_at),
        "reason": status.reason,
        "detail": status.detail,
    }


def _link_json(link: ChainLink) -> dict[str, Any]:
    return {
        "role": link.role,
        "subject": link.subject,
        "issuer": link.issuer,
        "serial": link.serial,
        "not_before": _iso(link.not_before),
        "not_after": _iso(link.not_after),
        "sha256": link.sha256,
        "revocation": revocation_json(link.revocation),
    }


def _timestamp_json(stamp: TimestampReport) -> dict[str, Any]:
    return {
        "kind": stamp.kind,
        "time": _iso(stamp.time),
        "valid": stamp.valid,
        "tsa": stamp.tsa,
        "problem": stamp.problem,
        "chain": [_link_json(link) for link in stamp.chain],
    }


def signer_report_json(signer: SignerReport, moment: datetime) -> dict[str, Any]:
    """One signer's verdict and evidence as JSON (stable keys)."""
    first_valid = next(
        (t.time for t in signer.timestamps if t.valid and t.kind == "signature"), None
    )
    return {
        "indication": signer.indication,
        "sub_indication": signer.sub_indication,
        # "valid": the mathematics alone (digest, attributes, signature), as before validation.
        "valid": not signer.problems,
        "problems": list(signer.problems),
        "level": signer.level,
        "signing_time": _iso(signer.signing_time),
        "signing_time_source": signer.signing_time_source,
        "claimed_signing_time": _iso(signer.claimed_signing_time),
        "timestamp_time": _iso(first_valid),
        "timestamps": [_timestamp_json(t) for t in signer.timestamps],
        "revocation": revocation_json(signer.revocation),
        "chain": [_link_json(link) for link in signer.chain],
        "warnings": list(signer.warnings),
        "identity": identity_json(signer.identity, moment) if signer.identity else None,
    }


def report_json(report: ValidationReport) -> dict[str, Any]:
    """A validation report as JSON: the overall verdict, then one object per signer."""
    return {
        "indication": report.indication,
        "sub_indication": report.sub_indication,
        "valid": report.passed,
        "format": report.format,
        "detached": report.detached,
        "validation_time": report.validation_time.isoformat(),
        "policy": {
            "revocation": report.policy.revocation,
            "expired_without_poe": report.policy.expired_without_poe,
        },
        "signers": [signer_report_json(s, report.validation_time) for s in report.signers],
    }


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S %Z}" if moment else "-"


_KIND_TEXT = {"signature": "Timestamp:   ", "archive": "Archive stamp:"}

_SOURCE_TEXT = {
    "timestamp": "proved by a timestamp",
    "archive_timestamp": "proved by an archive timestamp",
    "claimed": "as the signer's computer claims; not proved",
    "none": "",
}


def _revocation_text(status: RevocationStatus) -> str:
    if status.status == "good":
        return f"not revoked ({status.source.upper()} of {_when(status.checked_at)})"
    if status.status == "revoked":
        return f"REVOKED at {_when(status.revoked_at)} ({status.reason}; {status.source.upper()})"
    return "unknown (" + (status.detail or "no answer") + ")"


def signer_report_lines(number: int, signer: SignerReport, moment: datetime) -> list[str]:
    """One signer's verdict as text: the verdict, time, timestamp, revocation, chain, owner."""
    verdict = f"{signer.indication}" + (
        f" / {signer.sub_indication}" if signer.sub_indication else ""
    )
    level = f", level {signer.level}" if signer.level else ""
    lines = [f"Signer {number}: {_VERDICT_WORDS[signer.indication]} ({verdict}{level})"]
    if signer.problems:
        lines.append(f"  Problems:     {', '.join(signer.problems)}")
    if signer.signing_time:
        source = _SOURCE_TEXT[signer.signing_time_source]
        lines.append(f"  Signed at:    {_when(signer.signing_time)} ({source})")
    for stamp in signer.timestamps:
        state = "valid" if stamp.valid else f"NOT VALID: {stamp.problem}"
        label = _KIND_TEXT[stamp.kind]
        lines.append(f"  {label} {_when(stamp.time)} by {stamp.tsa or '?'} ({state})")
    if signer.revocation is not None:
        lines.append(f"  Revocation:   {_revocation_text(signer.revocation)}")
    if signer.chain:
        names = " <- ".join(
            link.subject + (" (trust anchor)" if link.role == "anchor" else "")
            for link in signer.chain
        )
        lines.append(f"  Chain:        {names}")
    for warning in signer.warnings:
        lines.append(f"  Note:         {warning}")
    if signer.identity is not None:
        lines += identity_lines(signer.identity, moment)
    return lines


def report_lines(report: ValidationReport) -> list[str]:
    """A validation report as text a person reads."""
    verdict = report.indication + (f" / {report.sub_indication}" if report.sub_indication else "")
    lines = [
        f"{report.format.upper()} signature: {_VERDICT_WORDS[report.indication]} ({verdict}); "
        f"{len(report.signers)} signer(s), checked {_when(report.validation_time)}"
    ]
    for number, signer in enumerate(report.signers, 1):
        lines += signer_report_lines(number, signer, report.validation_time)
    return lines
