"""XML signatures: NCALayer's signXml layout, verification, and the safe parser."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml import SignatureMethod, XMLSigner, XMLVerifier

from signer_app.crypto import xmldsig
from signer_app.crypto.algorithms import DigestAlgorithm, scheme_for
from signer_app.crypto.errors import (
    ForbiddenXml,
    InvalidInput,
    MalformedXml,
    XmlTargetNotFound,
)
from signer_app.crypto.keystores import KeyEntry, SoftwareKey
from signer_app.crypto.xmldsig import (
    XML_DECLARATION,
    parse,
    sign_xml,
    sign_xmls,
    verify_xml,
)

DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"ds": DS}

# A small e-gov style request: namespaces, attributes, Cyrillic and Kazakh text, a comment.
REQUEST = (
    '<req:Request xmlns:req="urn:kz:gov:egov:request" xmlns:ppl="urn:kz:gov:egov:people">\n'
    "  <!-- запрос справки -->\n"
    '  <req:Header messageId="a1b2" date="2024-05-01T10:00:00+05:00"/>\n'
    '  <req:Data Id="data">\n'
    "    <ppl:Person><ppl:IIN>850101300124</ppl:IIN>"
    "<ppl:Name>ЖҰМАБЕКОВ АСХАТ</ppl:Name></ppl:Person>\n"
    "    <req:Purpose>Анықтама алу үшін &amp; для банка</req:Purpose>\n"
    "  </req:Data>\n"
    "</req:Request>"
)


B64 = "[A-Za-z0-9+/=]"


@pytest.fixture(scope="module")
def ec_sign(demo) -> KeyEntry:
    """The demo citizen's ECDSA P-256 SIGN key."""
    return demo["citizen_ec_sign"].open()


@pytest.fixture(scope="module")
def ceo_sign(demo) -> KeyEntry:
    """The demo company head's SIGN key."""
    return demo["ceo_sign"].open()


def _signature_of(signed: str, index: int = -1) -> etree._Element:
    return parse(signed).getroot().findall(".//ds:Signature", NS)[index]


def _without_signatures(signed: str) -> str:
    return re.sub(r"<ds:Signature .*?</ds:Signature>", "", signed, flags=re.S)


def _problems(signed: str | bytes) -> tuple[str, ...]:
    (result,) = verify_xml(signed).signatures
    return result.problems


def _edit(signed: str, change) -> bytes:
    """Reparse a signed document, apply ``change`` to its tree, write it back."""
    tree = parse(signed)
    change(tree.getroot())
    return etree.tostring(tree, encoding="UTF-8")


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("key_id", ["citizen_sign", "citizen_ec_sign"])
def test_signed_document_verifies_with_the_signers_certificate(demo, key_id):
    entry = demo[key_id].open()
    result = verify_xml(sign_xml(REQUEST, entry))
    assert result.valid
    (signature,) = result.signatures
    assert signature.problems == ()
    assert signature.certificate == entry.certificate


def test_bytes_and_text_input_sign_the_same_document(citizen_sign):
    from_text = sign_xml(REQUEST, citizen_sign)
    from_bytes = sign_xml(REQUEST.encode("utf-8"), citizen_sign)
    assert _without_signatures(from_text) == _without_signatures(from_bytes)
    assert verify_xml(from_bytes).valid


def test_text_with_a_foreign_encoding_declaration_is_read_as_the_text_it_is(citizen_sign):
    document = '<?xml version="1.0" encoding="windows-1251"?><a>Қазақ тілі</a>'
    signed = sign_xml(document, citizen_sign)
    assert signed.startswith(XML_DECLARATION + "<a>Қазақ тілі<ds:Signature")
    assert verify_xml(signed).valid


def test_windows_1251_bytes_are_decoded_by_their_declaration(citizen_sign):
    data = '<?xml version="1.0" encoding="windows-1251"?><a>Привет</a>'.encode("cp1251")
    signed = sign_xml(data, citizen_sign)
    assert "<a>Привет<ds:Signature" in signed
    assert verify_xml(signed).valid


def test_output_starts_with_ncalayers_xml_declaration(citizen_sign):
    signed = sign_xml("<tag>data</tag>", citizen_sign)
    assert signed.startswith('<?xml version="1.0" encoding="UTF-8" standalone="no"?><tag>data')


