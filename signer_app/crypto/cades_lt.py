"""CAdES-LT and an LTA-style archive timestamp for CMS (in the spirit of ETSI EN 319 122-1).

LT: the data a verifier needs years later, when the CA may be gone, goes into the SignedData
itself: every certificate of the signer's and each TSA's path in ``certificates``; the OCSP
responses (RevocationInfoChoice ``other``, id-ri-ocsp-response, RFC 5940) and CRLs in ``crls``.
``certificates`` and ``crls`` are not signed, so adding them leaves every signature intact; the
SignedData's version becomes 5 as RFC 5652 §5.1 wants when an ``other`` revocation entry is there.

LTA: archive-time-stamp-v3 with its ats-hash-index-v3 (ETSI EN 319 122-1 §5.5.2-5.5.3), written,
renewed and checked in archive_timestamp.py; ``with_long_term_levels`` here raises a report's
levels. Our earlier releases wrote a simpler archive timestamp, still read here: the attribute
``id-aa-ets-archiveTimestampV2`` (1.2.840.113549.1.9.16.2.48) holding a token whose imprint is
SHA-256 over the concatenation of (``archive_imprint_data``) the encapsulated content's octets
(empty when detached), the DER of ``certificates`` and ``crls`` as stored, and each SignerInfo's
DER without its archive timestamp attributes. Any evidence added after it breaks it (it has no
hash index); ``add_archive_timestamp_v2`` still writes it, for the back-compatibility tests only.

Hand-built over asn1crypto because no maintained Python library adds CAdES-LT/LTA data to an
existing CMS (pyHanko does this for PDF only). The network stays out: collecting uses the
caller's Fetching (validation.py), as the rest of crypto/ does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from . import archive_timestamp, cms, tsp
from .archive_timestamp import (
    ID_ARCHIVE_TIMESTAMP_V2,
    ID_ARCHIVE_TIMESTAMP_V3,
    ArchiveCheck,
    Content,
    add_archive_timestamp,
)
from .errors import MalformedCms

# The validator's own path building and TSA checks, reused so that collecting the data and
# judging an archive timestamp follow exactly the rules validation follows.
from .validation import (
    OFFLINE,
    TOTAL_FAILED,
    Fetching,
    Level,
    SignerReport,
    TimestampReport,
    ValidationReport,
    ValidationRun,
    check_timestamp,
    overall,
)

_ID_SIGNATURE_TIME_STAMP = "1.2.840.113549.1.9.16.2.14"
Stamp = Callable[[bytes], bytes]
# Unsigned attributes holding a TimeStampToken whose TSA's path LT data must cover.
_TIMESTAMP_ATTRIBUTES = (_ID_SIGNATURE_TIME_STAMP, ID_ARCHIVE_TIMESTAMP_V2, ID_ARCHIVE_TIMESTAMP_V3)


@dataclass(frozen=True)
class ValidationData:
    """Certificates, OCSP responses and CRLs (each DER) for a signature's later validation."""

    certificates: tuple[bytes, ...] = ()
    ocsp_responses: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()

    @property
    def has_revocation_data(self) -> bool:
        """Some OCSP response or CRL is there."""
        return bool(self.ocsp_responses or self.crls)


def _load(signature: bytes | str) -> asn1_cms.SignedData:
    der = cms.load(signature)
    try:
        info = asn1_cms.ContentInfo.load(der)
        signed = info["content"]
        if not isinstance(signed, asn1_cms.SignedData):
            raise ValueError("not SignedData")
        [info["sid"].native for info in signed["signer_infos"]]  # parse now, inside the try
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedCms(f"{type(exc).__name__}: {exc}") from None
    return signed


def _present(value: object) -> bool:
    return not isinstance(value, asn1_core.Void)


def embedded_validation_data(signature: bytes | str) -> ValidationData:
    """What a CMS carries for validation: its certificates, OCSP responses and CRLs."""
    signed = _load(signature)
    certificates, responses, crls = [], [], []
    if _present(signed["certificates"]):
        certificates = [c.chosen.dump() for c in signed["certificates"] if c.name == "certificate"]
    if _present(signed["crls"]):
        for choice in signed["crls"]:
            if choice.name == "crl":
                crls.append(choice.chosen.dump())
            elif choice.chosen["other_rev_info_format"].native == "ocsp_response":
                responses.append(choice.chosen["other_rev_info"].dump())
    return ValidationData(tuple(certificates), tuple(responses), tuple(crls))


