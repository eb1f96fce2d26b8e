"""XAdES-BES and XAdES-T (ETSI EN 319 132-1) enveloped XML signatures, and reading them back.

An XAdES signature is the XMLDSig of xmldsig.py plus a ``ds:Object`` holding
``xades:QualifyingProperties``: ``SignedProperties`` (SigningTime, SigningCertificateV2 with the
signer certificate's digest and its IssuerSerial) covered by a second Reference of type
``http://uri.etsi.org/01903#SignedProperties``, and for XAdES-T ``UnsignedProperties`` with a
``SignatureTimeStamp`` over the canonical ``ds:SignatureValue`` element.

Written by hand over xmldsig.py's pieces rather than with signxml's XAdESSigner because:

* signxml signs with a ``cryptography`` private key object; our keys (PKCS#12, PKCS#11 tokens,
  GOST) only sign raw bytes through ``KeyEntry.key.sign``;
* its output is its own serialization of the document; ours keeps the user's text byte for byte
  (xmldsig._splice) and uses the one hardened parser of xmldsig.parse;
* it has no XAdES-T: the SignatureTimeStamp has to be added after SignatureValue anyway.

The XAdES signature is written compact (no whitespace between its elements): the
NCALayer-compatible layout stays the default for portals (xmldsig.sign_xml); XAdES is opt-in.
Core verification (both references, the signature value) stays in xmldsig.verify_xml, which
xmlsec1 agrees with; ``inspect`` adds what XAdES says on top. XAdES-LT and LTA (validation data
and archive timestamps added to a ``Draft`` before it is serialized) are in xades_lt.py.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from . import tsp
from .algorithms import DigestAlgorithm, scheme_for
from .errors import InvalidInput, QalamError
from .keystores import KeyEntry
from .xmldsig import (
    C14N,
    C14N_WITH_COMMENTS,
    DS_NS,
    ENVELOPED_SIGNATURE,
    EXC_C14N,
    _base64_text,
    _canonical,
    _parse_with_text,
    _reference_uri,
    _select,
    _serialize,
    _splice,
    _xml_signature_value,
    parse,
)

XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
XADES141_NS = "http://uri.etsi.org/01903/v1.4.1#"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
Level = Literal["bes", "t"]
# The TSA client's shape (cms.Stamp): a SHA-256 digest in, a TimeStampToken's DER out.
Stamp = Callable[[bytes], bytes]

# Problem codes, shared with cms.py where the meaning is the same.
SIGNING_CERTIFICATE_MISMATCH = "signing_certificate_mismatch"
SIGNED_PROPERTIES_UNREFERENCED = "signed_properties_unreferenced"
TIMESTAMP_INVALID = "timestamp_invalid"
MALFORMED_PROPERTIES = "malformed_attribute"


def _ds(parent: etree._Element, name: str, **attrib: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{DS_NS}}}{name}", attrib)


def _xa(parent: etree._Element, name: str, **attrib: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XADES_NS}}}{name}", attrib)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _issuer_serial_der(certificate: x509.Certificate) -> bytes:
    """RFC 5035 IssuerSerial of a certificate, as SigningCertificateV2's IssuerSerialV2 holds it."""
    cert = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
    issuer = asn1_x509.GeneralNames(
        [asn1_x509.GeneralName(name="directory_name", value=cert.issuer)]
    )
    return bytes(asn1_cms.IssuerSerial({"issuer": issuer, "serial": cert.serial_number}).dump())


def _signed_properties(
    parent: etree._Element, props_id: str, certificate: x509.Certificate, when: datetime
) -> etree._Element:
    signed = _xa(parent, "SignedProperties", Id=props_id)
    signature_props = _xa(signed, "SignedSignatureProperties")
    _xa(signature_props, "SigningTime").text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cert = _xa(_xa(signature_props, "SigningCertificateV2"), "Cert")
    cert_digest = _xa(cert, "CertDigest")
    _ds(cert_digest, "DigestMethod", Algorithm=DigestAlgorithm.SHA256.xml_uri)
    _ds(cert_digest, "DigestValue").text = _b64(
        DigestAlgorithm.SHA256.digest(certificate.public_bytes(Encoding.DER))
    )
    _xa(cert, "IssuerSerialV2").text = _b64(_issuer_serial_der(certificate))
    return signed


@dataclass
class Draft:
    """A XAdES signature appended to its parsed document, before serialization: xades_lt.py
    adds unsigned properties to it in place (digests and stamps are computed in place)."""

    tree: etree._ElementTree
    text: str | None
    signature: etree._Element
    qualifying: etree._Element
    token: str

    def unsigned_signature_properties(self) -> etree._Element:
        """xades:UnsignedSignatureProperties, made when missing."""
        found = _find(self.qualifying, "xades:UnsignedProperties/xades:UnsignedSignatureProperties")
        if found is not None:
            return found
        unsigned = _find(self.qualifying, "xades:UnsignedProperties")
        if unsigned is None:
            unsigned = _xa(self.qualifying, "UnsignedProperties")
        return _xa(unsigned, "UnsignedSignatureProperties")

    def serialize(self) -> str:
        """The signed document: the user's text kept byte for byte where possible."""
        if self.text is not None:
            spliced = _splice(self.text, self.tree.getroot(), self.signature)
            if spliced is not None:
                return spliced
        return _serialize(self.tree, self.signature)