def test_signature_is_the_last_child_of_the_root_with_the_ds_prefix(citizen_sign):
    signed = sign_xml(REQUEST, citizen_sign)
    root = parse(signed).getroot()
    assert root[-1].tag == f"{{{DS}}}Signature"
    assert root[-1].prefix == "ds"
    assert signed.endswith("</ds:Signature></req:Request>")


def test_signature_is_laid_out_line_by_line_as_ncalayer_writes_it(citizen_sign):
    signed = sign_xml("<tag>data</tag>", citizen_sign)
    lines = (
        XML_DECLARATION,
        '<tag>data<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">\r\n',
        "<ds:SignedInfo>\r\n",
        '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        "\r\n",
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>\r\n',
        '<ds:Reference URI="">\r\n',
        "<ds:Transforms>\r\n",
        '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>\r\n',
        '<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/>'
        "\r\n",
        "</ds:Transforms>\r\n",
        '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>\r\n',
        f"<ds:DigestValue>{B64}{{44}}</ds:DigestValue>\r\n",
        "</ds:Reference>\r\n",
        "</ds:SignedInfo>\r\n",
        f"<ds:SignatureValue>\r\n(?:{B64}{{76}}\r\n)*{B64}{{1,76}}\r\n</ds:SignatureValue>\r\n",
        "<ds:KeyInfo>\r\n",
        "<ds:X509Data>\r\n",
        f"<ds:X509Certificate>\r\n(?:{B64}{{76}}\r\n)*{B64}{{1,76}}\r\n</ds:X509Certificate>\r\n",
        "</ds:X509Data>\r\n",
        "</ds:KeyInfo>\r\n",
        "</ds:Signature></tag>",
    )
    pattern = "".join(line if "{" in line and B64 in line else re.escape(line) for line in lines)
    assert re.fullmatch(pattern, signed), signed


def test_embedded_certificate_is_the_signers_der(citizen_sign):
    signed = sign_xml("<a/>", citizen_sign)
    text = _signature_of(signed).findtext(".//ds:X509Certificate", namespaces=NS)
    assert base64.b64decode("".join(text.split())) == citizen_sign.certificate_der


def test_ecdsa_signature_value_is_r_and_s_side_by_side(ec_sign):
    signed = sign_xml("<a/>", ec_sign)
    text = _signature_of(signed).findtext("ds:SignatureValue", namespaces=NS)
    assert len(base64.b64decode("".join(text.split()))) == 64  # P-256: 32 + 32 bytes, not DER


@pytest.mark.parametrize(
    ("key_id", "digest"),
    [
        ("citizen_sign", None),
        ("citizen_sign", DigestAlgorithm.SHA512),
        ("citizen_ec_sign", None),
        ("citizen_ec_sign", DigestAlgorithm.SHA384),
    ],
)
def test_algorithm_uris_come_from_the_scheme_table(demo, key_id, digest):
    entry = demo[key_id].open()
    signed = sign_xml("<a>1</a>", entry, digest=digest)
    scheme = scheme_for(entry.key.algorithm, digest)
    signature = _signature_of(signed)
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", NS)
    digest_method = signature.find(".//ds:DigestMethod", NS)
    assert method.get("Algorithm") == scheme.xml_uri
    assert digest_method.get("Algorithm") == scheme.digest.xml_uri
    assert verify_xml(signed).valid


def test_users_document_is_kept_byte_for_byte(citizen_sign):
    document = (
        "<!-- before -->\n<r xmlns='urn:x'>\r\n\t<a  x='1' >one&#x41;</a><e></e>\n"
        "  <!-- note --><![CDATA[<raw>]]>\n  <b>two\n\nlines</b>\n</r >"
    )
    signed = sign_xml('<?xml version="1.0" encoding="windows-1251"?>\n' + document, citizen_sign)
    assert _without_signatures(signed) == XML_DECLARATION + document
    assert signed.endswith("</ds:Signature></r >")
    assert verify_xml(signed).valid


def test_signature_in_an_inner_element_rewrites_the_document_without_reformatting(
    citizen_sign,
):
    document = "<r>\n\t<a  x='1'>one</a>\n  <!-- note -->\n  <b/>\n</r>"
    signed = sign_xml(document, citizen_sign, parent_xpath="/r/b")
    expected = '<r>\n\t<a x="1">one</a>\n  <!-- note -->\n  <b></b>\n</r>'
    assert _without_signatures(signed) == XML_DECLARATION + expected
    assert verify_xml(signed).valid


