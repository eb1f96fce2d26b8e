"""What the *Verify* page shows, as plain values: one verdict and one line per signer.

Built from a full crypto/validation.ValidationReport (mathematics, chain to a trusted root,
revocation, timestamps) produced by service/verification.validate_file, the same validation
`qalam verify` runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ...crypto.errors import FileIOError, FileNotFound, InvalidInput
from ...crypto.identity import Purpose
from ...crypto.revocation import RevocationCache
from ...crypto.validation import (
    TOTAL_FAILED,
    TOTAL_PASSED,
    SignerReport,
    ValidationReport,
)
from ...service.report_html import ReportFile
from ...service.verification import DEFAULT_TIMEOUT, validate_file

Verdict = Literal["valid", "invalid", "indeterminate"]
CertificateStatus = Literal["valid", "revoked", "unknown", "expired", "not_yet_valid", "missing"]
TimeSource = Literal["timestamp", "archive_timestamp", "claimed", "none"]

# Larger signed files are not read into memory: a detached original is streamed instead.
MAX_SIGNATURE_FILE = 256 << 20


class NeedsOriginal(Exception):
    """The signature is detached and no original file was given."""


@dataclass(frozen=True)
class VerifySettings:
    """Where the page's validation gets its trust and its network (tests point it at a CA)."""

    data_dir: Path
    offline: bool = False
    timeout: float = DEFAULT_TIMEOUT
    rewrites: Mapping[str, str] = field(default_factory=dict)
    # Shared by the page's checks: a file verified again reuses validated paths and revocation
    # answers while they may be reused (crypto/validation.py says when).
    cache: RevocationCache = field(default_factory=RevocationCache, compare=False, repr=False)


@dataclass(frozen=True)
class SignerLine:
    """One signer as a person reads it."""

    name: str | None
    iin: str | None
    bin: str | None
    organisation: str | None
    purpose: Purpose | None
    signing_time: datetime | None
    time_source: TimeSource
    certificate_status: CertificateStatus
    valid: bool
    problems: tuple[str, ...]
    serial_hex: str | None = None
    issuer: str | None = None
    indication: str = TOTAL_PASSED
    sub_indication: str | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    revocation_source: str = "none"
    status_detail: str = ""
    level: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifyReport:
    """The whole answer: a verdict (and its sub-indication), the format, and the signers."""

    verdict: Verdict
    kind: Literal["cms", "xml"]
    detached: bool
    signers: tuple[SignerLine, ...]
    indication: str = TOTAL_PASSED
    sub_indication: str | None = None
    # What "Save report…" prints: the full validation and the file's fingerprint.
    validation: ValidationReport | None = field(default=None, compare=False, repr=False)
    file: ReportFile | None = field(default=None, compare=False, repr=False)

    def details_text(self) -> str:
        """A plain-text report for support (English field names, technical codes)."""
        sub = f" / {self.sub_indication}" if self.sub_indication else ""
        lines = [
            f"Verdict: {self.verdict} ({self.indication}{sub})",
            f"Format: {self.kind.upper()}{' (detached)' if self.detached else ''}",
            "Checked: each signature mathematically, chain to a trusted root, revocation, "
            "timestamps",
        ]
        for number, s in enumerate(self.signers, 1):
            when = s.signing_time.isoformat() if s.signing_time else "-"
            sub = f" / {s.sub_indication}" if s.sub_indication else ""
            revoked = (
                f" at {s.revoked_at.isoformat()} ({s.revocation_reason or '-'})"
                if s.revoked_at
                else ""
            )
            lines += [
                f"Signer {number}: {s.indication}{sub}; signature "
                f"{'intact' if s.valid else 'INVALID'}; level {s.level or '-'}",
                f"  Name: {s.name or '-'}",
                f"  IIN: {s.iin or '-'}  BIN: {s.bin or '-'}",
                f"  Organisation: {s.organisation or '-'}",
                f"  Purpose: {s.purpose.value if s.purpose else '-'}",
                f"  Signing time: {when} ({s.time_source})",
                f"  Certificate: {s.certificate_status}{revoked}; source {s.revocation_source}; "
                f"serial {s.serial_hex or '-'}; issuer {s.issuer or '-'}",
            ]
            if s.status_detail:
                lines.append(f"  Status detail: {s.status_detail}")
            if s.problems:
                lines.append(f"  Problems: {', '.join(s.problems)}")
            if s.warnings:
                lines.append(f"  Warnings: {'; '.join(s.warnings)}")
        return "\n".join(lines)


# The sub-indications that mean the signature itself does not hold (not its certificate).
_MATH_FAILURES = frozenset({"HASH_FAILURE", "SIG_CRYPTO_FAILURE", "FORMAT_FAILURE"})

