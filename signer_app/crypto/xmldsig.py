"""XML signatures as NCALayer makes them (signXml, signXmls), and their verification.

The signature is an enveloped XMLDSig laid out byte for byte like NCALayer's (shared/PROTOCOL.md
§6.3, and a Kalkan-signed example in NCANode's documentation): an XML declaration with
``standalone="no"``, the user's document, and a ``ds:``-prefixed ``Signature`` appended
as the last child of the root (or of the element ``parent_xpath`` selects), with a line break
between its elements and inside the base64 of SignatureValue and X509Certificate (76 columns).

The user's document is their own text byte for byte (only the XML declaration is replaced)
when the Signature goes into the root element, the usual case; when it goes deeper the document
is written back by lxml without reformatting (whitespace, comments and CDATA kept; attribute
quotes and empty tags normalized), much as NCALayer's DOM serializer does.

Line breaks: NCALayer's DOM holds "\\n" in those text nodes, signs that, and its serializer writes
"\\r\\n" on the wire. Any parser turns a literal "\\r\\n" back into "\\n" (XML 1.0 §2.11), so a
verifier canonicalizes "\\n" again and the signature holds. We do the same: the tree holds "\\n"
while digests and the signature are computed; only the Signature's own bytes get "\\r\\n" when
written out. (Signing text nodes holding "\\r" instead would canonicalize to "&#xD;" and no
verifier could ever reproduce it from the CRLF output.)

The Signature is built by hand with lxml because signxml cannot produce this layout: it writes
no whitespace between the Signature's elements, has no CRLF line breaks and picks its own
serialization of the signed document. Verification is ours too (over lxml's Canonical XML),
because signxml's XMLVerifier does not fit what NCALayer produces and what portals send back:

* it checks one signature per call, while KZ documents carry several signers, each appended
  after the others and each covering the document as it was (NCANode checks the last signature,
  removes it, then checks the one before: see ``verify_xml``);
* for ``URI=""`` with ``c14n#WithComments`` it digests the comments, but a same-document
  reference drops comment nodes before any transform (XMLDSig §4.3.3.3); Kalkan, xmlsec1 and
  we follow the spec, so signxml reports a digest mismatch on any document with a comment;
* it re-serializes the Signature out of its document before canonicalizing SignedInfo, which
  loses an ``xml:lang`` (or other ``xml:*`` attribute) inherited from the root, so it reports a
  bad signature that xmlsec1 accepts (both checked when this module was written);
* it rejects certificates outside their validity period: time and chain are validation.py's
  business, this module answers only "does the cryptography hold".

Parsing is in one place, ``parse``: no DTD of any kind (billion laughs, XXE), no network, no
XInclude, no entity expansion, a size cap.

Choices where NCALayer's behaviour is not documented:

* ``tbs_xpath`` selects the element to sign. If it carries an ``Id`` (or ``ID``, ``id``,
  ``xml:id``) attribute the Reference is ``URI="#<id>"`` (which is what a same-document
  reference can name); the root element without an id, ``"/"`` and ``""`` mean the whole
  document, ``URI=""``. Any other element without an id is refused (InvalidInput) rather than
  silently signing more, or less, than asked. The transforms stay the same (enveloped, then
  c14n#WithComments), so the Signature may also sit inside the signed element.
* XPath prefixes resolve against the root element's namespace declarations, as Xalan's
  ``XPathAPI`` does in NCALayer; the first element matched is used.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from lxml import etree

from .algorithms import DigestAlgorithm, KeyAlgorithm, SignatureScheme, scheme_for
from .algorithms import scheme_from_xml_uri as _scheme_from_xml_uri
from .errors import (
    ForbiddenXml,
    InvalidInput,
    MalformedXml,
    UnsupportedAlgorithm,
    XmlTargetNotFound,
)
from .keystores import KeyEntry, hash_for
from .publickeys import public_key_of, signature_ok

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_WITH_COMMENTS = C14N + "#WithComments"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS = EXC_C14N + "WithComments"
ENVELOPED_SIGNATURE = DS_NS + "enveloped-signature"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
# "ncalayer": commonUtils.signXml's layout (CRLF between elements, base64 in 76 columns);
# "compact": basics.sign's on NCALayer 1.4 (one line, unbroken base64).
Layout = Literal["ncalayer", "compact"]

# Bigger documents are not signing requests; the WebSocket layer has its own, smaller, limit.
MAX_XML_SIZE = 64 << 20
MAX_XPATH_LENGTH = 4096
# Each signature may canonicalize the whole document a few times: bound the work a document
# can ask for. Real documents carry a handful of signers with one reference each.
MAX_SIGNATURES = 100
MAX_REFERENCES = 16

# Attributes a same-document reference may name, in the order they are looked for.
ID_ATTRIBUTES = ("Id", "ID", "id", f"{{{XML_NS}}}id")

_XINCLUDE_TAGS = ("{http://www.w3.org/2001/XInclude}*", "{http://www.w3.org/2003/XInclude}*")

# canonicalization URI -> (exclusive, with comments)
_C14N_METHODS = {
    C14N: (False, False),
    C14N_WITH_COMMENTS: (False, True),
    EXC_C14N: (True, False),
    EXC_C14N_WITH_COMMENTS: (True, True),
}

# The problem codes of XmlSignatureResult; stable once released, like error codes.
MALFORMED_SIGNATURE = "malformed_signature"
CERTIFICATE_MISSING = "certificate_missing"
CERTIFICATE_UNREADABLE = "certificate_unreadable"
UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
UNSUPPORTED_TRANSFORM = "unsupported_transform"
UNSUPPORTED_REFERENCE = "unsupported_reference"
REFERENCE_NOT_FOUND = "reference_not_found"
REFERENCE_AMBIGUOUS = "reference_ambiguous"
DIGEST_MISMATCH = "digest_mismatch"
BAD_SIGNATURE = "bad_signature"

PROBLEMS = (
    MALFORMED_SIGNATURE,
    CERTIFICATE_MISSING,
    CERTIFICATE_UNREADABLE,
    UNSUPPORTED_ALGORITHM,
    UNSUPPORTED_TRANSFORM,
    UNSUPPORTED_REFERENCE,
    REFERENCE_NOT_FOUND,
    REFERENCE_AMBIGUOUS,
    DIGEST_MISMATCH,
    BAD_SIGNATURE,
)


@dataclass(frozen=True)
class XmlSignatureResult:
    """One ds:Signature of a document: who signed (if the certificate is there) and whether it
    holds; ``problems`` lists codes from PROBLEMS, empty when valid."""

    certificate: x509.Certificate | None
    valid: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class XmlVerification:
    """Every signature of a document, in document order."""

    signatures: tuple[XmlSignatureResult, ...]

    @property
    def valid(self) -> bool:
        """At least one signature, and every one of them holds."""
        return bool(self.signatures) and all(s.valid for s in self.signatures)


# --------------------------------------------------------------------------------------------
# Parsing


class _DoctypeFound(Exception):
    """Raised from the probing parser's target when the document declares a DOCTYPE."""