@pytest.mark.parametrize(
    "document",
    ["<r/>", "<r><a/></r><!-- after -->", "<r><a/></r><?after?>", "<p:r xmlns:p='urn:p'/>"],
)
def test_documents_that_do_not_end_with_the_root_end_tag_are_signed_too(citizen_sign, document):
    signed = sign_xml(document, citizen_sign)
    assert parse(signed).getroot()[-1].tag == f"{{{DS}}}Signature"
    assert verify_xml(signed).valid


def test_comments_do_not_count_in_the_digest_as_a_same_document_reference_says(citizen_sign):
    signed = sign_xml("<r><!--one--><a>1</a></r>", citizen_sign)
    assert verify_xml(signed.replace("<!--one-->", "<!--two-->")).valid


# ---------------------------------------------------------------- tbs_xpath and parent_xpath


def test_tbs_xpath_signs_the_element_by_its_id(citizen_sign):
    signed = sign_xml(REQUEST, citizen_sign, tbs_xpath="/req:Request/req:Data")
    reference = _signature_of(signed).find(".//ds:Reference", NS)
    assert reference.get("URI") == "#data"
    assert verify_xml(signed).valid
    # What lies outside the signed element is not covered, what lies inside is.
    assert verify_xml(signed.replace('messageId="a1b2"', 'messageId="zzzz"')).valid
    assert _problems(signed.replace("850101300124", "850101300125")) == ("digest_mismatch",)


def test_tbs_xpath_of_an_element_without_id_is_refused(citizen_sign):
    with pytest.raises(InvalidInput, match="no Id"):
        sign_xml(REQUEST, citizen_sign, tbs_xpath="//req:Purpose")


def test_tbs_xpath_with_a_duplicated_id_is_refused(citizen_sign):
    with pytest.raises(InvalidInput, match="not unique"):
        sign_xml('<r><a Id="x"/><b Id="x"/></r>', citizen_sign, tbs_xpath="/r/a")


@pytest.mark.parametrize("xpath", ["", "/", "/*", "/req:Request"])
def test_tbs_xpath_of_the_document_or_its_root_signs_the_whole_document(citizen_sign, xpath):
    signed = sign_xml(REQUEST, citizen_sign, tbs_xpath=xpath)
    assert _signature_of(signed).find(".//ds:Reference", NS).get("URI") == ""
    assert verify_xml(signed).valid


def test_parent_xpath_puts_the_signature_last_in_that_element(citizen_sign):
    signed = sign_xml("<r><a>1</a><b/><c/></r>", citizen_sign, parent_xpath="/r/b")
    signature = _signature_of(signed)
    assert signature.getparent().tag == "b"
    assert verify_xml(signed).valid


def test_signature_inside_the_signed_element_is_left_out_by_the_enveloped_transform(
    citizen_sign,
):
    signed = sign_xml(
        REQUEST, citizen_sign, tbs_xpath="//req:Data", parent_xpath="//req:Data/ppl:Person"
    )
    assert _signature_of(signed).getparent().tag == "{urn:kz:gov:egov:people}Person"
    assert verify_xml(signed).valid


def test_xpath_that_matches_nothing_is_target_not_found(citizen_sign):
    with pytest.raises(XmlTargetNotFound):
        sign_xml(REQUEST, citizen_sign, tbs_xpath="/req:Request/req:Missing")
    with pytest.raises(XmlTargetNotFound):
        sign_xml(REQUEST, citizen_sign, parent_xpath="count(//*)")


@pytest.mark.parametrize("xpath", ["/r/[", "///", "/unknown:prefix"])
def test_invalid_xpath_is_invalid_input(citizen_sign, xpath):
    with pytest.raises(InvalidInput, match="XPath"):
        sign_xml("<r/>", citizen_sign, parent_xpath=xpath)


# ---------------------------------------------------------------- what verification reports


def test_tampered_text_node_is_a_digest_mismatch(citizen_sign):
    signed = sign_xml(REQUEST, citizen_sign)
    result = verify_xml(signed.replace("ЖҰМАБЕКОВ АСХАТ", "ЖҰМАБЕКОВ АСХАД"))
    assert not result.valid
    assert result.signatures[0].problems == ("digest_mismatch",)


