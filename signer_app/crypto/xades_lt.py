"""XAdES-LT and XAdES-LTA (ETSI EN 319 132-1, XAdES 1.4.1 / TS 101 903 V1.4.1): writing the
validation data and the archive timestamp into a XAdES-T, and validating with them offline.

LT, unsigned signature properties after the SignatureTimeStamp (the signature value and the
signed properties are untouched, so xmlsec1 and every XMLDSig verifier still accept it):

* ``xades:CertificateValues`` / ``xades:EncapsulatedX509Certificate``: the certificates of the
  signer's path, anchor included (EN 319 132-1 "CertificateValues");
* ``xades:RevocationValues`` with ``xades:CRLValues/xades:EncapsulatedCRLValue`` (DER
  CertificateList) and ``xades:OCSPValues/xades:EncapsulatedOCSPValue`` (DER OCSPResponse),
  in the schema's order (CRLValues before OCSPValues), for that path;
* ``xades141:TimeStampValidationData`` (namespace v1.4.1, ``URI`` naming the timestamp it
  serves): the TSA's certificates and revocation data not already given above. Its children
  are the v1.3.2 CertificateValues / RevocationValues, as the 1.4.1 schema's ValidationDataType
  says.

LTA: ``xades141:ArchiveTimeStamp`` (a XAdESTimeStampType: ``ds:CanonicalizationMethod`` then
``xades:EncapsulatedTimeStamp``), over the input TS 101 903 V1.4.1 defines for the "not
distributed case" of the archive time-stamp (EN 319 132-1 carries the same four steps for
``xadesv141:ArchiveTimeStamp``), see ``archive_input``:

1. each ``ds:Reference`` of ``ds:SignedInfo``, in order: the octets its digest was computed
   over (the data object after the reference's transforms: here always canonical octets);
2. ``ds:SignedInfo``, ``ds:SignatureValue`` and ``ds:KeyInfo``, each canonicalized with the
   timestamp's CanonicalizationMethod;
3. every unsigned signature property that comes before this ArchiveTimeStamp, in document
   order, canonicalized the same way (so moving the ArchiveTimeStamp, or adding evidence before
   it, breaks it);
4. every ``ds:Object`` but the one holding ``xades:QualifyingProperties``, canonicalized.

Written by hand over lxml for the reasons of xades.py (no maintained Python library writes
XAdES-LT/LTA over our keys and our byte-for-byte document handling). The network stays out:
collecting goes through the caller's Fetching and the validator's path building
(validation.py), exactly as cades_lt.py does for CMS. Clause numbers are cited by element name
rather than number: the standard's text was not at hand while this was written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from lxml import etree

from . import tsp, xmldsig
from .algorithms import DigestAlgorithm
from .cades_lt import ValidationData
from .errors import InvalidInput
from .keystores import KeyEntry
from .validation import (
    OFFLINE,
    Fetching,
    Level,
    SignerReport,
    TimestampReport,
    ValidationPolicy,
    ValidationReport,
    ValidationRun,
    check_timestamp,
    xml_signers,
)
from .xades import XADES141_NS, XADES_NS, Draft, Stamp, draft_xades
from .xmldsig import C14N, DS_NS, _canonical

LongTermLevel = Literal["lt", "lta"]
NS = {"ds": DS_NS, "xades": XADES_NS, "xades141": XADES141_NS}
_UNSIGNED = "xades:UnsignedProperties/xades:UnsignedSignatureProperties"
_DEFAULT_POLICY = ValidationPolicy()
# Each archive timestamp re-canonicalizes the whole signed document: a document stuffed with
# them must not cost minutes. Renewals come every few years; this many is centuries.
MAX_ARCHIVE_TIMESTAMPS = 16
_STAMP_PATH = (
    f"ds:Object/xades:QualifyingProperties/{_UNSIGNED}/xades:SignatureTimeStamp"
    "/xades:EncapsulatedTimeStamp"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- collecting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class XadesValidationData:
    """What an LT signature embeds: the signer's path data, and the signature timestamps'."""

    signer: ValidationData
    timestamps: ValidationData


def collect_validation_data(
    certificate: x509.Certificate,
    tsa_certs: Sequence[x509.Certificate],
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    fetching: Fetching = OFFLINE,
) -> XadesValidationData:
    """The signer's and each TSA's path to ``anchors`` and the revocation data of every
    certificate on them, fetched over ``fetching`` (give it a fresh cache: what the cache
    already holds is not fetched, so not collected). Paths that cannot be built add nothing:
    the verifier says why later."""
    run = ValidationRun(anchors, [*tsa_certs, *intermediates], fetching=fetching)
    parts: list[ValidationData] = []
    seen_responses: set[bytes] = set()
    seen_crls: set[bytes] = set()
    seen_certs: set[bytes] = set()
    for leaves in ([certificate], tsa_certs):
        certificates: dict[bytes, None] = {}
        for leaf in leaves:
            path = run.path(leaf)
            if path is None:
                continue
            for cert in path.iter_certs(include_root=True):
                if cert.dump() not in seen_certs:
                    certificates[cert.dump()] = None
            run.revocations(path)  # fetches what the path needs
        fetched_responses, fetched_crls = run.fetched_evidence()
        responses = dict.fromkeys(r for r in fetched_responses if r not in seen_responses)
        crls = dict.fromkeys(c for c in fetched_crls if c not in seen_crls)
        seen_certs.update(certificates)
        seen_responses.update(responses)
        seen_crls.update(crls)
        parts.append(ValidationData(tuple(certificates), tuple(responses), tuple(crls)))
    return XadesValidationData(*parts)


# -- writing ------------------------------------------------------------------------------------


def _xa(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XADES_NS}}}{name}")


def _values(parent: etree._Element, data: ValidationData) -> None:
    """CertificateValues and RevocationValues of ``data`` into ``parent`` (when not empty)."""
    if data.certificates:
        values = _xa(parent, "CertificateValues")
        for der in data.certificates:
            _xa(values, "EncapsulatedX509Certificate").text = _b64(der)
    if data.has_revocation_data:
        revocation = _xa(parent, "RevocationValues")
        if data.crls:
            crls = _xa(revocation, "CRLValues")
            for der in data.crls:
                _xa(crls, "EncapsulatedCRLValue").text = _b64(der)
        if data.ocsp_responses:
            responses = _xa(revocation, "OCSPValues")
            for der in data.ocsp_responses:
                _xa(responses, "EncapsulatedOCSPValue").text = _b64(der)


def add_validation_data(draft: Draft, data: XadesValidationData) -> None:
    """LT: the signer's data as CertificateValues / RevocationValues, the TSAs' in a
    TimeStampValidationData naming the (first) signature timestamp."""
    unsigned = draft.unsigned_signature_properties()
    _values(unsigned, data.signer)
    if data.timestamps.certificates or data.timestamps.has_revocation_data:
        stamp = unsigned.find("xades:SignatureTimeStamp", NS)
        stamp_id = stamp.get("Id") if stamp is not None else None
        holder = etree.SubElement(
            unsigned,
            f"{{{XADES141_NS}}}TimeStampValidationData",
            {"Id": f"xades-tsvd-{draft.token}", **({"URI": "#" + stamp_id} if stamp_id else {})},
            nsmap={"xades141": XADES141_NS},
        )
        _values(holder, data.timestamps)


def add_archive_timestamp(draft: Draft, stamp: Stamp) -> None:
    """LTA: an ArchiveTimeStamp over ``archive_input`` as the signature stands now."""
    tree, signature = draft.tree, draft.signature
    unsigned = draft.unsigned_signature_properties()
    archive = etree.Element(
        f"{{{XADES141_NS}}}ArchiveTimeStamp",
        {"Id": f"xades-ats-{draft.token}"},
        nsmap={"xades141": XADES141_NS},
    )
    etree.SubElement(archive, f"{{{DS_NS}}}CanonicalizationMethod", {"Algorithm": C14N})
    encapsulated = _xa(archive, "EncapsulatedTimeStamp")
    unsigned.append(archive)  # in place first: step 3 stops at it, namespaces are inherited
    data = archive_input(tree, signature, archive)
    if data is None:  # not reached: our own references always resolve
        raise InvalidInput("XAdES-LTA", reason="the signature's references do not resolve")
    token = stamp(hashlib.sha256(data).digest())
    tsp.verify_token(token, data)  # never embed a token that does not hold
    encapsulated.text = _b64(token)


def sign_xades_long_term(
    xml: str | bytes,
    entry: KeyEntry,
    *,
    level: LongTermLevel,
    stamp: Stamp,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    fetching: Fetching = OFFLINE,
    tbs_xpath: str = "",
    digest: DigestAlgorithm | None = None,
) -> str:
    """A XAdES-T (xades.sign_xades) made XAdES-LT ("lt": the paths and revocation data fetched
    now over ``fetching``, embedded) or XAdES-LTA ("lta": LT plus an ArchiveTimeStamp from
    ``stamp``). Raises InvalidInput for another level, and the errors of xades.sign_xades."""
    if level not in ("lt", "lta"):
        raise InvalidInput(str(level), reason="the long-term level is lt or lta")
    draft = draft_xades(xml, entry, level="t", stamp=stamp, tbs_xpath=tbs_xpath, digest=digest)
    value = draft.signature.find("ds:SignatureValue", NS)
    stamped = _canonical(value) if value is not None else b""
    tokens = (_base64(e) for e in draft.signature.iterfind(_STAMP_PATH, NS))
    data = collect_validation_data(
        x509.load_der_x509_certificate(entry.certificate_der),
        [tsp.verify_token(t, stamped).tsa_certificate for t in tokens if t is not None],
        anchors=anchors,
        intermediates=intermediates,
        fetching=fetching,
    )
    add_validation_data(draft, data)
    if level == "lta":
        add_archive_timestamp(draft, stamp)
    return draft.serialize()


# -- reading ------------------------------------------------------------------------------------


def _base64(element: etree._Element | None) -> bytes | None:
    if element is None or not element.text:
        return None
    try:
        return base64.b64decode("".join(element.text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _unsigned(signature: etree._Element) -> etree._Element | None:
    return signature.find(f"ds:Object/xades:QualifyingProperties/{_UNSIGNED}", NS)


def _loads(kind: str, der: bytes) -> bool:
    """The DER parses as ``kind`` (an unreadable value is left out, never crashes a check)."""
    try:
        if kind == "certificate":
            x509.load_der_x509_certificate(der)
        elif kind == "ocsp":
            asn1_ocsp.OCSPResponse.load(der).native  # noqa: B018 - parse it all now
        else:
            asn1_crl.CertificateList.load(der).native  # noqa: B018
    except (ValueError, TypeError, KeyError):
        return False
    return True


def _read_values(holder: etree._Element) -> ValidationData:
    def found(path: str, kind: str) -> tuple[bytes, ...]:
        values = (_base64(e) for e in holder.iterfind(path, NS))
        return tuple(dict.fromkeys(v for v in values if v is not None and _loads(kind, v)))

    return ValidationData(
        found("xades:CertificateValues/xades:EncapsulatedX509Certificate", "certificate"),
        found("xades:RevocationValues/xades:OCSPValues/xades:EncapsulatedOCSPValue", "ocsp"),
        found("xades:RevocationValues/xades:CRLValues/xades:EncapsulatedCRLValue", "crl"),
    )


def embedded_validation_data(signature: etree._Element) -> ValidationData:
    """Every certificate, OCSP response and CRL one ds:Signature carries in its unsigned
    properties (CertificateValues, RevocationValues, TimeStampValidationData)."""
    unsigned = _unsigned(signature)
    if unsigned is None:
        return ValidationData()
    parts = [_read_values(unsigned)]
    parts += [_read_values(h) for h in unsigned.iterfind("xades141:TimeStampValidationData", NS)]
    return ValidationData(
        tuple(dict.fromkeys(d for p in parts for d in p.certificates)),
        tuple(dict.fromkeys(d for p in parts for d in p.ocsp_responses)),
        tuple(dict.fromkeys(d for p in parts for d in p.crls)),
    )


def _reference_octets(
    tree: etree._ElementTree,
    signature: etree._Element,
    everyone: Sequence[etree._Element],
    element: etree._Element,
) -> bytes | None:
    """Step 1: the octets ``element`` (a ds:Reference) was digested over; None when no reading
    of the document gives its DigestValue (then the signature itself does not verify)."""
    try:
        ref = xmldsig._read_reference(tree.getroot(), element)
    except xmldsig._Problem:
        return None
    for removed in xmldsig._removal_candidates(signature, everyone, ref.enveloped):
        outer = xmldsig._outermost(removed)
        if ref.target is not None and any(xmldsig._is_within(ref.target, r) for r in outer):
            continue
        with xmldsig._removed(outer):
            node = tree if ref.target is None else ref.target
            content = _canonical(node, exclusive=ref.exclusive, prefixes=ref.prefixes)
        if hmac.compare_digest(ref.digest.digest(content), ref.expected):
            return content
    return None


def archive_input(
    tree: etree._ElementTree, signature: etree._Element, archive: etree._Element
) -> bytes | None:
    """The octets an ArchiveTimeStamp stamps (steps 1-4 of the module's text); None when a
    reference does not resolve or the canonicalization is not the one we read (C14N 1.0)."""
    method = archive.find("ds:CanonicalizationMethod", NS)
    if (method.get("Algorithm") if method is not None else C14N) != C14N:
        return None
    everyone = list(tree.getroot().iter(f"{{{DS_NS}}}Signature"))
    parts: list[bytes] = []
    signed_info = signature.find("ds:SignedInfo", NS)
    if signed_info is None:
        return None
    for reference in signed_info.iterchildren(f"{{{DS_NS}}}Reference"):
        octets = _reference_octets(tree, signature, everyone, reference)
        if octets is None:
            return None
        parts.append(octets)
    for name in ("SignedInfo", "SignatureValue", "KeyInfo"):
        found = signature.find(f"ds:{name}", NS)
        if found is not None:
            parts.append(_canonical(found))
    unsigned = archive.getparent()
    if unsigned is None or unsigned is not _unsigned(signature):
        return None  # an ArchiveTimeStamp outside the signature's unsigned properties
    for prop in unsigned.iterchildren():
        if prop is archive:
            break
        if isinstance(prop.tag, str):
            parts.append(_canonical(prop))
    for obj in signature.iterfind("ds:Object", NS):
        if obj.find("xades:QualifyingProperties", NS) is None:
            parts.append(_canonical(obj))
    return b"".join(parts)


# -- validating ---------------------------------------------------------------------------------


def validate_xades(
    document: bytes | str,
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    policy: ValidationPolicy = _DEFAULT_POLICY,
    fetching: Fetching = OFFLINE,
    now: datetime | None = None,
) -> ValidationReport:
    """validation.validate_xml with what XAdES-LT/LTA embed: their certificates and revocation
    data are used beside fetching (offline: judged at the timestamp's time, source "embedded"),
    and a level-T signer is raised to LT (revocation data embedded, status known) or LTA (an
    ArchiveTimeStamp stamps the signature as it stands and its TSA validates)."""
    tree = xmldsig.parse(document)
    signatures = list(tree.getroot().iter(f"{{{DS_NS}}}Signature"))
    if len(signatures) > xmldsig.MAX_SIGNATURES:  # before any of their evidence is read
        reason = f"the XML holds more than {xmldsig.MAX_SIGNATURES} signatures"
        raise InvalidInput(f"{len(signatures)} signatures", reason=reason)
    embedded = [embedded_validation_data(s) for s in signatures]
    run = ValidationRun(
        anchors,
        [
            *(x509.load_der_x509_certificate(d) for e in embedded for d in e.certificates),
            *intermediates,
        ],
        policy=policy,
        fetching=fetching,
        now=now,
        ocsp_responses=[d for e in embedded for d in e.ocsp_responses],
        crls=[d for e in embedded for d in e.crls],
    )
    # xml_signers reports the signatures in document order, as they are listed here.
    signers = xml_signers(run, tree)
    reports = [
        _long_term(run, tree, element, data, signer)
        for element, data, signer in zip(signatures, embedded, signers, strict=True)
    ]
    return run.report("xml", False, reports)


def _long_term(
    run: ValidationRun,
    tree: etree._ElementTree,
    element: etree._Element,
    data: ValidationData,
    signer: SignerReport,
) -> SignerReport:
    """One signer with its archive timestamps judged (a proof of existence when nothing
    earlier proves it), raised to LT (revocation data embedded, status known) or LTA (it has
    ArchiveTimeStamps, and every one stamps the signature as it stands and its TSA validates:
    the rule CAdES follows, cades_lt._levelled)."""
    if not data.has_revocation_data:
        return signer
    archive = _archive_reports(run, tree, element)
    if archive:
        signer = run.at_archive_time(signer, archive, xml=True)
    known = signer.revocation is not None and signer.revocation.status != "unknown"
    level: Level | None = signer.level
    if signer.level == "T" and known:
        level = "LTA" if archive and all(stamp.valid for stamp in archive) else "LT"
    notes = [f"an archive timestamp is not valid ({a.problem})" for a in archive if not a.valid]
    return replace(
        signer,
        level=level,
        timestamps=(*signer.timestamps, *archive),
        warnings=(*signer.warnings, *notes),
    )


def _archive_reports(
    run: ValidationRun, tree: etree._ElementTree, signature: etree._Element
) -> list[TimestampReport]:
    unsigned = _unsigned(signature)
    if unsigned is None:
        return []
    reports = []
    archives = list(unsigned.iterfind("xades141:ArchiveTimeStamp", NS))
    if len(archives) > MAX_ARCHIVE_TIMESTAMPS:
        problem = f"more than {MAX_ARCHIVE_TIMESTAMPS} archive timestamps: none is checked"
        return [TimestampReport(None, False, None, problem=problem, kind="archive")]
    for archive in archives:
        token = _base64(archive.find("xades:EncapsulatedTimeStamp", NS))
        data = archive_input(tree, signature, archive)
        if token is None or data is None:
            reason = "unreadable" if token is None else "its input cannot be computed"
            reports.append(TimestampReport(None, False, None, problem=reason, kind="archive"))
            continue
        reports.append(run.judge_timestamp(check_timestamp(token, data), "archive"))
    return reports


__all__ = [
    "XadesValidationData",
    "add_archive_timestamp",
    "add_validation_data",
    "archive_input",
    "collect_validation_data",
    "embedded_validation_data",
    "sign_xades_long_term",
    "validate_xades",
]