class _DoctypeProbe:
    """A parser target that only watches for a DOCTYPE (used when the real parse failed)."""

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        raise _DoctypeFound

    def start(self, tag: str | bytes, attrib: dict[str | bytes, str | bytes]) -> None:
        """Elements are not of interest."""

    def end(self, tag: str | bytes) -> None:
        """Elements are not of interest."""

    def data(self, data: str | bytes) -> None:
        """Text is not of interest."""

    def comment(self, text: str | bytes) -> None:
        """Comments are not of interest."""

    def close(self) -> None:
        """Nothing to return."""


def _new_parser(text_input: bool, target: _DoctypeProbe | None = None) -> etree.XMLParser:
    return etree.XMLParser(
        # Text was encoded to UTF-8 by us, whatever its XML declaration says.
        encoding="utf-8" if text_input else None,
        target=target,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        collect_ids=False,
    )


# lxml parsers must not be shared between threads: one pair per thread.
_local = threading.local()


def _parser(text_input: bool) -> etree.XMLParser:
    name = "text_parser" if text_input else "bytes_parser"
    parser: etree.XMLParser | None = getattr(_local, name, None)
    if parser is None:
        parser = _new_parser(text_input)
        setattr(_local, name, parser)
    return parser


def _input_bytes(xml: str | bytes) -> tuple[bytes, str | None]:
    """The bytes to parse, and the text they came from when the caller gave text."""
    if isinstance(xml, str):
        stripped = xml.strip()  # whitespace before an XML declaration is an error
        text: str | None = stripped
        try:
            data = stripped.encode("utf-8")
        except UnicodeEncodeError:
            reason = "the XML text holds unpaired surrogates"
            raise InvalidInput("XML text", reason=reason) from None
    elif isinstance(xml, bytes | bytearray | memoryview):
        data = bytes(xml)
        text = None
    else:
        raise InvalidInput(type(xml).__name__, reason="XML must be text or bytes")
    if not data.strip():
        raise InvalidInput("empty XML", reason="the XML is empty")
    if len(data) > MAX_XML_SIZE:
        limit = MAX_XML_SIZE >> 20
        raise InvalidInput(f"{len(data)} bytes", reason=f"the XML is larger than {limit} MiB")
    return data, text


