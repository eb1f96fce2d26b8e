"""Validation of a signed PDF (PAdES): pyHanko reads the PDF, Qalam judges the signatures.

For every signature field:

1. **Integrity and coverage** (pyHanko): the /ByteRange digest, how much of the file the
   signature covers, and the incremental updates made after it (pyHanko's default diff policy:
   signature maintenance — DSS, document timestamps, filling further signature fields — is
   allowed, anything else is not). A disallowed change is TOTAL_FAILED / HASH_FAILURE: the
   document a reader shows is not the one that was signed.
2. **Mathematics, chain, revocation, signature timestamp**: the signature's CMS over the signed
   bytes goes through crypto/validation.validate_cms, the same path as a detached CAdES file,
   with the DSS certificates as extra intermediates.
3. **Level**: B or T from step 2; LT when the document carries a DSS with revocation data
   (and the signature is T); LTA when, moreover, a valid document timestamp comes after it.
   Document timestamps are checked by pyHanko against the same trust anchors.
4. **Long-term revocation**: when the revocation asked now is unknown (offline, responder
   gone, years later) and the signature is LT or LTA, pyHanko validates the signer's path
   with the DSS's OCSP answers and CRLs only, at the signature's proof of existence: proven
   good there, the signature passes, and the report says the evidence came from the DSS.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import misc as pdf_misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import (
    EmbeddedPdfSignature,
    async_validate_pdf_timestamp,
)
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors

from ..crypto.errors import EncryptedPdf, MalformedPdf, QalamError
from ..crypto.revocation import RevocationStatus
from ..crypto.validation import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    Fetching,
    Indication,
    SignerReport,
    ValidationPolicy,
    ValidationReport,
    validate_cms,
)
from .verification import looks_like_pdf

_READ_ERRORS = (pdf_misc.PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError)


@dataclass(frozen=True, slots=True)
class _DocStamp:
    revision: int
    valid: bool
    time: datetime | None
    problem: str | None


def validate_pdf(
    blob: bytes,
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    policy: ValidationPolicy | None = None,
    fetching: Fetching | None = None,
) -> ValidationReport:
    """Validate every signature of a PDF (see the module's text)."""
    policy = policy or ValidationPolicy()
    reader = _reader(blob)
    try:
        signatures: list[EmbeddedPdfSignature] = list(reader.embedded_signatures)
    except _READ_ERRORS as exc:
        raise MalformedPdf(f"signature fields: {type(exc).__name__}: {exc}") from None
    dss_certs, dss = _dss(reader)
    extra = [*intermediates, *dss_certs]
    stamps = [
        _doc_stamp(s, anchors, extra) for s in signatures if s.sig_object_type == "/DocTimeStamp"
    ]
    reports = [
        _signer(blob, s, anchors, extra, policy, fetching or Fetching(), dss, stamps)
        for s in signatures
        if s.sig_object_type != "/DocTimeStamp"
    ]
    return _overall(reports, policy)


def _reader(blob: bytes) -> PdfFileReader:
    if not looks_like_pdf(blob):
        raise MalformedPdf("no %PDF- header")
    try:
        reader = PdfFileReader(io.BytesIO(blob), strict=False)
    except _READ_ERRORS as exc:
        raise MalformedPdf(f"{type(exc).__name__}: {exc}") from None
    if reader.encrypted:
        raise EncryptedPdf("the PDF is encrypted")
    return reader


def _dss(reader: PdfFileReader) -> tuple[list[x509.Certificate], DocumentSecurityStore | None]:
    """The DSS's certificates, and the DSS when it holds any OCSP response or CRL."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return [], None
    except _READ_ERRORS as exc:
        raise MalformedPdf(f"DSS: {type(exc).__name__}: {exc}") from None
    certs = [x509.load_der_x509_certificate(c.dump()) for c in dss.load_certs()]
    return certs, dss if (dss.ocsps or dss.crls) else None


def _revocation_from_dss(
    dss: DocumentSecurityStore,
    signature: EmbeddedPdfSignature,
    anchors: Sequence[x509.Certificate],
    extra: Sequence[x509.Certificate],
    moment: datetime,
) -> RevocationStatus | None:
    """The signer's status at ``moment`` from the DSS alone (pyHanko, nothing fetched);
    None when the DSS does not prove it either way."""
    # retroactive_revinfo: the OCSP answer fetched just after signing speaks for the moment
    # of signing (EN 319 102-1's revocation freshness is about the signing, not today).
    context = dss.as_validation_context(
        {
            "trust_roots": [_asn1(c) for c in anchors],
            "other_certs": [_asn1(c) for c in extra],
            "allow_fetching": False,
            "revocation_mode": "hard-fail",
            "moment": moment,
            "retroactive_revinfo": True,
        }
    )
    validator = CertificateValidator(signature.signer_cert, validation_context=context)
    try:
        asyncio.run(validator.async_validate_usage({"digital_signature"}))  # type: ignore[no-untyped-call]
    except cv_errors.RevokedError as exc:
        return RevocationStatus("revoked", "none", detail=f"from the document's DSS: {exc}")
    except (cv_errors.PathValidationError, cv_errors.PathBuildingError, cv_errors.ValidationError):
        return None
    source: Literal["ocsp", "crl"] = "ocsp" if dss.ocsps else "crl"
    detail = "from the document's DSS (embedded when it was signed)"
    return RevocationStatus("good", source, checked_at=moment, detail=detail)


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def _doc_stamp(
    signature: EmbeddedPdfSignature,
    anchors: Sequence[x509.Certificate],
    extra: Sequence[x509.Certificate],
) -> _DocStamp:
    # The TSA's revocation is not asked here: the timestamp is checked for what it proves
    # (the document existed, DSS included, at its time), by pyHanko against our anchors.
    context = ValidationContext(
        trust_roots=[_asn1(c) for c in anchors],
        other_certs=[_asn1(c) for c in extra],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    try:
        status = asyncio.run(async_validate_pdf_timestamp(signature, context))
    except (SignatureValidationError, *_READ_ERRORS) as exc:
        return _DocStamp(signature.signed_revision, False, None, f"{type(exc).__name__}: {exc}")
    ok = bool(status.intact and status.valid and status.trusted)
    problem = None if ok else "the document timestamp does not verify or is not trusted"
    return _DocStamp(signature.signed_revision, ok, status.timestamp, problem)


def _signed_bytes(blob: bytes, signature: EmbeddedPdfSignature) -> bytes:
    ranges = [int(v) for v in signature.byte_range]
    return b"".join(blob[ranges[i] : ranges[i] + ranges[i + 1]] for i in range(0, len(ranges), 2))


def _cms_der(signature: EmbeddedPdfSignature) -> bytes:
    # /Contents is zero-padded after the DER; asn1crypto's lenient load finds where it ends.
    loaded = asn1_cms.ContentInfo.load(signature.pkcs7_content, strict=False)
    der: bytes = loaded.dump()
    return der


def _integrity_problem(signature: EmbeddedPdfSignature) -> str | None:
    """Why the document was changed after this signature in a way it does not allow."""
    try:
        signature.compute_integrity_info()  # type: ignore[no-untyped-call]
        summary: dict[str, Any] = signature.summarise_integrity_info()
    except (SignatureValidationError, *_READ_ERRORS) as exc:
        return f"the signature's coverage cannot be checked: {type(exc).__name__}: {exc}"
    diff = summary.get("diff_result")
    if summary.get("docmdp_ok") is False:
        level = getattr(diff, "modification_level", ModificationLevel.OTHER)
        name = level.name
        return f"the PDF was changed after signing in a way the signature does not allow ({name})"
    return None


def _signer(
    blob: bytes,
    signature: EmbeddedPdfSignature,
    anchors: Sequence[x509.Certificate],
    extra: Sequence[x509.Certificate],
    policy: ValidationPolicy,
    fetching: Fetching,
    dss: DocumentSecurityStore | None,
    stamps: Sequence[_DocStamp],
) -> SignerReport:
    try:
        cms_report = validate_cms(
            _cms_der(signature),
            _signed_bytes(blob, signature),
            anchors=anchors,
            intermediates=extra,
            policy=policy,
            fetching=fetching,
        )
    except QalamError as error:
        return _failed_signer(f"{signature.field_name}: {error.message('en')}")
    if not cms_report.signers:
        return _failed_signer(f"{signature.field_name}: the CMS has no signer")
    report = cms_report.signers[0]
    warnings = list(report.warnings)
    indication, sub = report.indication, report.sub_indication
    level = report.level
    problem = _integrity_problem(signature)
    if problem is not None:
        indication, sub, level = TOTAL_FAILED, "HASH_FAILURE", None
        warnings.append(problem)
    later = [s for s in stamps if s.revision > signature.signed_revision]
    for stamp in later:
        if not stamp.valid:
            warnings.append(f"a document timestamp does not hold: {stamp.problem}")
    if level == "T" and dss is not None:
        level = "LT"
        if any(s.valid for s in later):
            level = "LTA"
    revocation = report.revocation
    poe = report.signing_time if report.signing_time_source == "timestamp" else None
    if sub == "TRY_LATER" and level in ("LT", "LTA") and dss is not None and poe is not None:
        embedded = _revocation_from_dss(dss, signature, anchors, extra, poe)
        if embedded is not None and embedded.status == "good":
            indication, sub, revocation = TOTAL_PASSED, None, embedded
            warnings = [w for w in warnings if not w.startswith("revocation of")]
            warnings.append("revocation could not be asked now: proven by the document's DSS")
    return dataclasses.replace(
        report,
        indication=indication,
        sub_indication=sub,
        level=level,
        revocation=revocation,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _failed_signer(problem: str) -> SignerReport:
    return SignerReport(
        indication=TOTAL_FAILED,
        sub_indication="FORMAT_FAILURE",
        certificate=None,
        identity=None,
        signing_time=None,
        signing_time_source="none",
        claimed_signing_time=None,
        chain=(),
        revocation=None,
        timestamps=(),
        level=None,
        problems=(problem,),
        warnings=(problem,),
    )


def _overall(reports: list[SignerReport], policy: ValidationPolicy) -> ValidationReport:
    indication: Indication
    sub: str | None
    if not reports:
        indication, sub = TOTAL_FAILED, "FORMAT_FAILURE"
    elif all(r.indication == TOTAL_PASSED for r in reports):
        indication, sub = TOTAL_PASSED, None
    else:
        failed = [r for r in reports if r.indication == TOTAL_FAILED]
        worst = failed[0] if failed else next(r for r in reports if r.indication == INDETERMINATE)
        indication, sub = worst.indication, worst.sub_indication
    return ValidationReport(
        indication=indication,
        sub_indication=sub,
        format="pdf",
        detached=False,
        validation_time=datetime.now(UTC),
        policy=policy,
        signers=tuple(reports),
    )


__all__ = ["validate_pdf"]