def draft_xades(
    xml: str | bytes,
    entry: KeyEntry,
    *,
    level: Level = "bes",
    stamp: Stamp | None = None,
    tbs_xpath: str = "",
    digest: DigestAlgorithm | None = None,
    signing_time: datetime | None = None,
) -> Draft:
    """sign_xades's signature, not yet serialized (see Draft)."""
    if level == "t" and stamp is None:
        raise InvalidInput("XAdES-T", reason="XAdES-T needs a time-stamping authority")
    tree, text = _parse_with_text(xml)
    scheme = scheme_for(entry.key.algorithm, digest)
    tbs = _select(tree, tbs_xpath, "element to sign")
    uri = _reference_uri(tree, tbs)
    content = _canonical(tree if tbs is None or uri == "" else tbs)
    certificate = x509.load_der_x509_certificate(entry.certificate_der)
    token = secrets.token_hex(8)
    signature_id, props_id = f"xades-sig-{token}", f"xades-props-{token}"

    signature = etree.Element(f"{{{DS_NS}}}Signature", {"Id": signature_id}, nsmap={"ds": DS_NS})
    signed_info = _ds(signature, "SignedInfo")
    _ds(signed_info, "CanonicalizationMethod", Algorithm=C14N)
    _ds(signed_info, "SignatureMethod", Algorithm=scheme.xml_uri)
    reference = _ds(signed_info, "Reference", URI=uri)
    transforms = _ds(reference, "Transforms")
    _ds(transforms, "Transform", Algorithm=ENVELOPED_SIGNATURE)
    _ds(transforms, "Transform", Algorithm=C14N_WITH_COMMENTS)
    _ds(reference, "DigestMethod", Algorithm=scheme.digest.xml_uri)
    _ds(reference, "DigestValue").text = _b64(scheme.digest.digest(content))
    props_ref = _ds(signed_info, "Reference", Type=SIGNED_PROPERTIES_TYPE, URI="#" + props_id)
    _ds(_ds(props_ref, "Transforms"), "Transform", Algorithm=EXC_C14N)
    _ds(props_ref, "DigestMethod", Algorithm=scheme.digest.xml_uri)
    props_digest = _ds(props_ref, "DigestValue")
    signature_value = _ds(signature, "SignatureValue", Id=f"xades-value-{token}")
    _ds(_ds(_ds(signature, "KeyInfo"), "X509Data"), "X509Certificate").text = _b64(
        entry.certificate_der
    )
    qualifying = etree.SubElement(
        _ds(signature, "Object"),
        f"{{{XADES_NS}}}QualifyingProperties",
        {"Target": "#" + signature_id},
        nsmap={"xades": XADES_NS},
    )
    when = signing_time or datetime.now(UTC).replace(microsecond=0)
    signed = _signed_properties(qualifying, props_id, certificate, when)

    root = tree.getroot()
    root.append(signature)
    # Every digest and the signature value are computed in place: inherited namespaces count.
    props_digest.text = _b64(scheme.digest.digest(_canonical(signed, exclusive=True)))
    signature_value.text = _b64(_xml_signature_value(entry, scheme, _canonical(signed_info)))
    draft = Draft(tree, text, signature, qualifying, token)
    if level == "t" and stamp is not None:
        stamped = _canonical(signature_value)
        token_der = stamp(DigestAlgorithm.SHA256.digest(stamped))
        tsp.verify_token(token_der, stamped)  # never embed a token that does not hold
        unsigned = draft.unsigned_signature_properties()
        timestamp = _xa(unsigned, "SignatureTimeStamp", Id=f"xades-ts-{token}")
        _ds(timestamp, "CanonicalizationMethod", Algorithm=C14N)
        _xa(timestamp, "EncapsulatedTimeStamp").text = _b64(token_der)
    return draft


def sign_xades(
    xml: str | bytes,
    entry: KeyEntry,
    *,
    level: Level = "bes",
    stamp: Stamp | None = None,
    tbs_xpath: str = "",
    digest: DigestAlgorithm | None = None,
    signing_time: datetime | None = None,
) -> str:
    """An enveloped XAdES-BES signature (``level`` "t": XAdES-T, ``stamp`` required) appended to
    the root of ``xml``. Raises the errors of xmldsig.sign_xml, and of ``stamp`` and
    tsp.verify_token for a token that does not stamp the signature. LT and LTA: xades_lt.py."""
    return draft_xades(
        xml,
        entry,
        level=level,
        stamp=stamp,
        tbs_xpath=tbs_xpath,
        digest=digest,
        signing_time=signing_time,
    ).serialize()


# -- reading XAdES properties back --------------------------------------------------------------