def _syntax_reason(exc: etree.XMLSyntaxError) -> str:
    # The exception's own message and position: the error log of a reused parser can still
    # hold entries of an earlier document.
    line, column = exc.position
    message = re.sub(r",? line \d+, column \d+$", "", exc.msg or "").strip() or "not well-formed"
    return f"lineNumber: {line}; columnNumber: {column}; {message}"


def _has_doctype(data: bytes, text_input: bool) -> bool:
    try:
        etree.fromstring(data, _new_parser(text_input, _DoctypeProbe()))
    except _DoctypeFound:
        return True
    except etree.XMLSyntaxError:
        return False
    return False


def parse(xml: str | bytes) -> etree._ElementTree:
    """The one way Qalam parses XML: well-formed, no DTD, no entities, no XInclude, no network.

    Raises InvalidInput (empty, too large, not text or bytes), ForbiddenXml (any DOCTYPE, which
    is what billion-laughs and XXE need, or XInclude) or MalformedXml (with the parser's line and
    column in ``reason``).
    """
    return _parse_with_text(xml)[0]


def _parse_with_text(xml: str | bytes) -> tuple[etree._ElementTree, str | None]:
    """``parse``, plus the document's text when it is at hand (given as text, or UTF-8 bytes)."""
    data, text = _input_bytes(xml)
    text_input = text is not None
    try:
        root = etree.fromstring(data, _parser(text_input))
    except etree.XMLSyntaxError as exc:
        # An entity bomb or an external entity can fail the parse before we see the DOCTYPE;
        # a second, event-only parse tells refused from merely broken.
        if _has_doctype(data, text_input):
            raise ForbiddenXml("DOCTYPE") from None
        raise MalformedXml("XML syntax", reason=_syntax_reason(exc)) from None
    tree = root.getroottree()
    # (lxml-stubs lack DocInfo.doctype; it is "" when the document has none)
    if getattr(tree.docinfo, "doctype", "") or tree.docinfo.internalDTD is not None:
        raise ForbiddenXml("DOCTYPE")
    if next(root.iter(*_XINCLUDE_TAGS), None) is not None:
        raise ForbiddenXml("XInclude")
    if text is None and (tree.docinfo.encoding or "").upper() in ("UTF-8", "UTF8", "US-ASCII"):
        text = data.decode("utf-8-sig")
    return tree, text


# --------------------------------------------------------------------------------------------
# Canonical XML


def _inherited_xml_attributes(element: etree._Element) -> dict[str, str]:
    """xml:* attributes in scope from ancestors that ``element`` does not set itself.

    Canonical XML 1.0 renders them on the apex of a document subset (§2.4); lxml's element
    c14n does not, so we add them for the duration of the call.
    """
    found: dict[str, str] = {}
    prefix = f"{{{XML_NS}}}"
    for ancestor in element.iterancestors():
        for name, value in ancestor.attrib.items():
            key = str(name)
            if key.startswith(prefix) and key not in found and key not in element.attrib:
                found[key] = str(value)
    return found


def _canonical(
    node: etree._Element | etree._ElementTree,
    *,
    exclusive: bool = False,
    with_comments: bool = False,
    prefixes: Sequence[str] | None = None,
) -> bytes:
    """Canonical XML 1.0 (or exclusive c14n) of a whole document or of one element's subtree."""
    prefix_list = list(prefixes) if prefixes and exclusive else None
    if isinstance(node, etree._ElementTree) or exclusive:
        return etree.tostring(
            node,
            method="c14n",
            exclusive=exclusive,
            with_comments=with_comments,
            inclusive_ns_prefixes=prefix_list,
        )
    inherited = _inherited_xml_attributes(node)
    for name, value in inherited.items():
        node.set(name, value)
    try:
        return etree.tostring(node, method="c14n", with_comments=with_comments)
    finally:
        for name in inherited:
            del node.attrib[name]


# --------------------------------------------------------------------------------------------
# Signing


def _ds(parent: etree._Element, name: str, compact: bool, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{DS_NS}}}{name}", attrib)
    element.tail = None if compact else "\n"
    return element


def _wrapped_base64(data: bytes, compact: bool = False) -> str:
    """Base64 in 76-column lines, with a line break before and after, as NCALayer's signXml
    writes it; one unbroken line when ``compact`` (basics.sign on NCALayer 1.4)."""
    if compact:
        return base64.b64encode(data).decode("ascii")
    return "\n" + base64.encodebytes(data).decode("ascii")