def _tsa_certificates(signed: asn1_cms.SignedData) -> list[x509.Certificate]:
    found = []
    for info in signed["signer_infos"]:
        unsigned = info["unsigned_attrs"]
        if not _present(unsigned):
            continue
        for attribute in unsigned:
            if attribute["type"].dotted not in _TIMESTAMP_ATTRIBUTES:
                continue
            for value in attribute["values"]:
                token = asn1_cms.ContentInfo.load(value.dump())["content"]
                for choice in token["certificates"] if _present(token["certificates"]) else ():
                    if choice.name == "certificate":
                        found.append(x509.load_der_x509_certificate(choice.chosen.dump()))
    return found


def collect_validation_data(
    signature: bytes | str,
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    fetching: Fetching = OFFLINE,
) -> ValidationData:
    """Build each signer's and each TSA's path to ``anchors`` and fetch the revocation data of
    every certificate on it, over ``fetching``. Paths that cannot be built add nothing: the
    verifier will say why later. Raises MalformedCms for what is not a CMS."""
    signed = _load(signature)
    carried = [
        x509.load_der_x509_certificate(d) for d in embedded_validation_data(signature).certificates
    ]
    tsa_certs = _tsa_certificates(signed)
    run = ValidationRun(
        anchors, [*carried, *tsa_certs, *intermediates], fetching=fetching, now=datetime.now(UTC)
    )
    certificates: dict[bytes, None] = {}
    for leaf in [*_signer_certificates(signed, carried), *tsa_certs]:
        path = run.path(leaf)
        if path is None:
            continue
        for cert in path.iter_certs(include_root=True):
            certificates[cert.dump()] = None
        run.revocations(path)  # fetches (or takes from the cache) what the path needs
    responses, crls = run.fetched_evidence()
    return ValidationData(tuple(certificates), responses, crls)


def _signer_certificates(
    signed: asn1_cms.SignedData, carried: list[x509.Certificate]
) -> list[x509.Certificate]:
    """The certificates the SignerInfos name by issuer and serial (or key identifier)."""
    found = []
    for info in signed["signer_infos"]:
        sid = info["sid"]
        for certificate in carried:
            cert = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
            if sid.name == "issuer_and_serial_number":
                match = (
                    cert.issuer == sid.chosen["issuer"]
                    and cert.serial_number == sid.chosen["serial_number"].native
                )
            else:
                match = cert.key_identifier == sid.chosen.native
            if match:
                found.append(certificate)
                break
    return found


