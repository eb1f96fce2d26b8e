"""xmlsec1 (libxmlsec, the C reference implementation) checks our XML signatures, and we check
its signatures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signer_app.crypto.algorithms import scheme_for
from signer_app.crypto.keystores import KeyEntry, SoftwareKey
from signer_app.crypto.xmldsig import (
    C14N,
    C14N_WITH_COMMENTS,
    DS_NS,
    ENVELOPED_SIGNATURE,
    sign_xml,
    verify_xml,
)

pytestmark = pytest.mark.interop

# Namespaces on the root (used and unused), xml:lang to inherit, comments, CDATA, Cyrillic.
DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<!-- портал -->\n"
    '<req:Request xmlns:req="urn:kz:gov:egov:request" xmlns:x="urn:unused" xml:lang="kk">\n'
    '  <req:Data Id="data"><req:Name>ЖҰМАБЕКОВ АСХАТ</req:Name><!-- ескерту -->\n'
    "    <req:Note><![CDATA[a < b & c]]></req:Note></req:Data>\n"
    "</req:Request>"
)


@pytest.fixture(scope="module")
def trust_options(trust_chain_pem: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """xmlsec1 takes one certificate per option: roots as trusted, issuing CAs as untrusted."""
    folder = tmp_path_factory.mktemp("xmlsec1-trust")
    options = []
    certificates = x509.load_pem_x509_certificates(trust_chain_pem.read_bytes())
    for number, certificate in enumerate(certificates):
        path = folder / f"{number}.pem"
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        root = certificate.subject == certificate.issuer
        options += ["--trusted-pem" if root else "--untrusted-pem", str(path)]
    return options


def _xmlsec1_verify(
    xmlsec1: str, options: list[str], signed: str, tmp_path: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "signed.xml"
    path.write_bytes(signed.encode("utf-8"))
    return subprocess.run(
        [xmlsec1, "--verify", *options, *extra, str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("key_id", ["citizen_sign", "citizen_ec_sign"])
def test_xmlsec1_accepts_our_enveloped_signature(demo, xmlsec1, trust_options, tmp_path, key_id):
    signed = sign_xml(DOCUMENT, demo[key_id].open())
    result = _xmlsec1_verify(xmlsec1, trust_options, signed, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stderr


@pytest.mark.parametrize("key_id", ["citizen_sign", "citizen_ec_sign"])
def test_xmlsec1_accepts_the_compact_layout_too(demo, xmlsec1, trust_options, tmp_path, key_id):
    signed = sign_xml(DOCUMENT, demo[key_id].open(), layout="compact")
    assert "\n" not in signed[signed.index("<ds:Signature") :]
    result = _xmlsec1_verify(xmlsec1, trust_options, signed, tmp_path)
    assert result.returncode == 0, result.stderr


def test_xmlsec1_accepts_our_signature_of_an_element_by_id(
    citizen_sign, xmlsec1, trust_options, tmp_path
):
    signed = sign_xml(DOCUMENT, citizen_sign, tbs_xpath="//req:Data", parent_xpath="//req:Data")
    id_attr = ["--id-attr:Id", "urn:kz:gov:egov:request:Data"]
    result = _xmlsec1_verify(xmlsec1, trust_options, signed, tmp_path, *id_attr)
    assert result.returncode == 0, result.stderr


def test_xmlsec1_rejects_a_tampered_document(citizen_sign, xmlsec1, trust_options, tmp_path):
    signed = sign_xml(DOCUMENT, citizen_sign)
    tampered = signed.replace("ЖҰМАБЕКОВ АСХАТ", "ЖҰМАБЕКОВ АСХАД")
    result = _xmlsec1_verify(xmlsec1, trust_options, tampered, tmp_path)
    assert result.returncode != 0


def test_xmlsec1_rejects_a_signature_by_an_untrusted_issuer(citizen_sign, xmlsec1, tmp_path):
    # The same signature without the demo roots: proves the accepting tests did check a chain.
    signed = sign_xml(DOCUMENT, citizen_sign)
    assert _xmlsec1_verify(xmlsec1, [], signed, tmp_path).returncode != 0


def _template(entry: KeyEntry) -> str:
    """An enveloped-signature template for xmlsec1 in NCALayer's algorithms."""
    scheme = scheme_for(entry.key.algorithm)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<req:Request xmlns:req="urn:kz:gov:egov:request">\n'
        "  <req:Name>ЖҰМАБЕКОВ АСХАТ</req:Name><!-- comment -->\n"
        f'  <ds:Signature xmlns:ds="{DS_NS}">\n'
        "    <ds:SignedInfo>\n"
        f'      <ds:CanonicalizationMethod Algorithm="{C14N}"/>\n'
        f'      <ds:SignatureMethod Algorithm="{scheme.xml_uri}"/>\n'
        '      <ds:Reference URI="">\n'
        "        <ds:Transforms>\n"
        f'          <ds:Transform Algorithm="{ENVELOPED_SIGNATURE}"/>\n'
        f'          <ds:Transform Algorithm="{C14N_WITH_COMMENTS}"/>\n'
        "        </ds:Transforms>\n"
        f'        <ds:DigestMethod Algorithm="{scheme.digest.xml_uri}"/>\n'
        "        <ds:DigestValue/>\n"
        "      </ds:Reference>\n"
        "    </ds:SignedInfo>\n"
        "    <ds:SignatureValue/>\n"
        "    <ds:KeyInfo><ds:X509Data/></ds:KeyInfo>\n"
        "  </ds:Signature>\n"
        "</req:Request>\n"
    )


@pytest.mark.parametrize("key_id", ["citizen_sign", "citizen_ec_sign"])
def test_signature_made_by_xmlsec1_verifies_with_ours(demo, xmlsec1, tmp_path, key_id):
    entry = demo[key_id].open()
    assert isinstance(entry.key, SoftwareKey)
    key_pem = tmp_path / "key.pem"
    cert_pem = tmp_path / "cert.pem"
    key_pem.write_bytes(
        entry.key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_pem.write_bytes(entry.certificate.public_bytes(serialization.Encoding.PEM))
    template = tmp_path / "template.xml"
    template.write_text(_template(entry), encoding="utf-8")
    output = tmp_path / "signed.xml"
    subprocess.run(
        [
            xmlsec1,
            "--sign",
            "--privkey-pem",
            f"{key_pem},{cert_pem}",
            "--output",
            str(output),
            str(template),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result = verify_xml(output.read_bytes())
    assert result.valid, result
    assert result.signatures[0].certificate == entry.certificate
    tampered = output.read_bytes().replace("АСХАТ".encode(), "АСХАД".encode())
    assert verify_xml(tampered).signatures[0].problems == ("digest_mismatch",)
