"""xmlsec1 checks the XMLDSig core of our XAdES signatures: the document reference and the
SignedProperties reference (which it finds by the Id it is told about)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from tsa_helpers import http_tsa

from signer_app.crypto import xades
from signer_app.service.tsa_client import HttpTsa

pytestmark = pytest.mark.interop

DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<req:Request xmlns:req="urn:kz:gov:egov:request" xml:lang="kk">\n'
    '  <req:Data Id="data"><req:Name>ЖҰМАБЕКОВ АСХАТ</req:Name><!-- ескерту --></req:Data>\n'
    "</req:Request>"
)
ID_ATTR = ["--id-attr:Id", f"{xades.XADES_NS}:SignedProperties"]


def _xmlsec1(xmlsec1: str, trust_chain_pem: Path, signed: str, tmp_path: Path) -> str:
    options = []
    for number, certificate in enumerate(
        x509.load_pem_x509_certificates(trust_chain_pem.read_bytes())
    ):
        path = tmp_path / f"{number}.pem"
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        root = certificate.subject == certificate.issuer
        options += ["--trusted-pem" if root else "--untrusted-pem", str(path)]
    document = tmp_path / "signed.xml"
    document.write_bytes(signed.encode("utf-8"))
    result = subprocess.run(
        [xmlsec1, "--verify", *options, *ID_ATTR, str(document)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return f"{result.returncode} {result.stderr}"


@pytest.mark.parametrize("key_id", ["citizen_sign", "citizen_ec_sign"])
def test_xmlsec1_accepts_our_xades_bes(demo, xmlsec1, trust_chain_pem, tmp_path, key_id) -> None:
    signed = xades.sign_xades(DOCUMENT, demo[key_id].open())
    outcome = _xmlsec1(xmlsec1, trust_chain_pem, signed, tmp_path)
    assert outcome.startswith("0 "), outcome
    assert "SignedInfo References (ok/all): 2/2" in outcome


def test_xmlsec1_accepts_our_xades_t(citizen_sign, xmlsec1, trust_chain_pem, tmp_path) -> None:
    with http_tsa() as (url, _):
        signed = xades.sign_xades(DOCUMENT, citizen_sign, level="t", stamp=HttpTsa(url).stamp)
    assert "EncapsulatedTimeStamp" in signed
    outcome = _xmlsec1(xmlsec1, trust_chain_pem, signed, tmp_path)
    assert outcome.startswith("0 "), outcome
    assert "SignedInfo References (ok/all): 2/2" in outcome


def test_xmlsec1_rejects_a_changed_signing_time(citizen_sign, xmlsec1, trust_chain_pem, tmp_path):
    signed = xades.sign_xades(DOCUMENT, citizen_sign)
    start = signed.index("<xades:SigningTime>") + len("<xades:SigningTime>")
    tampered = signed[:start] + "2001" + signed[start + 4 :]
    assert not _xmlsec1(xmlsec1, trust_chain_pem, tampered, tmp_path).startswith("0 ")