def add_validation_data(signature: bytes | str, data: ValidationData) -> bytes:
    """The CMS with ``data`` added to SignedData.certificates and .crls (what it already holds is
    kept, nothing is added twice); signers, content and signed attributes are untouched."""
    signed = _load(signature)
    certificates = (
        [c.dump() for c in signed["certificates"]] if _present(signed["certificates"]) else []
    )
    for der in data.certificates:
        if der not in certificates:
            certificates.append(der)
    revocations = [c.dump() for c in signed["crls"]] if _present(signed["crls"]) else []
    choices = [
        asn1_cms.RevocationInfoChoice(name="crl", value=asn1_crl.CertificateList.load(d))
        for d in data.crls
    ]
    choices += [
        asn1_cms.RevocationInfoChoice(
            name="other",
            value=asn1_cms.OtherRevocationInfoFormat(
                {
                    "other_rev_info_format": "ocsp_response",
                    "other_rev_info": asn1_ocsp.OCSPResponse.load(d),
                }
            ),
        )
        for d in data.ocsp_responses
    ]
    for choice in choices:
        if choice.dump() not in revocations:
            revocations.append(choice.dump())
    if certificates:
        signed["certificates"] = asn1_cms.CertificateSet(
            [asn1_cms.CertificateChoices.load(d) for d in certificates]
        )
    if revocations:
        loaded = [asn1_cms.RevocationInfoChoice.load(d) for d in revocations]
        signed["crls"] = asn1_cms.RevocationInfoChoices(loaded)
        if any(choice.name == "other" for choice in loaded):
            signed["version"] = "v5"
    return bytes(asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


# -- the archive timestamp ---------------------------------------------------------------------


def _without_archive_stamps(info: asn1_cms.SignerInfo) -> bytes:
    unsigned = info["unsigned_attrs"]
    if not _present(unsigned):
        return bytes(info.dump())
    kept = [a for a in unsigned if a["type"].dotted != ID_ARCHIVE_TIMESTAMP_V2]
    copy = asn1_cms.SignerInfo.load(info.dump())
    # None drops the optional field (asn1crypto refuses a Void there): as it was before.
    copy["unsigned_attrs"] = asn1_cms.CMSAttributes(kept) if kept else None
    return bytes(copy.dump())


def archive_imprint_data(signature: bytes | str) -> bytes:
    """What the archive timestamp stamps (see the module's text)."""
    signed = _load(signature)
    content = signed["encap_content_info"]["content"]
    parts = [bytes(content.native or b"") if _present(content) else b""]
    for name in ("certificates", "crls"):
        parts.append(bytes(signed[name].dump()) if _present(signed[name]) else b"")
    parts.extend(_without_archive_stamps(info) for info in signed["signer_infos"])
    return b"".join(parts)


def add_archive_timestamp_v2(signature: bytes | str, stamp: Stamp) -> bytes:
    """What earlier releases wrote for LTA (see the module's text), kept to test that it is still
    read: an archiveTimestampV2-style token over ``archive_imprint_data`` in every SignerInfo."""
    signed = _load(signature)
    data = archive_imprint_data(signature)
    token = stamp(hashlib.sha256(data).digest())
    tsp.verify_token(token, data)  # never embed a token that does not hold
    attribute = asn1_cms.CMSAttribute(
        {"type": ID_ARCHIVE_TIMESTAMP_V2, "values": [asn1_core.Any.load(token)]}
    )
    infos = []
    for signer in signed["signer_infos"]:
        copy = asn1_cms.SignerInfo.load(signer.dump())
        unsigned = list(copy["unsigned_attrs"]) if _present(copy["unsigned_attrs"]) else []
        copy["unsigned_attrs"] = asn1_cms.CMSAttributes([*unsigned, attribute])
        infos.append(copy)
    signed["signer_infos"] = asn1_cms.SignerInfos(infos)
    return bytes(asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def archive_timestamp_tokens(signature: bytes | str) -> list[bytes]:
    """The archive timestamp tokens (v3, then our earlier v2) of the first SignerInfo that has
    any."""
    signed = _load(signature)
    for info in signed["signer_infos"]:
        tokens = _tokens_of(info, ID_ARCHIVE_TIMESTAMP_V3) + _tokens_of(
            info, ID_ARCHIVE_TIMESTAMP_V2
        )
        if tokens:
            return tokens
    return []


def _tokens_of(info: asn1_cms.SignerInfo, kind: str) -> list[bytes]:
    unsigned = info["unsigned_attrs"]
    if not _present(unsigned):
        return []
    return [
        bytes(value.dump())
        for attribute in unsigned
        if attribute["type"].dotted == kind
        for value in attribute["values"]
    ]


__all__ = [
    "ID_ARCHIVE_TIMESTAMP_V2",
    "ID_ARCHIVE_TIMESTAMP_V3",
    "ValidationData",
    "add_archive_timestamp",
    "add_archive_timestamp_v2",
    "add_validation_data",
    "archive_imprint_data",
    "archive_timestamp_tokens",
    "collect_validation_data",
    "embedded_validation_data",
    "with_long_term_levels",
]


# -- levels LT and LTA in a report ---------------------------------------------------------------


def with_long_term_levels(
    report: ValidationReport,
    signature: bytes | str,
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    fetching: Fetching = OFFLINE,
    content: Content = None,
) -> ValidationReport:
    """``report`` (validate_cms of ``signature``; ``content``: a detached signature's data) with
    each level-T signer raised to LT when the signature carries revocation data and the
    signer's status is known, and to LTA when it has archive timestamps and every one holds
    and its TSA validates. An archive-time-stamp-v3 whose hash index or imprint no longer
    matches means the sealed signature was altered: that signer is TOTAL_FAILED, HASH_FAILURE."""
    data = embedded_validation_data(signature)
    if not data.has_revocation_data:
        return report
    signed = _load(signature)
    infos = list(signed["signer_infos"])
    has_archive = any(
        _tokens_of(i, ID_ARCHIVE_TIMESTAMP_V3) or _tokens_of(i, ID_ARCHIVE_TIMESTAMP_V2)
        for i in infos
    )
    if not has_archive:
        return replace(report, signers=tuple(_raised(s, ()) for s in report.signers))
    v3 = archive_timestamp.check_archive_timestamps(signature, content)
    legacy = _legacy_checks(signature, infos)
    carried = [x509.load_der_x509_certificate(d) for d in data.certificates]
    run = ValidationRun(
        anchors,
        [*carried, *intermediates],
        policy=report.policy,
        fetching=fetching,
        now=report.validation_time,
        ocsp_responses=data.ocsp_responses,
        crls=data.crls,
    )
    # validate_cms reports the SignerInfos in their order.
    signers = tuple(
        _raised(signer, (*v3[n], *legacy[n]), run) if n < len(infos) else signer
        for n, signer in enumerate(report.signers)
    )
    indication, sub = overall(signers)
    return replace(report, indication=indication, sub_indication=sub, signers=signers)


def _legacy_checks(
    signature: bytes | str, infos: list[asn1_cms.SignerInfo]
) -> list[tuple[ArchiveCheck, ...]]:
    """Our earlier releases' archive timestamps, each checked over ``archive_imprint_data``."""
    found: list[tuple[ArchiveCheck, ...]] = []
    imprint: bytes | None = None
    for info in infos:
        checks = []
        for token_der in _tokens_of(info, ID_ARCHIVE_TIMESTAMP_V2):
            imprint = archive_imprint_data(signature) if imprint is None else imprint
            token, problem = check_timestamp(token_der, imprint)
            checks.append(ArchiveCheck("v2", token_der, token, problem))
        found.append(tuple(checks))
    return found


def _raised(
    signer: SignerReport, checks: Sequence[ArchiveCheck], run: ValidationRun | None = None
) -> SignerReport:
    """One signer after its archive timestamps ``checks`` (oldest v3 first): TOTAL_FAILED when
    a v3 one no longer holds; else judged again at the oldest valid one when nothing earlier
    proves the signature's existence (validation's at_archive_time); then LT, or LTA when
    every one holds and its TSA validates."""
    broken = [
        f"an archive timestamp does not hold: {c.problem}"
        for c in checks
        if c.version == "v3" and c.token is None
    ]
    if broken:
        signer = replace(signer, warnings=(*signer.warnings, *broken))
    if broken and signer.indication != TOTAL_FAILED:
        signer = replace(signer, indication=TOTAL_FAILED, sub_indication="HASH_FAILURE")
    if not checks or run is None:
        return _levelled(signer, [], [])
    stamps: list[TimestampReport] = []
    notes: list[str] = []
    for check in checks:
        if check.token is None:
            stamp = TimestampReport(None, False, None, problem=check.problem, kind="archive")
            if check.version == "v2":
                notes.append(f"an archive timestamp is not valid ({check.problem})")
        else:
            stamp = run.judge_timestamp((check.token, None), "archive")
            if not stamp.valid:
                notes.append(f"an archive timestamp is not valid ({stamp.problem})")
        stamps.append(stamp)
    # A broken stamp proves nothing; the others still say when the signature existed.
    judged = signer if broken else run.at_archive_time(signer, stamps)
    return _levelled(judged, stamps, notes)


def _levelled(
    signer: SignerReport, stamps: Sequence[TimestampReport], notes: Sequence[str]
) -> SignerReport:
    """A level-T signer whose status is known raised to LT, or LTA when ``stamps`` (its judged
    archive timestamps) are there and every one holds; ``stamps`` and ``notes`` are added."""
    known = signer.revocation is not None and signer.revocation.status != "unknown"
    level: Level | None = signer.level
    if signer.level == "T" and known:
        level = "LTA" if stamps and all(s.valid for s in stamps) else "LT"
    return replace(
        signer,
        level=level,
        timestamps=(*signer.timestamps, *stamps),
        warnings=(*signer.warnings, *notes),
    )