@pytest.mark.parametrize("key_id", ["citizen_sign", "citizen_ec_sign"])
def test_tampered_signature_value_is_a_bad_signature(demo, key_id):
    signed = sign_xml(REQUEST, demo[key_id].open())

    def flip(root):
        value = root.find(".//ds:SignatureValue", NS)
        raw = bytearray(base64.b64decode("".join(value.text.split())))
        raw[len(raw) // 2] ^= 0x01
        value.text = base64.b64encode(bytes(raw)).decode()

    assert _problems(_edit(signed, flip)) == ("bad_signature",)


def test_tampered_signed_info_is_a_bad_signature(citizen_sign):
    signed = sign_xml("<r><a>1</a></r>", citizen_sign)

    def other_digest(root):
        value = root.find(".//ds:DigestValue", NS)
        value.text = base64.b64encode(b"\0" * 32).decode()

    assert set(_problems(_edit(signed, other_digest))) == {"bad_signature", "digest_mismatch"}


def test_signature_without_certificate_reports_certificate_missing(citizen_sign):
    signed = sign_xml("<r/>", citizen_sign)

    def drop(root):
        key_info = root.find(".//ds:KeyInfo", NS)
        key_info.getparent().remove(key_info)

    result = verify_xml(_edit(signed, drop)).signatures[0]
    assert result.certificate is None
    assert result.problems == ("certificate_missing",)


def test_unreadable_certificate_is_reported(citizen_sign):
    signed = sign_xml("<r/>", citizen_sign)

    def garble(root):
        root.find(".//ds:X509Certificate", NS).text = "AAAA"

    assert _problems(_edit(signed, garble)) == ("certificate_unreadable",)


def test_unknown_signature_algorithm_is_unsupported(citizen_sign):
    signed = sign_xml("<r/>", citizen_sign)
    tampered = signed.replace("xmldsig-more#rsa-sha256", "xmldsig-more#rsa-md5")
    assert "unsupported_algorithm" in _problems(tampered)


def test_unknown_transform_is_unsupported(citizen_sign):
    signed = sign_xml("<r/>", citizen_sign)
    tampered = signed.replace(
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/TR/1999/REC-xslt-19991116",
    )
    assert "unsupported_transform" in _problems(tampered)


def test_reference_to_a_missing_id_is_not_found(citizen_sign):
    signed = sign_xml(REQUEST, citizen_sign, tbs_xpath="//req:Data")
    assert "reference_not_found" in _problems(signed.replace('Id="data"', 'Id="other"'))


def test_reference_to_a_duplicated_id_is_ambiguous(citizen_sign):
    signed = sign_xml(REQUEST, citizen_sign, tbs_xpath="//req:Data")
    wrapped = signed.replace("<req:Header ", '<req:Header Id="data" ')
    assert "reference_ambiguous" in _problems(wrapped)


def test_external_reference_is_never_fetched(citizen_sign):
    signed = sign_xml("<r/>", citizen_sign)
    tampered = signed.replace('URI=""', 'URI="file:///etc/passwd"')
    assert "unsupported_reference" in _problems(tampered)


def test_document_with_too_many_signatures_is_refused():
    empty = f'<ds:Signature xmlns:ds="{DS}"/>'
    with pytest.raises(InvalidInput, match="signatures"):
        verify_xml("<r>" + empty * (xmldsig.MAX_SIGNATURES + 1) + "</r>")


def test_document_without_signature_does_not_verify():
    result = verify_xml("<r><a>1</a></r>")
    assert result.signatures == ()
    assert not result.valid


# ---------------------------------------------------------------- several signers


def test_document_signed_twice_by_two_people_has_two_valid_signatures(citizen_sign, ceo_sign):
    once = sign_xml(REQUEST, citizen_sign)
    twice = sign_xml(once, ceo_sign)
    result = verify_xml(twice)
    assert result.valid
    assert [s.certificate for s in result.signatures] == [
        citizen_sign.certificate,
        ceo_sign.certificate,
    ]


def test_changing_a_twice_signed_document_breaks_both_signatures(citizen_sign, ceo_sign):
    twice = sign_xml(sign_xml(REQUEST, citizen_sign), ceo_sign)
    result = verify_xml(twice.replace("850101300124", "850101300125"))
    assert [s.problems for s in result.signatures] == [("digest_mismatch",)] * 2


def test_second_signer_covers_the_first_signature(citizen_sign, ceo_sign):
    twice = sign_xml(sign_xml(REQUEST, citizen_sign), ceo_sign)

    def drop_first(root):
        first = root.findall("ds:Signature", NS)[0]
        root.remove(first)

    (second,) = verify_xml(_edit(twice, drop_first)).signatures
    assert second.problems == ("digest_mismatch",)


def test_three_signers_in_turn_all_verify(citizen_sign, ceo_sign, ec_sign):
    signed = REQUEST
    for entry in (citizen_sign, ceo_sign, ec_sign):
        signed = sign_xml(signed, entry)
    result = verify_xml(signed)
    assert len(result.signatures) == 3
    assert result.valid


def test_signatures_of_the_same_element_by_id_verify_side_by_side(citizen_sign, ceo_sign):
    signed = REQUEST
    for entry in (citizen_sign, ceo_sign):
        signed = sign_xml(signed, entry, tbs_xpath="//req:Data")
    assert verify_xml(signed).valid


def test_sign_xmls_signs_each_document_in_order(citizen_sign):
    signed = sign_xmls(["<a>1</a>", "<a>2</a>"], citizen_sign)
    assert [_without_signatures(s) for s in signed] == [
        XML_DECLARATION + "<a>1</a>",
        XML_DECLARATION + "<a>2</a>",
    ]
    assert all(verify_xml(s).valid for s in signed)


def test_sign_xmls_refuses_a_single_string(citizen_sign):
    with pytest.raises(InvalidInput):
        sign_xmls("<a>1</a>", citizen_sign)


def test_sign_xmls_fails_on_a_bad_document_before_signing_any(citizen_sign):
    with pytest.raises(MalformedXml):
        sign_xmls(["<a>1</a>", "<a>"], citizen_sign)


# ---------------------------------------------------------------- other implementations


def test_signxml_accepts_our_signature_of_a_plain_document(citizen_sign):
    signed = sign_xml("<r><a>Сәлем</a></r>", citizen_sign)
    XMLVerifier().verify(signed.encode("utf-8"), x509_cert=citizen_sign.certificate)


@pytest.mark.parametrize(
    ("key_id", "method"),
    [
        ("citizen_sign", SignatureMethod.RSA_SHA256),
        ("citizen_ec_sign", SignatureMethod.ECDSA_SHA256),
    ],
)
@pytest.mark.parametrize(
    "c14n",
    [
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    ],
)
def test_our_verifier_accepts_a_signature_made_by_signxml(demo, key_id, method, c14n):
    entry = demo[key_id].open()
    assert isinstance(entry.key, SoftwareKey)
    cert_pem = entry.certificate.public_bytes(serialization.Encoding.PEM)
    signer = XMLSigner(signature_algorithm=method, digest_algorithm="sha256", c14n_algorithm=c14n)
    root = etree.fromstring('<r xmlns="urn:x" xmlns:u="urn:u"><a>Сәлем</a></r>')
    signed = etree.tostring(
        signer.sign(root, key=entry.key.private_key, cert=[cert_pem]), encoding="UTF-8"
    )
    assert verify_xml(signed).valid
    assert _problems(signed.replace("Сәлем".encode(), "Салем".encode())) == ("digest_mismatch",)


def test_canonical_xml_11_is_not_supported_yet(citizen_sign):
    # signxml's default; lxml has no C14N 1.1, and NCALayer never uses it.
    cert_pem = citizen_sign.certificate.public_bytes(serialization.Encoding.PEM)
    signer = XMLSigner(signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm="sha256")
    signed = signer.sign(
        etree.fromstring("<r/>"), key=citizen_sign.key.private_key, cert=[cert_pem]
    )
    assert "unsupported_algorithm" in _problems(etree.tostring(signed))


# ---------------------------------------------------------------- the parser


def test_not_well_formed_xml_reports_the_line_and_column():
    with pytest.raises(MalformedXml) as caught:
        parse("<this>is not a valid XML")
    reason = caught.value.params["reason"]
    assert reason.startswith("lineNumber: 1; columnNumber: 25;")
    assert "this" in reason


def test_mismatched_tags_report_where_they_are():
    with pytest.raises(MalformedXml) as caught:
        parse("<a>\n  <b></c>\n</a>")
    assert "lineNumber: 2;" in caught.value.params["reason"]


@pytest.mark.parametrize("empty", ["", "   \n", b"", b"\n"])
def test_empty_input_is_invalid_input(empty):
    with pytest.raises(InvalidInput):
        parse(empty)


def test_input_of_another_type_is_invalid_input():
    with pytest.raises(InvalidInput):
        parse(42)  # type: ignore[arg-type]


def test_oversized_input_is_refused_before_parsing():
    with pytest.raises(InvalidInput, match="MiB"):
        parse(b"<a>" + b" " * xmldsig.MAX_XML_SIZE + b"</a>")


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n<lolz>&lol9;</lolz>"
)


