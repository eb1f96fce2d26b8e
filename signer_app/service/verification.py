"""Full validation of a signed file, set up once for every front end (`qalam verify`, the
*Verify* page): trust anchors from the trust store, revocation over HTTP with a timeout, a policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from cryptography import x509

from ..crypto import cades_lt, cms, xades_lt
from ..crypto.errors import FileIOError, FileNotFound, InvalidInput, QalamError
from ..crypto.keystores import KeyEntry
from ..crypto.revocation import RevocationCache, RevocationStatus
from ..crypto.validation import (
    Fetching,
    ValidationPolicy,
    ValidationReport,
    certificate_status,
    validate_cms,
)
from .http_fetch import HttpTransport
from .trust_store import TrustStore

# Short enough that an unreachable CA ends in INDETERMINATE while the user still waits.
DEFAULT_TIMEOUT = 5.0


def looks_like_xml(blob: bytes) -> bool:
    """An XML document rather than a CMS (DER or PEM/base64)."""
    return blob.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def looks_like_pdf(blob: bytes) -> bool:
    """A PDF document: it starts with the %PDF- header.

    Readers also accept junk before the header, but an attached CMS over a PDF has the header
    within its first bytes too: only a file that starts with it is taken for a PDF."""
    return blob.lstrip(b" \t\r\n")[:5] == b"%PDF-"


def validate_file(
    signed: bytes,
    original: Path | bytes | None = None,
    *,
    data_dir: Path,
    anchors: Sequence[x509.Certificate] = (),
    intermediates: Sequence[x509.Certificate] = (),
    policy: ValidationPolicy | None = None,
    offline: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    rewrites: Mapping[str, str] | None = None,
    cache: RevocationCache | None = None,
) -> ValidationReport:
    """Validate a CMS, XML or PDF signature (``original``: a detached CMS's data;
    a path is streamed) against
    the trust store of ``data_dir`` plus ``anchors``, fetching revocation unless ``offline``."""
    store = TrustStore(data_dir)
    transport = None if offline else HttpTransport(timeout=timeout)
    every_anchor = [*store.certificates(), *anchors]
    every_intermediate = [*store.intermediates(), *intermediates]
    fetching = Fetching(transport, cache or RevocationCache(), dict(rewrites or {}))

    def cms_with(data: bytes | None = None, stream: BinaryIO | None = None) -> ValidationReport:
        embedded = _embedded(signed)
        report = validate_cms(
            signed,
            data,
            stream=stream,
            anchors=every_anchor,
            intermediates=every_intermediate,
            policy=policy or ValidationPolicy(),
            fetching=fetching,
            ocsp_responses=embedded.ocsp_responses,
            crls=embedded.crls,
        )
        if not embedded.has_revocation_data:
            return report
        if stream is not None:
            stream.seek(0)  # read again: an archive-time-stamp-v3 covers the data's hash too
        return cades_lt.with_long_term_levels(
            report,
            signed,
            anchors=every_anchor,
            intermediates=every_intermediate,
            fetching=fetching,
            content=stream if stream is not None else data,
        )

    if looks_like_pdf(signed):
        # pyHanko is imported for PDFs only: it would add seconds to every start of the app.
        from .pdf_verification import validate_pdf

        return validate_pdf(
            signed,
            anchors=every_anchor,
            intermediates=every_intermediate,
            policy=policy,
            fetching=fetching,
        )
    if looks_like_xml(signed):
        # XAdES-LT/LTA's embedded data and archive timestamps on top of validate_xml's checks.
        return xades_lt.validate_xades(
            signed,
            anchors=every_anchor,
            intermediates=every_intermediate,
            policy=policy or ValidationPolicy(),
            fetching=fetching,
        )
    if original is None or isinstance(original, bytes):
        return cms_with(original)
    try:
        with original.open("rb") as stream:
            return cms_with(stream=stream)
    except FileNotFoundError:
        raise FileNotFound(str(original), path=str(original)) from None
    except IsADirectoryError:
        raise FileIOError("is a folder", path=str(original)) from None


def _embedded(signed: bytes) -> cades_lt.ValidationData:
    """The CAdES-LT data a CMS carries; none when it cannot be read (validate_cms says why)."""
    try:
        return cades_lt.embedded_validation_data(signed)
    except QalamError:
        return cades_lt.ValidationData()


def extend_to_long_term(
    signed: bytes,
    level: str,
    *,
    data_dir: Path,
    stamp: cms.Stamp | None = None,
    content: Path | bytes | None = None,
    anchors: Sequence[x509.Certificate] = (),
    timeout: float = DEFAULT_TIMEOUT,
    rewrites: Mapping[str, str] | None = None,
) -> bytes:
    """A CAdES-T made CAdES-LT ("lt": the chains and revocation data fetched now, embedded) or
    LTA ("lta": LT plus an archive-time-stamp-v3 from ``stamp``), trusting the store of
    ``data_dir`` plus ``anchors``. On an LTA this is the renewal: the earlier archive tokens'
    TSA paths and revocation data go in first, then a further archive timestamp covers them.
    A detached signature's ``content`` (a path is streamed) is needed for "lta". Raises
    InvalidInput for another level, a missing TSA or missing or other data."""
    if level not in ("lt", "lta"):
        raise InvalidInput(level, reason="the long-term level is lt or lta")
    if level == "lta" and stamp is None:
        raise InvalidInput(level, reason="an archive timestamp (lta) needs a TSA")
    store = TrustStore(data_dir)
    fetching = Fetching(HttpTransport(timeout=timeout), RevocationCache(), dict(rewrites or {}))
    data = cades_lt.collect_validation_data(
        signed,
        anchors=[*store.certificates(), *anchors],
        intermediates=store.intermediates(),
        fetching=fetching,
    )
    extended = cades_lt.add_validation_data(signed, data)
    if level != "lta" or stamp is None:
        return extended
    if not isinstance(content, Path):
        return cades_lt.add_archive_timestamp(extended, stamp, content)
    try:
        with content.open("rb") as stream:
            return cades_lt.add_archive_timestamp(extended, stamp, stream)
    except FileNotFoundError:
        raise FileNotFound(str(content), path=str(content)) from None
    except IsADirectoryError:
        raise FileIOError("is a folder", path=str(content)) from None


def sign_xml_long_term(
    xml: str | bytes,
    entry: KeyEntry,
    level: str,
    *,
    data_dir: Path,
    stamp: cms.Stamp,
    anchors: Sequence[x509.Certificate] = (),
    timeout: float = DEFAULT_TIMEOUT,
    rewrites: Mapping[str, str] | None = None,
) -> str:
    """An enveloped XAdES-LT ("lt") or XAdES-LTA ("lta") signature (crypto/xades_lt), the paths
    and revocation data fetched now over HTTP, trusting the store of ``data_dir`` plus
    ``anchors``. Raises InvalidInput for another level."""
    if level not in ("lt", "lta"):
        raise InvalidInput(level, reason="the long-term level is lt or lta")
    store = TrustStore(data_dir)
    # A fresh cache: what is collected is what the fetchers fetch for this signature.
    fetching = Fetching(HttpTransport(timeout=timeout), RevocationCache(), dict(rewrites or {}))
    return xades_lt.sign_xades_long_term(
        xml,
        entry,
        level="lt" if level == "lt" else "lta",
        stamp=stamp,
        anchors=[*store.certificates(), *anchors],
        intermediates=store.intermediates(),
        fetching=fetching,
    )


def check_certificate(
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    *,
    data_dir: Path,
    offline: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    rewrites: Mapping[str, str] | None = None,
) -> RevocationStatus:
    """Is ``certificate`` revoked now? OCSP then CRL at its AIA / CDP, over the trust store."""
    store = TrustStore(data_dir)
    transport = None if offline else HttpTransport(timeout=timeout)
    return certificate_status(
        certificate,
        anchors=store.certificates(),
        intermediates=[*chain, *store.intermediates()],
        fetching=Fetching(transport, RevocationCache(), dict(rewrites or {})),
    )


__all__ = [
    "DEFAULT_TIMEOUT",
    "check_certificate",
    "extend_to_long_term",
    "looks_like_pdf",
    "looks_like_xml",
    "sign_xml_long_term",
    "validate_file",
]
