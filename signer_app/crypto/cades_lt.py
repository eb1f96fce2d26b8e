"""CAdES-LT and an LTA-style archive timestamp for CMS (in the spirit of ETSI EN 319 122-1).

LT: the data a verifier needs years later, when the CA may be gone, goes into the SignedData
itself: every certificate of the signer's and each TSA's path in ``certificates``; the OCSP
responses (RevocationInfoChoice ``other``, id-ri-ocsp-response, RFC 5940) and CRLs in ``crls``.
``certificates`` and ``crls`` are not signed, so adding them leaves every signature intact; the
SignedData's version becomes 5 as RFC 5652 §5.1 wants when an ``other`` revocation entry is there.

LTA: an archive timestamp over the whole signature as it stands. This is the *simpler* form
allowed by the brief, not ETSI's archive-time-stamp-v3: the unsigned attribute
``id-aa-ets-archiveTimestampV2`` (1.2.840.113549.1.9.16.2.48) holds a token whose imprint is
SHA-256 over the concatenation of (see ``archive_imprint_data``)
the encapsulated content's octets (empty when detached), the DER of ``certificates`` and ``crls``
as stored, and each SignerInfo's DER *without* its archive timestamp attributes. What is missing
against ATSv3: no ats-hash-index-v3 (so certificates or revocation data added after the archive
timestamp invalidate it rather than being listed), the detached content is not hashed in (a
detached LTA protects the signature and its evidence, not the data, which its own signature
covers), and renewal (a second archive timestamp over the first) is not written yet.

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
from cryptography import x509

from . import cms, tsp
from .errors import MalformedCms

# The validator's own path building and TSA checks, reused so that collecting the data and
# judging an archive timestamp follow exactly the rules validation follows.
from .validation import (
    OFFLINE,
    Fetching,
    Level,
    TimestampReport,
    ValidationPolicy,
    ValidationReport,
    _asn1,
    _Run,
)

ID_ARCHIVE_TIMESTAMP_V2 = "1.2.840.113549.1.9.16.2.48"
_ID_SIGNATURE_TIME_STAMP = "1.2.840.113549.1.9.16.2.14"
Stamp = Callable[[bytes], bytes]


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
            if attribute["type"].dotted not in (_ID_SIGNATURE_TIME_STAMP, ID_ARCHIVE_TIMESTAMP_V2):
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
    run = _Run(
        anchors,
        [*carried, *tsa_certs, *intermediates],
        ValidationPolicy(),
        fetching,
        datetime.now(UTC),
    )
    certificates: dict[bytes, None] = {}
    for leaf in [*_signer_certificates(signed, carried), *tsa_certs]:
        outcome = run._path(_asn1(leaf), run.now, set(), None)
        if outcome.path is None:
            continue
        for cert in outcome.path.iter_certs(include_root=True):
            certificates[cert.dump()] = None
        run._revocations(outcome.path)  # fetches (or takes from the cache) what the path needs
    responses: list[bytes] = []
    crls: list[bytes] = []
    if run.fetchers is not None:
        responses = list(
            dict.fromkeys(r.dump() for r in run.fetchers.ocsp_fetcher.fetched_responses())
        )
        crls = list(dict.fromkeys(c.dump() for c in run.fetchers.crl_fetcher.fetched_crls()))
    return ValidationData(tuple(certificates), tuple(responses), tuple(crls))


def _signer_certificates(
    signed: asn1_cms.SignedData, carried: list[x509.Certificate]
) -> list[x509.Certificate]:
    """The certificates the SignerInfos name by issuer and serial (or key identifier)."""
    found = []
    for info in signed["signer_infos"]:
        sid = info["sid"]
        for certificate in carried:
            cert = _asn1(certificate)
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
    copy["unsigned_attrs"] = asn1_cms.CMSAttributes(kept) if kept else asn1_core.Void()
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


def add_archive_timestamp(signature: bytes | str, stamp: Stamp) -> bytes:
    """The CMS with an archive timestamp (unsigned attribute of every SignerInfo) over
    ``archive_imprint_data``; ``stamp`` gets its SHA-256 digest (cms.Stamp's shape)."""
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
    """The archive timestamp tokens of a CMS (from its first SignerInfo that has any)."""
    signed = _load(signature)
    for info in signed["signer_infos"]:
        unsigned = info["unsigned_attrs"]
        if not _present(unsigned):
            continue
        tokens = [
            value.dump()
            for attribute in unsigned
            if attribute["type"].dotted == ID_ARCHIVE_TIMESTAMP_V2
            for value in attribute["values"]
        ]
        if tokens:
            return tokens
    return []


__all__ = [
    "ID_ARCHIVE_TIMESTAMP_V2",
    "ValidationData",
    "add_archive_timestamp",
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
) -> ValidationReport:
    """``report`` (validate_cms of ``signature``) with each level-T signer raised to LT when the
    signature carries revocation data and the signer's status is known, and to LTA when an
    archive timestamp also stamps the signature as it stands and its TSA validates."""
    data = embedded_validation_data(signature)
    if not data.has_revocation_data:
        return report
    tokens = archive_timestamp_tokens(signature)
    archive: list[TimestampReport] = []
    if tokens:
        carried = [x509.load_der_x509_certificate(d) for d in data.certificates]
        run = _Run(
            anchors,
            [*carried, *intermediates],
            report.policy,
            fetching,
            report.validation_time,
            data.ocsp_responses,
            data.crls,
        )
        imprint = archive_imprint_data(signature)
        archive = [run._tsa_check(*run._token(token, imprint)) for token in tokens]
    signers = []
    for signer in report.signers:
        known = signer.revocation is not None and signer.revocation.status != "unknown"
        if signer.level != "T" or not known:
            signers.append(signer)
            continue
        level: Level = "LTA" if any(stamp.valid for stamp in archive) else "LT"
        notes = [f"an archive timestamp is not valid ({s.problem})" for s in archive if not s.valid]
        signers.append(
            replace(
                signer,
                level=level,
                timestamps=(*signer.timestamps, *archive),
                warnings=(*signer.warnings, *notes),
            )
        )
    return replace(report, signers=tuple(signers))