def test_billion_laughs_is_refused():
    with pytest.raises(ForbiddenXml):
        parse(BILLION_LAUGHS)


@pytest.mark.parametrize(
    "document",
    [
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x a="&e;"/>',
        '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><x/>',
        '<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
    ],
)
def test_external_entities_are_refused_and_never_read(citizen_sign, document):
    with pytest.raises(ForbiddenXml) as caught:
        sign_xml(document, citizen_sign)
    assert "root:" not in str(caught.value) + caught.value.detail


def test_any_doctype_is_refused_even_a_harmless_one():
    with pytest.raises(ForbiddenXml):
        parse("<!DOCTYPE a><a/>")


def test_doctype_text_inside_cdata_is_just_text(citizen_sign):
    signed = sign_xml("<a><![CDATA[<!DOCTYPE html>]]></a>", citizen_sign)
    assert "<![CDATA[<!DOCTYPE html>]]>" in signed
    assert verify_xml(signed).valid


def test_xinclude_is_refused_not_processed():
    with pytest.raises(ForbiddenXml):
        parse(
            '<a xmlns:xi="http://www.w3.org/2001/XInclude">'
            '<xi:include href="file:///etc/passwd" parse="text"/></a>'
        )


def test_verify_uses_the_same_safe_parser():
    with pytest.raises(ForbiddenXml):
        verify_xml(BILLION_LAUGHS)