def _compile_xpath(expression: str, tree: etree._ElementTree) -> etree.XPath:
    if len(expression) > MAX_XPATH_LENGTH:
        reason = f"the XPath is longer than {MAX_XPATH_LENGTH} characters"
        raise InvalidInput("XPath", reason=reason)
    namespaces = {k: v for k, v in tree.getroot().nsmap.items() if k}
    try:
        # No EXSLT regular expressions: a page must not get to run a regex of its choosing.
        return etree.XPath(expression, namespaces=namespaces, regexp=False, smart_strings=False)
    except etree.XPathError as exc:
        raise InvalidInput(expression, reason=f"not a valid XPath: {expression} ({exc})") from None


def _select(tree: etree._ElementTree, expression: str, what: str) -> etree._Element | None:
    """The first element ``expression`` matches; None for the document itself ("" or "/")."""
    expression = expression.strip()
    if expression in ("", "/"):
        return None
    xpath = _compile_xpath(expression, tree)
    try:
        found = xpath(tree)
    except etree.XPathError as exc:
        raise InvalidInput(expression, reason=f"not a valid XPath: {expression} ({exc})") from None
    if isinstance(found, list):
        for item in found:
            if isinstance(item, etree._Element) and isinstance(item.tag, str):
                return item
    raise XmlTargetNotFound(f"{what}: {expression}")


def _element_id(element: etree._Element) -> str | None:
    for name in ID_ATTRIBUTES:
        value = element.get(name)
        if value is not None:
            return value
    return None


def _elements_with_id(root: etree._Element, value: str) -> list[etree._Element]:
    # Compared in Python, never spliced into an XPath: an id is the document's text.
    return [
        element
        for element in root.iter()
        if isinstance(element.tag, str) and any(element.get(n) == value for n in ID_ATTRIBUTES)
    ]


def _reference_uri(tree: etree._ElementTree, tbs: etree._Element | None) -> str:
    root = tree.getroot()
    if tbs is None:
        return ""
    value = _element_id(tbs)
    if value is None:
        if tbs is root:
            return ""
        raise InvalidInput(
            "tbs element has no Id",
            reason="the element to sign has no Id attribute for the signature to point at",
        )
    if len(_elements_with_id(root, value)) != 1:
        reason = f"the Id {value} of the element to sign is not unique"
        raise InvalidInput(f"Id {value!r} not unique", reason=reason)
    return "#" + value