@dataclass(frozen=True)
class XadesProperties:
    """What XAdES adds to one ds:Signature: the claimed signing time, the signature timestamps
    with the bytes they stamp, and problems found (codes above); all empty for plain XMLDSig."""

    is_xades: bool
    claimed_signing_time: datetime | None = None
    timestamp_tokens: tuple[bytes, ...] = ()
    stamped_data: bytes = b""
    problems: tuple[str, ...] = ()


def _find(element: etree._Element, path: str) -> etree._Element | None:
    return element.find(path, {"ds": DS_NS, "xades": XADES_NS})


def _signing_time(signed: etree._Element) -> datetime | None:
    found = _find(signed, "xades:SignedSignatureProperties/xades:SigningTime")
    if found is None or not found.text:
        return None
    try:
        value = datetime.fromisoformat(found.text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _certificate_matches(signed: etree._Element, certificate: x509.Certificate | None) -> bool:
    """The SigningCertificate(V2) names ``certificate``: same digest and issuer/serial."""
    props = _find(signed, "xades:SignedSignatureProperties")
    holder = None if props is None else _find(props, "xades:SigningCertificateV2")
    if holder is None and props is not None:
        holder = _find(props, "xades:SigningCertificate")
    if holder is None or certificate is None:
        return False
    der = certificate.public_bytes(Encoding.DER)
    for cert in holder.findall(f"{{{XADES_NS}}}Cert"):
        method = _find(cert, "xades:CertDigest/ds:DigestMethod")
        value = _base64_text(_find(cert, "xades:CertDigest/ds:DigestValue"))
        try:
            algorithm = DigestAlgorithm.from_xml_uri(
                method.get("Algorithm", "") if method is not None else ""
            )
        except QalamError:
            continue
        if value is None or not hmac.compare_digest(algorithm.digest(der), value):
            continue
        issuer_serial = _base64_text(_find(cert, "xades:IssuerSerialV2"))
        if issuer_serial is not None and issuer_serial != _issuer_serial_der(certificate):
            continue
        return True
    return False


def _is_referenced(signed_info: etree._Element, signed: etree._Element) -> bool:
    props_id = signed.get("Id")
    for reference in signed_info.iterchildren(f"{{{DS_NS}}}Reference"):
        typed = reference.get("Type") == SIGNED_PROPERTIES_TYPE
        if typed and props_id and reference.get("URI") == "#" + props_id:
            return True
    return False


def _properties(signature: etree._Element, certificate: x509.Certificate | None) -> XadesProperties:
    qualifying = _find(signature, "ds:Object/xades:QualifyingProperties")
    if qualifying is None:
        return XadesProperties(is_xades=False)
    problems: list[str] = []
    signed = _find(qualifying, "xades:SignedProperties")
    signed_info = _find(signature, "ds:SignedInfo")
    claimed = None
    if signed is None or signed_info is None:
        problems.append(MALFORMED_PROPERTIES)
    else:
        if not _is_referenced(signed_info, signed):
            problems.append(SIGNED_PROPERTIES_UNREFERENCED)
        if not _certificate_matches(signed, certificate):
            problems.append(SIGNING_CERTIFICATE_MISMATCH)
        claimed = _signing_time(signed)
    tokens: list[bytes] = []
    path = "xades:UnsignedProperties/xades:UnsignedSignatureProperties/xades:SignatureTimeStamp"
    for stamp in qualifying.findall(path, {"xades": XADES_NS}):
        method = _find(stamp, "ds:CanonicalizationMethod")
        algorithm = method.get("Algorithm", C14N) if method is not None else C14N
        token = _base64_text(_find(stamp, "xades:EncapsulatedTimeStamp"))
        if token is None or algorithm != C14N:
            problems.append(TIMESTAMP_INVALID)
            continue
        tokens.append(token)
    value = _find(signature, "ds:SignatureValue")
    stamped = _canonical(value) if value is not None else b""
    return XadesProperties(True, claimed, tuple(tokens), stamped, tuple(dict.fromkeys(problems)))


def inspect(
    document: str | bytes, certificates: list[x509.Certificate | None] | None = None
) -> list[XadesProperties]:
    """The XAdES properties of every ds:Signature, in document order (xmldsig.verify_xml's
    order); ``certificates`` are the signers core verification found, for SigningCertificate."""
    return inspect_tree(parse(document), certificates)


def inspect_tree(
    tree: etree._ElementTree, certificates: list[x509.Certificate | None] | None = None
) -> list[XadesProperties]:
    """``inspect`` over a document already parsed by xmldsig.parse."""
    signatures = list(tree.getroot().iter(f"{{{DS_NS}}}Signature"))
    found = certificates or [None] * len(signatures)
    return [
        _properties(signature, found[i] if i < len(found) else None)
        for i, signature in enumerate(signatures)
    ]


__all__ = [
    "SIGNED_PROPERTIES_TYPE",
    "SIGNED_PROPERTIES_UNREFERENCED",
    "SIGNING_CERTIFICATE_MISMATCH",
    "XADES141_NS",
    "XADES_NS",
    "Draft",
    "XadesProperties",
    "draft_xades",
    "inspect",
    "inspect_tree",
    "sign_xades",
]