# ---------------------------------------------------------------- any text at all

XML_TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8",
        exclude_categories=("Cs",),
        exclude_characters="\ufffe\uffff",
    ).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20),
    max_size=60,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=XML_TEXT)
def test_any_text_content_signs_verifies_and_breaks_when_changed(citizen_sign, text):
    root = etree.Element("doc")
    etree.SubElement(root, "value").text = text
    signed = sign_xml(etree.tostring(root, encoding="unicode"), citizen_sign)
    assert verify_xml(signed).valid
    assert (parse(signed).getroot().findtext("value") or "") == text

    def change(tree_root):
        element = tree_root.find("value")
        element.text = (element.text or "") + "."

    assert _problems(_edit(signed, change)) == ("digest_mismatch",)


NAMES = st.sampled_from(["a", "b", "p:c", "Данные", "x_1"])


@st.composite
def documents(draw, depth: int = 0) -> etree._Element:
    """Small documents: namespaced and Cyrillic names, attributes, text, tails, comments."""
    name = draw(NAMES)
    tag = "{urn:p}" + name[2:] if name.startswith("p:") else name
    element = etree.Element(tag, nsmap={"p": "urn:p"} if depth == 0 else None)
    for attribute in draw(st.lists(st.sampled_from(["k", "Id2", "ат"]), unique=True, max_size=2)):
        element.set(attribute, draw(XML_TEXT))
    element.text = draw(XML_TEXT)
    if depth < 2:
        for _ in range(draw(st.integers(0, 3))):
            # A comment has no escapes: a "\r" in it cannot survive any serialisation, so no
            # parsed document holds one.
            child = (
                etree.Comment(draw(XML_TEXT).replace("-", "_").replace("\r", " ") or "c")
                if draw(st.booleans())
                else draw(documents(depth + 1))
            )
            child.tail = draw(XML_TEXT)
            element.append(child)
    return element


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(root=documents(), pretty=st.booleans())
def test_any_document_signs_and_verifies(citizen_sign, root, pretty):
    document = etree.tostring(root, encoding="unicode", pretty_print=pretty)
    signed = sign_xml(document, citizen_sign)
    assert verify_xml(signed).valid
    reparsed = parse(signed).getroot()
    reparsed.remove(reparsed[-1])
    assert etree.tostring(reparsed, method="c14n") == etree.tostring(root, method="c14n")


def test_the_compact_layout_is_one_line_and_verifies(citizen_sign: KeyEntry) -> None:
    signed = sign_xml("<doc>\n  <a>1</a>\n</doc>", citizen_sign, layout="compact")
    signature = signed[signed.index("<ds:Signature") : signed.index("</ds:Signature>")]
    assert "\n" not in signature
    assert "\r" not in signature
    assert signed.endswith("</ds:Signature></doc>")
    assert verify_xml(signed).valid
    (other,) = sign_xmls(["<doc/>"], citizen_sign, layout="compact")
    assert verify_xml(other).valid