def _xml_signature_value(entry: KeyEntry, scheme: SignatureScheme, data: bytes) -> bytes:
    signature = entry.key.sign(data, scheme.digest)
    if scheme.key_algorithm is KeyAlgorithm.EC:
        # XMLDSig wants ECDSA as r || s, each padded to the curve's size (RFC 4050 §3.3).
        r, s = decode_dss_signature(signature)
        size = (entry.key.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    # RSA as is; GOST as in CMS, NCA's r || s little-endian (what Kalkan writes in XML is not
    # confirmed on a real NCA GOST XML signature yet: shared/ has none).
    return signature


@functools.lru_cache(maxsize=32)
def _signature_template(signature_uri: str, digest_uri: str, compact: bool) -> bytes:
    """The ds:Signature skeleton for one pair of algorithms, with a line feed wherever NCALayer
    puts a line break (none when ``compact``). Built once and parsed per signature: several
    times cheaper than building it element by element."""
    newline = None if compact else "\n"
    signature = etree.Element(f"{{{DS_NS}}}Signature", nsmap={"ds": DS_NS})
    signature.text = newline
    signed_info = _ds(signature, "SignedInfo", compact)
    signed_info.text = newline
    _ds(signed_info, "CanonicalizationMethod", compact, Algorithm=C14N)
    _ds(signed_info, "SignatureMethod", compact, Algorithm=signature_uri)
    reference = _ds(signed_info, "Reference", compact, URI="")
    reference.text = newline
    transforms = _ds(reference, "Transforms", compact)
    transforms.text = newline
    _ds(transforms, "Transform", compact, Algorithm=ENVELOPED_SIGNATURE)
    _ds(transforms, "Transform", compact, Algorithm=C14N_WITH_COMMENTS)
    _ds(reference, "DigestMethod", compact, Algorithm=digest_uri)
    _ds(reference, "DigestValue", compact)
    _ds(signature, "SignatureValue", compact)
    key_info = _ds(signature, "KeyInfo", compact)
    key_info.text = newline
    x509_data = _ds(key_info, "X509Data", compact)
    x509_data.text = newline
    _ds(x509_data, "X509Certificate", compact)
    if compact:
        signature.tail = None
    return etree.tostring(signature)


@functools.lru_cache(maxsize=16)
def _certificate_text(certificate_der: bytes, compact: bool) -> str:
    """The X509Certificate text of a certificate: the same for every document a key signs."""
    return _wrapped_base64(certificate_der, compact)


def _build_signature(
    scheme: SignatureScheme, uri: str, digest_value: bytes, certificate_der: bytes, compact: bool
) -> tuple[etree._Element, etree._Element, etree._Element]:
    """A filled-in ds:Signature but for its value: (signature, signed info, signature value)."""
    template = _signature_template(scheme.xml_uri, scheme.digest.xml_uri, compact)
    signature = etree.fromstring(template, _parser(False))
    signed_info, signature_value, key_info = signature  # the template's three children
    reference = signed_info[2]
    reference.set("URI", uri)
    reference[2].text = base64.b64encode(digest_value).decode("ascii")  # DigestValue
    key_info[0][0].text = _certificate_text(certificate_der, compact)  # X509Data/X509Certificate
    return signature, signed_info, signature_value


def _serialize(tree: etree._ElementTree, signature: etree._Element) -> str:
    """The document with the Signature written the way NCALayer's serializer writes it.

    lxml escapes a "\\r" in text as "&#13;", so the Signature is swapped for a unique processing
    instruction, the document is serialized, and the Signature's own bytes (ours alone: base64,
    algorithm URIs and an id lxml has escaped) go in its place with "\\r\\n" line breaks. The
    tree keeps the marker: it is not used again.
    """
    parent = signature.getparent()
    if parent is None:
        raise ValueError("the signature is not in the document")
    while True:
        marker = etree.ProcessingInstruction("qalam-signature", secrets.token_hex(16))
        marker_bytes = etree.tostring(marker)
        parent.replace(signature, marker)
        body = etree.tostring(tree, encoding="UTF-8", xml_declaration=False)
        if body.count(marker_bytes) == 1:
            break
        parent.replace(marker, signature)  # the user's document holds our marker: draw again
    # Detached, the Signature serializes with its own namespace declaration only.
    own = etree.tostring(signature, encoding="UTF-8", with_tail=False).replace(b"\n", b"\r\n")
    return XML_DECLARATION + body.replace(marker_bytes, own).decode("utf-8")


# The XML declaration (and a byte order mark, and whitespace) at the start of a document.
_PROLOG_START = re.compile(r"\A\ufeff?(?:<\?xml\s[^>]*\?>)?\s*")
_END_TAG = re.compile(r"</([^\s>]+)\s*>")


def _splice(text: str, root: etree._Element, signature: etree._Element) -> str | None:
    """The caller's own text with the Signature written in before the root's end tag.

    Byte for byte the user's document (only the XML declaration is NCALayer's); None when the
    text does not end with the root's end tag (``<root/>``, comments after the root), in which
    case the document is serialized instead.
    """
    body = _PROLOG_START.sub("", text, count=1)
    content_end = len(body.rstrip())
    start = body.rfind("</", 0, content_end)
    end_tag = _END_TAG.fullmatch(body, start, content_end) if start >= 0 else None
    local = etree.QName(root).localname
    qname = f"{root.prefix}:{local}" if root.prefix else local
    if end_tag is None or end_tag.group(1) != qname or root.getnext() is not None:
        return None
    root.remove(signature)  # detached, it serializes with its own namespace declaration only
    own = etree.tostring(signature, encoding="unicode").replace("\n", "\r\n")
    return XML_DECLARATION + body[:start] + own + body[start:]


def _sign_tree(
    tree: etree._ElementTree,
    text: str | None,
    entry: KeyEntry,
    tbs_xpath: str,
    parent_xpath: str,
    digest: DigestAlgorithm | None,
    layout: Layout = "ncalayer",
) -> str:
    compact = layout == "compact"
    scheme = scheme_for(entry.key.algorithm, digest)
    tbs = _select(tree, tbs_xpath, "element to sign")
    parent = _select(tree, parent_xpath, "signature parent")
    if parent is None:
        parent = tree.getroot()
    uri = _reference_uri(tree, tbs)
    # The Signature is not in the tree yet, which is exactly what the enveloped-signature
    # transform leaves; the dereferenced node-set holds no comments (XMLDSig §4.3.3.3).
    content = _canonical(tree if tbs is None or uri == "" else tbs)
    signature, signed_info, signature_value = _build_signature(
        scheme, uri, scheme.digest.digest(content), entry.certificate_der, compact
    )
    parent.append(signature)
    # SignedInfo is signed as it sits in the document: the namespaces (and xml:* attributes)
    # of the user's elements above it are part of its canonical form.
    value = _xml_signature_value(entry, scheme, _canonical(signed_info))
    signature_value.text = _wrapped_base64(value, compact)
    root = tree.getroot()
    if text is not None and parent is root:
        spliced = _splice(text, root, signature)
        if spliced is not None:
            return spliced
    return _serialize(tree, signature)


def sign_xml(
    xml: str | bytes,
    entry: KeyEntry,
    *,
    tbs_xpath: str = "",
    parent_xpath: str = "",
    digest: DigestAlgorithm | None = None,
    layout: Layout = "ncalayer",
) -> str:
    """Sign ``xml`` with an enveloped XMLDSig laid out as NCALayer's signXml lays it out.

    ``tbs_xpath`` selects what is signed ("" for the whole document, see the module docstring),
    ``parent_xpath`` where the Signature goes ("" for the root element), ``digest`` overrides
    the key family's default digest. Raises the errors of ``parse``, XmlTargetNotFound when an
    XPath selects no element, InvalidInput for a bad XPath or an element without an id, and
    UnsupportedAlgorithm when the key and digest have no XML signature URI. ``layout``
    "compact" writes the Signature on one line with unbroken base64, as basics.sign does on
    NCALayer 1.4 (PROTOCOL.md §7.2: portals that re-parse and drop whitespace need it).
    """
    tree, text = _parse_with_text(xml)
    return _sign_tree(tree, text, entry, tbs_xpath, parent_xpath, digest, layout)


def sign_xmls(
    xmls: Sequence[str | bytes],
    entry: KeyEntry,
    *,
    tbs_xpath: str = "",
    parent_xpath: str = "",
    digest: DigestAlgorithm | None = None,
    layout: Layout = "ncalayer",
) -> list[str]:
    """signXmls: every document signed with the same key, in the same order (``layout`` as
    in ``sign_xml``). All documents are parsed before the first is signed, so a bad one costs
    no signature.
    """
    if isinstance(xmls, str | bytes):
        raise InvalidInput(type(xmls).__name__, reason="expected a list of XML documents")
    parsed = [_parse_with_text(xml) for xml in xmls]
    return [
        _sign_tree(tree, text, entry, tbs_xpath, parent_xpath, digest, layout)
        for tree, text in parsed
    ]


# --------------------------------------------------------------------------------------------
# Verification


def _child(element: etree._Element, name: str) -> etree._Element | None:
    return element.find(f"{{{DS_NS}}}{name}")


def _base64_text(element: etree._Element | None) -> bytes | None:
    if element is None:
        return None
    try:
        return base64.b64decode("".join((element.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _signature_verifies(
    certificate: x509.Certificate, scheme: SignatureScheme, value: bytes, data: bytes
) -> bool:
    key = public_key_of(certificate)
    if scheme.key_algorithm is KeyAlgorithm.EC and isinstance(key, ec.EllipticCurvePublicKey):
        # XMLDSig carries ECDSA as r || s (RFC 4050 §3.3); the key checks DER.
        size = (key.curve.key_size + 7) // 8
        if len(value) != 2 * size:
            return False
        value = encode_dss_signature(
            int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")
        )
    return signature_ok(key, scheme.key_algorithm, value, data, hash_for(scheme.digest))


@contextmanager
def _removed(elements: Sequence[etree._Element]) -> Iterator[None]:
    """Take Signature elements out of the tree for the length of a digest computation.

    Each is swapped for a comment holding its tail text: references are canonicalized without
    comments, so the result is the node-set minus those elements, their text neighbours intact.
    """
    swapped: list[tuple[etree._Element, etree._Element]] = []
    try:
        for element in elements:
            parent = element.getparent()
            if parent is None:
                continue
            placeholder: etree._Element = etree.Comment("removed signature")
            placeholder.tail = element.tail
            parent.replace(element, placeholder)
            swapped.append((placeholder, element))
        yield
    finally:
        for placeholder, element in reversed(swapped):
            holder = placeholder.getparent()
            if holder is not None:
                holder.replace(placeholder, element)


def _is_within(node: etree._Element, container: etree._Element) -> bool:
    return node is container or any(a is container for a in node.iterancestors())


def _outermost(elements: Sequence[etree._Element]) -> list[etree._Element]:
    chosen = []
    for element in elements:
        if not any(other is not element and _is_within(element, other) for other in elements):
            chosen.append(element)
    return chosen


class _Problem(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class _Reference:
    target: etree._Element | None  # None: the whole document
    enveloped: bool
    exclusive: bool
    prefixes: tuple[str, ...]
    digest: DigestAlgorithm
    expected: bytes


def _parse_transforms(reference: etree._Element) -> tuple[bool, bool, tuple[str, ...]]:
    enveloped = False
    c14n: str | None = None
    prefixes: tuple[str, ...] = ()
    transforms = _child(reference, "Transforms")
    for transform in () if transforms is None else transforms.iterchildren(f"{{{DS_NS}}}Transform"):
        algorithm = transform.get("Algorithm", "")
        if algorithm == ENVELOPED_SIGNATURE and not enveloped and c14n is None:
            enveloped = True
        elif algorithm in _C14N_METHODS and c14n is None:
            c14n = algorithm
            prefixes = _inclusive_prefixes(transform)
        else:
            raise _Problem(UNSUPPORTED_TRANSFORM)
    exclusive = _C14N_METHODS[c14n][0] if c14n else False
    return enveloped, exclusive, prefixes


def _inclusive_prefixes(method: etree._Element) -> tuple[str, ...]:
    for child in method:
        if isinstance(child.tag, str) and etree.QName(child).localname == "InclusiveNamespaces":
            return tuple(child.get("PrefixList", "").split())
    return ()


def _read_reference(root: etree._Element, reference: etree._Element) -> _Reference:
    uri = reference.get("URI")
    target: etree._Element | None
    if uri == "":
        target = None
    elif uri is not None and uri.startswith("#") and not uri.startswith("#xpointer("):
        matches = _elements_with_id(root, uri[1:])
        if not matches:
            raise _Problem(REFERENCE_NOT_FOUND)
        if len(matches) > 1:
            raise _Problem(REFERENCE_AMBIGUOUS)  # the signature-wrapping attack's shape
        target = matches[0]
    else:
        raise _Problem(UNSUPPORTED_REFERENCE)  # external or XPointer: never fetched
    enveloped, exclusive, prefixes = _parse_transforms(reference)
    method = _child(reference, "DigestMethod")
    if method is None:
        raise _Problem(MALFORMED_SIGNATURE)
    try:
        digest = DigestAlgorithm.from_xml_uri(method.get("Algorithm", ""))
    except UnsupportedAlgorithm:
        raise _Problem(UNSUPPORTED_ALGORITHM) from None
    expected = _base64_text(_child(reference, "DigestValue"))
    if expected is None:
        raise _Problem(MALFORMED_SIGNATURE)
    return _Reference(target, enveloped, exclusive, prefixes, digest, expected)


def _digest_matches(
    tree: etree._ElementTree, ref: _Reference, removed: Sequence[etree._Element]
) -> bool:
    outer = _outermost(removed)
    if ref.target is not None and any(_is_within(ref.target, r) for r in outer):
        content = b""  # the referenced element went with a removed signature
    else:
        with _removed(outer):
            node = tree if ref.target is None else ref.target
            content = _canonical(node, exclusive=ref.exclusive, prefixes=ref.prefixes)
    return hmac.compare_digest(ref.digest.digest(content), ref.expected)


def _removal_candidates(
    signature: etree._Element, everyone: Sequence[etree._Element], enveloped: bool
) -> list[list[etree._Element]]:
    """Which signatures a reference may have been computed without, most literal first.

    1. only itself (the enveloped-signature transform, as xmlsec1 and Santuario read it);
    2. itself and every signature after it: a document signed by A, then by B over A's
       signed document (NCALayer appends; NCANode checks the last, removes it, and so on);
    3. itself and every other signature: signers who each signed the bare document and whose
       signatures were merged afterwards.
    Only whole ds:Signature elements are ever left out, so no other content goes unsigned.
    """
    own = [signature] if enveloped else []
    others = [s for s in everyone if s is not signature and not _is_within(signature, s)]
    position = everyone.index(signature)
    later = [s for s in others if everyone.index(s) > position]
    candidates = [own]
    for extra in (later, others):
        candidate = own + extra
        if candidate not in candidates:  # lxml elements compare by identity
            candidates.append(candidate)
    return candidates


def _certificates(signature: etree._Element) -> list[x509.Certificate]:
    path = f"{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate"
    elements = signature.findall(path)
    if not elements:
        raise _Problem(CERTIFICATE_MISSING)
    certificates = []
    for element in elements:
        der = _base64_text(element)
        try:
            certificates.append(x509.load_der_x509_certificate(der or b""))
        except ValueError:
            continue
    if not certificates:
        raise _Problem(CERTIFICATE_UNREADABLE)
    return certificates


def _verify_signature(
    tree: etree._ElementTree, signature: etree._Element, everyone: Sequence[etree._Element]
) -> XmlSignatureResult:
    problems: list[str] = []
    try:
        certificates = _certificates(signature)
    except _Problem as problem:
        certificates = []
        problems.append(problem.code)
    signer = certificates[0] if certificates else None

    signed_info = _child(signature, "SignedInfo")
    value = _base64_text(_child(signature, "SignatureValue"))
    if signed_info is None or value is None:
        return XmlSignatureResult(signer, False, (*problems, MALFORMED_SIGNATURE))

    # SignatureValue over SignedInfo, canonicalized in place.
    method = _child(signed_info, "CanonicalizationMethod")
    signature_method = _child(signed_info, "SignatureMethod")
    c14n = _C14N_METHODS.get(method.get("Algorithm", "")) if method is not None else None
    scheme: SignatureScheme | None = None
    try:
        scheme = _scheme_from_xml_uri(
            signature_method.get("Algorithm", "") if signature_method is not None else ""
        )
    except UnsupportedAlgorithm:
        problems.append(UNSUPPORTED_ALGORITHM)
    if c14n is None or method is None:
        problems.append(UNSUPPORTED_ALGORITHM)
    elif scheme is not None and certificates:
        exclusive, with_comments = c14n
        data = _canonical(
            signed_info,
            exclusive=exclusive,
            with_comments=with_comments,
            prefixes=_inclusive_prefixes(method),
        )
        verifying = [c for c in certificates if _signature_verifies(c, scheme, value, data)]
        if verifying:
            signer = verifying[0]
        else:
            problems.append(BAD_SIGNATURE)

    # Each Reference's digest, over the same SignedInfo element that was checked above.
    references = list(signed_info.iterchildren(f"{{{DS_NS}}}Reference"))
    if not references:
        problems.append(REFERENCE_NOT_FOUND)
    if len(references) > MAX_REFERENCES:
        problems.append(MALFORMED_SIGNATURE)
        references = []
    for element in references:
        try:
            ref = _read_reference(tree.getroot(), element)
        except _Problem as problem:
            problems.append(problem.code)
            continue
        candidates = _removal_candidates(signature, everyone, ref.enveloped)
        if not any(_digest_matches(tree, ref, removed) for removed in candidates):
            problems.append(DIGEST_MISMATCH)

    unique = tuple(dict.fromkeys(problems))
    return XmlSignatureResult(signer, not unique, unique)


def verify_xml(xml: str | bytes) -> XmlVerification:
    """Check every ds:Signature of a document: digests, signature values, embedded certificate.

    Only the cryptography: whether the certificate is trusted, valid at the signing time and
    not revoked is validation.py's question. A document without signatures verifies to an
    empty, invalid result. Raises the errors of ``parse``, and InvalidInput for a document with
    more than MAX_SIGNATURES signatures.
    """
    return verify_tree(parse(xml))


def verify_tree(tree: etree._ElementTree) -> XmlVerification:
    """``verify_xml`` over a document already parsed by ``parse`` (left as it was found), for
    a caller that reads the same document further."""
    everyone = list(tree.getroot().iter(f"{{{DS_NS}}}Signature"))
    if len(everyone) > MAX_SIGNATURES:
        reason = f"the XML holds more than {MAX_SIGNATURES} signatures"
        raise InvalidInput(f"{len(everyone)} signatures", reason=reason)
    return XmlVerification(tuple(_verify_signature(tree, s, everyone) for s in everyone))


__all__ = [
    "BAD_SIGNATURE",
    "CERTIFICATE_MISSING",
    "CERTIFICATE_UNREADABLE",
    "DIGEST_MISMATCH",
    "DS_NS",
    "MALFORMED_SIGNATURE",
    "MAX_REFERENCES",
    "MAX_SIGNATURES",
    "MAX_XML_SIZE",
    "PROBLEMS",
    "REFERENCE_AMBIGUOUS",
    "REFERENCE_NOT_FOUND",
    "UNSUPPORTED_ALGORITHM",
    "UNSUPPORTED_REFERENCE",
    "UNSUPPORTED_TRANSFORM",
    "XML_DECLARATION",
    "XmlSignatureResult",
    "XmlVerification",
    "parse",
    "sign_xml",
    "sign_xmls",
    "verify_tree",
    "verify_xml",
]