_VERDICTS: dict[str, Verdict] = {
    TOTAL_PASSED: "valid",
    TOTAL_FAILED: "invalid",
}


def _status(s: SignerReport, moment: datetime) -> tuple[CertificateStatus, str]:
    """The certificate's status as one word, and why when it is not plainly valid."""
    if s.certificate is None:
        return "missing", ""
    revocation = s.revocation
    if revocation is not None and revocation.status == "revoked":
        return "revoked", revocation.detail
    if s.identity is not None:
        dated = s.identity.status_at(moment)
        if dated in ("expired", "not_yet_valid"):
            return dated, ""  # type: ignore[return-value]
    if revocation is not None and revocation.status == "good" and s.chain:
        return "valid", ""
    why = revocation.detail if revocation is not None and revocation.detail else ""
    if not s.chain:
        why = s.sub_indication or "no chain to a trusted root"
    return "unknown", why or (s.sub_indication or "")


def _line(s: SignerReport, now: datetime) -> SignerLine:
    who = s.identity
    status, why = _status(s, s.signing_time or now)
    revocation = s.revocation
    return SignerLine(
        name=who.full_name if who else None,
        iin=who.iin if who else None,
        bin=who.bin if who else None,
        organisation=who.organisation if who else None,
        purpose=who.purpose if who else None,
        signing_time=s.signing_time,
        time_source=s.signing_time_source,
        certificate_status=status,
        valid=s.sub_indication not in _MATH_FAILURES,
        problems=s.problems,
        serial_hex=who.serial_hex if who else None,
        issuer=who.issuer_common_name if who else None,
        indication=s.indication,
        sub_indication=s.sub_indication,
        revoked_at=revocation.revoked_at if revocation else None,
        revocation_reason=revocation.reason if revocation else None,
        revocation_source=revocation.source if revocation else "none",
        status_detail=why,
        level=s.level,
        warnings=s.warnings,
    )


def from_validation(
    report: ValidationReport, now: datetime | None = None, *, file: ReportFile | None = None
) -> VerifyReport:
    """The page's report of a full validation (``file``: what a saved report says of the file)."""
    moment = now or datetime.now(UTC)
    signers = tuple(_line(s, moment) for s in report.signers)
    kind: Literal["cms", "xml"] = "xml" if report.format == "xml" else "cms"
    return VerifyReport(
        verdict=_VERDICTS.get(report.indication, "indeterminate"),
        kind=kind,
        detached=report.detached,
        signers=signers,
        indication=report.indication,
        sub_indication=report.sub_indication,
        validation=report,
        file=file,
    )


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_SIGNATURE_FILE:
            reason = f"{path.name} is too large to be a signature file"
            raise InvalidInput(str(path), reason=reason)
        if size == 0:
            raise InvalidInput(str(path), reason=f"{path.name} is empty")
        return path.read_bytes()
    except FileNotFoundError:
        raise FileNotFound(str(path), path=str(path)) from None
    except IsADirectoryError:
        raise InvalidInput(str(path), reason=f"{path.name} is a folder") from None
    except OSError as exc:
        raise FileIOError(exc.strerror or "cannot read", path=str(path)) from None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def verify_file(
    signed: Path, original: Path | None = None, *, settings: VerifySettings
) -> VerifyReport:
    """Validate a signed file (and, for a detached CMS, its original, streamed)."""
    data = _read(signed)

    def run(given: Path | bytes | None) -> VerifyReport:
        report = validate_file(
            data,
            given,
            data_dir=settings.data_dir,
            offline=settings.offline,
            timeout=settings.timeout,
            rewrites=settings.rewrites,
            cache=settings.cache,
        )
        data_sha256 = None
        if isinstance(given, bytes):
            data_sha256 = hashlib.sha256(given).hexdigest()
        elif given is not None:
            data_sha256 = _sha256_of(given)
        file = ReportFile(signed.name, hashlib.sha256(data).hexdigest(), data_sha256)
        return from_validation(report, file=file)

    if _looks_like_xml(data):
        return run(None)
    try:
        return run(original)
    except InvalidInput as error:
        if original is None and error.detail == "detached CMS without data":
            raise NeedsOriginal(str(signed)) from None
        if original is None or error.detail != "stream for an attached CMS":
            raise
    except OSError as exc:
        raise FileIOError(exc.strerror or "cannot read", path=str(original)) from None
    # An attached signature and an original given too: the original must be its content.
    return run(_read(original))


__all__ = [
    "NeedsOriginal",
    "SignerLine",
    "VerifyReport",
    "VerifySettings",
    "from_validation",
    "verify_file",
]
