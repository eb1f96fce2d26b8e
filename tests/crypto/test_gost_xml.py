"""XML signatures with GOST 34.10-2015 (512): the pkigovkz URIs, round trips with a real NCA
test key, and an RSA and a GOST signature in one document."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from lxml import etree

from signer_app.crypto import gost, xmldsig
from signer_app.crypto.keystores import KeyEntry, open_pkcs12

DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"ds": DS}
GOST_SIGNATURE_URI = (
    "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"
)
GOST_DIGEST_URI = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512"
DOCUMENT = (
    '<req:Request xmlns:req="urn:kz:gov:egov"><req:Data Id="d">Анықтама</req:Data></req:Request>'
)


@pytest.fixture(scope="module")
def gost_sign(nca_vectors: Path) -> KeyEntry:
    """NCA's GOST 2015 individual test key (gokalkan/gost1.p12)."""
    return open_pkcs12(nca_vectors / "gokalkan" / "gost1.p12", "Qwerty12").entry


def _root(signed: str) -> etree._Element:
    return etree.fromstring(signed.encode("utf-8"))


def test_gost_xml_signature_names_the_pkigovkz_uris(gost_sign: KeyEntry) -> None:
    root = _root(xmldsig.sign_xml(DOCUMENT, gost_sign))
    method = root.find(".//ds:SignatureMethod", NS)
    digest = root.find(".//ds:DigestMethod", NS)
    assert method is not None
    assert method.get("Algorithm") == GOST_SIGNATURE_URI
    assert digest is not None
    assert digest.get("Algorithm") == GOST_DIGEST_URI


def test_gost_xml_signature_round_trips_with_our_verifier(gost_sign: KeyEntry) -> None:
    signed = xmldsig.sign_xml(DOCUMENT, gost_sign)
    result = xmldsig.verify_xml(signed)
    assert result.valid, [s.problems for s in result.signatures]
    assert result.signatures[0].certificate == gost_sign.certificate


def test_gost_xml_digest_value_is_streebog_512_of_the_canonical_document(
    gost_sign: KeyEntry,
) -> None:
    root = _root(xmldsig.sign_xml(DOCUMENT, gost_sign))
    value = root.find(".//ds:DigestValue", NS)
    assert value is not None
    canonical = etree.tostring(_root(DOCUMENT), method="c14n", with_comments=True)
    assert base64.b64decode(value.text or "") == gost.streebog512(canonical)


def test_changed_gost_signed_document_is_a_digest_mismatch(gost_sign: KeyEntry) -> None:
    signed = xmldsig.sign_xml(DOCUMENT, gost_sign).replace("Анықтама", "Анықтамa")
    result = xmldsig.verify_xml(signed)
    assert result.signatures[0].problems == (xmldsig.DIGEST_MISMATCH,)


def test_changed_gost_signature_value_is_a_bad_signature(gost_sign: KeyEntry) -> None:
    root = _root(xmldsig.sign_xml(DOCUMENT, gost_sign))
    element = root.find(".//ds:SignatureValue", NS)
    assert element is not None
    raw = bytearray(base64.b64decode(element.text or ""))
    assert len(raw) == 128
    raw[0] ^= 1
    element.text = base64.b64encode(bytes(raw)).decode()
    result = xmldsig.verify_xml(etree.tostring(root))
    assert result.signatures[0].problems == (xmldsig.BAD_SIGNATURE,)


def test_rsa_and_gost_signatures_in_one_document_both_verify(
    gost_sign: KeyEntry, citizen_sign: KeyEntry
) -> None:
    once = xmldsig.sign_xml(DOCUMENT, citizen_sign, tbs_xpath="//*[@Id='d']")
    twice = xmldsig.sign_xml(once, gost_sign, tbs_xpath="//*[@Id='d']")
    result = xmldsig.verify_xml(twice)
    assert len(result.signatures) == 2
    assert result.valid, [s.problems for s in result.signatures]
