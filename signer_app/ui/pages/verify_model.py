"""What the *Verify* page shows, as plain values: one verdict and one line per signer.

Built today from crypto/cms.CmsVerification and crypto/xmldsig.XmlVerification (a mathematical
check of each signature, the signer's certificate dates at signing time). A full
ValidationReport (chain, revocation) will replace the source; the page reads only these fields,
so it will not change when it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cryptography import x509

from ...crypto import cms, xmldsig
from ...crypto.cms import CmsVerification
from ...crypto.errors import FileIOError, FileNotFound, InvalidInput
from ...crypto.identity import Purpose, identity_of
from ...crypto.xmldsig import XmlVerification

Verdict = Literal["valid", "invalid", "indeterminate"]
CertificateStatus = Literal["valid", "expired", "not_yet_valid", "missing"]
TimeSource = Literal["timestamp", "claimed", "none"]

# Larger signed files are not read into memory: a detached original is streamed instead.
MAX_SIGNATURE_FILE = 256 << 20


class NeedsOriginal(Exception):
    """The signature is detached and no original file was given."""


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


@dataclass(frozen=True)
class VerifyReport:
    """The whole answer: a verdict, the format, and the signers."""

    verdict: Verdict
    kind: Literal["cms", "xml"]
    detached: bool
    signers: tuple[SignerLine, ...]

    def details_text(self) -> str:
        """A plain-text report for support (English field names, technical codes)."""
        lines = [
            f"Verdict: {self.verdict}",
            f"Format: {self.kind.upper()}{' (detached)' if self.detached else ''}",
            "Checked: each signature mathematically, certificate dates; "
            "chain and revocation: not checked yet",
        ]
        for number, s in enumerate(self.signers, 1):
            when = s.signing_time.isoformat() if s.signing_time else "-"
            lines += [
                f"Signer {number}: {'valid' if s.valid else 'INVALID'}",
                f"  Name: {s.name or '-'}",
                f"  IIN: {s.iin or '-'}  BIN: {s.bin or '-'}",
                f"  Organisation: {s.organisation or '-'}",
                f"  Purpose: {s.purpose.value if s.purpose else '-'}",
                f"  Signing time: {when} ({s.time_source})",
                f"  Certificate: {s.certificate_status}; serial {s.serial_hex or '-'}; "
                f"issuer {s.issuer or '-'}",
            ]
            if s.problems:
                lines.append(f"  Problems: {', '.join(s.problems)}")
        return "\n".join(lines)


def _line(
    certificate: x509.Certificate | None,
    valid: bool,
    problems: tuple[str, ...],
    claimed: datetime | None,
    stamped: datetime | None,
    now: datetime,
) -> SignerLine:
    when = stamped or claimed
    source: TimeSource = "timestamp" if stamped else ("claimed" if claimed else "none")
    if certificate is None:
        return SignerLine(None, None, None, None, None, when, source, "missing", valid, problems)
    who = identity_of(certificate)
    status = who.status_at(when or now)
    return SignerLine(
        name=who.full_name,
        iin=who.iin,
        bin=who.bin,
        organisation=who.organisation,
        purpose=who.purpose,
        signing_time=when,
        time_source=source,
        certificate_status="valid" if status == "valid" else status,  # type: ignore[arg-type]
        valid=valid,
        problems=problems,
        serial_hex=who.serial_hex,
        issuer=who.issuer_common_name,
    )


def _verdict(signers: tuple[SignerLine, ...]) -> Verdict:
    if not signers or not all(s.valid for s in signers):
        return "invalid"
    if any(s.certificate_status != "valid" for s in signers):
        return "indeterminate"
    return "valid"


def from_cms(result: CmsVerification, now: datetime | None = None) -> VerifyReport:
    """The report of a checked CMS."""
    moment = now or datetime.now(UTC)
    signers = tuple(
        _line(s.certificate, s.valid, s.problems, s.signing_time, s.timestamp_time, moment)
        for s in result.signers
    )
    return VerifyReport(_verdict(signers), "cms", result.detached, signers)


def from_xml(result: XmlVerification, now: datetime | None = None) -> VerifyReport:
    """The report of a checked XML document."""
    moment = now or datetime.now(UTC)
    signers = tuple(
        _line(s.certificate, s.valid, s.problems, None, None, moment) for s in result.signatures
    )
    return VerifyReport(_verdict(signers), "xml", False, signers)


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


def _looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def verify_file(signed: Path, original: Path | None = None) -> VerifyReport:
    """Check a signed file (and, for a detached CMS, its original, streamed)."""
    data = _read(signed)
    if _looks_like_xml(data):
        return from_xml(xmldsig.verify_xml(data))
    der = cms.load(data)
    if original is None:
        try:
            return from_cms(cms.verify(der))
        except InvalidInput as error:
            if error.detail == "detached CMS without data":
                raise NeedsOriginal(str(signed)) from None
            raise
    try:
        with original.open("rb") as stream:
            return from_cms(cms.verify(der, stream=stream))
    except InvalidInput as error:
        if error.detail != "stream for an attached CMS":
            raise
    except FileNotFoundError:
        raise FileNotFound(str(original), path=str(original)) from None
    except OSError as exc:
        raise FileIOError(exc.strerror or "cannot read", path=str(original)) from None
    # An attached signature and an original given too: the original must be its content.
    return from_cms(cms.verify(der, data=_read(original)))


__all__ = [
    "NeedsOriginal",
    "SignerLine",
    "VerifyReport",
    "from_cms",
    "from_xml",
    "verify_file",
]
