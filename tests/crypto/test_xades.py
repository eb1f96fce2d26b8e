"""XAdES-BES and XAdES-T: what they carry, how our verifier judges them, and the attacks it
must refuse (a tampered timestamp, a swapped signer certificate, signature wrapping)."""

from __future__ import annotations

import base64
import re

import pytest
from lxml import etree
from validation_helpers import RunningCa, demo_anchors

from signer_app.crypto import xades, xmldsig
from signer_app.crypto.errors import InvalidInput
from signer_app.crypto.keystores import KeyEntry
from signer_app.crypto.validation import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    ValidationReport,
    validate_xml,
)
from signer_app.service.tsa_client import HttpTsa

DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<req:Request xmlns:req="urn:kz:gov:egov:request" xml:lang="kk">\n'
    '  <req:Data Id="data"><req:Name>ЖҰМАБЕКОВ АСХАТ</req:Name><!-- ескерту --></req:Data>\n'
    "</req:Request>"
)
NS = {"ds": xmldsig.DS_NS, "xades": xades.XADES_NS}


def validate(document: str, ca: RunningCa) -> ValidationReport:
    return validate_xml(document, anchors=demo_anchors(), fetching=ca.fetching())


def stamped(entry: KeyEntry, ca: RunningCa, **options: str) -> str:
    return xades.sign_xades(DOCUMENT, entry, level="t", stamp=HttpTsa(ca.tsa_url).stamp, **options)


def test_xades_bes_carries_signed_properties_covered_by_a_typed_reference(citizen_sign) -> None:
    signed = xades.sign_xades(DOCUMENT, citizen_sign)
    assert signed.startswith(xmldsig.XML_DECLARATION + "<req:Request")  # the user's text kept
    tree = xmldsig.parse(signed)
    props = tree.find(".//xades:SignedProperties", NS)
    assert props is not None
    reference = tree.find(f".//ds:Reference[@Type='{xades.SIGNED_PROPERTIES_TYPE}']", NS)
    assert reference is not None
    assert reference.get("URI") == "#" + props.get("Id")
    assert (
        tree.find(".//xades:SigningCertificateV2/xades:Cert/xades:IssuerSerialV2", NS) is not None
    )
    checked = xmldsig.verify_xml(signed)
    assert checked.valid, checked
    (found,) = xades.inspect(signed, [checked.signatures[0].certificate])
    assert found.is_xades
    assert found.problems == ()
    assert found.claimed_signing_time is not None


def test_the_ncalayer_layout_stays_plain_xmldsig(citizen_sign) -> None:
    signed = xmldsig.sign_xml(DOCUMENT, citizen_sign)
    assert "QualifyingProperties" not in signed
    assert xades.inspect(signed)[0].is_xades is False


def test_xades_t_without_a_tsa_is_refused(citizen_sign) -> None:
    with pytest.raises(InvalidInput):
        xades.sign_xades(DOCUMENT, citizen_sign, level="t")


def test_xades_bes_validates_at_level_b_with_its_claimed_time(bundled_ca, citizen_sign) -> None:
    report = validate(xades.sign_xades(DOCUMENT, citizen_sign), bundled_ca)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    signer = report.signers[0]
    assert signer.level == "B"
    assert signer.signing_time_source == "claimed"


def test_xades_t_validates_at_level_t_with_the_timestamps_time(bundled_ca, citizen_sign) -> None:
    report = validate(stamped(citizen_sign, bundled_ca), bundled_ca)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    signer = report.signers[0]
    assert signer.level == "T"
    assert signer.signing_time_source == "timestamp"
    assert signer.timestamps[0].valid
    assert signer.timestamps[0].tsa == "TIME-STAMPING AUTHORITY"
    assert signer.timestamps[0].chain[-1].role == "anchor"


def _replace_text(document: str, tag: str, change: object) -> str:
    pattern = re.compile(f"(<{tag}[^>]*>)([^<]*)(</{tag}>)")
    return pattern.sub(lambda m: m.group(1) + change(m.group(2)) + m.group(3), document, count=1)  # type: ignore[operator]


def test_a_tampered_xades_timestamp_is_not_used(bundled_ca, citizen_sign) -> None:
    def flip(text: str) -> str:
        token = bytearray(base64.b64decode(text))
        token[-20] ^= 0x01  # inside the TSA's signature
        return base64.b64encode(bytes(token)).decode()

    signed = _replace_text(stamped(citizen_sign, bundled_ca), "xades:EncapsulatedTimeStamp", flip)
    report = validate(signed, bundled_ca)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")
    signer = report.signers[0]
    assert not signer.timestamps[0].valid
    assert signer.signing_time_source == "claimed"


def test_a_changed_signing_time_breaks_the_signed_properties_digest(bundled_ca, citizen_sign):
    signed = xades.sign_xades(DOCUMENT, citizen_sign)
    tampered = _replace_text(signed, "xades:SigningTime", lambda _: "2001-01-01T00:00:00Z")
    assert xmldsig.verify_xml(tampered).signatures[0].problems == (xmldsig.DIGEST_MISMATCH,)
    report = validate(tampered, bundled_ca)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")


def test_signed_properties_naming_another_certificate_fail(bundled_ca, demo, monkeypatch):
    """The signer's key signed, but the signed properties name someone else's certificate."""
    other = demo["ceo_sign"].open().certificate
    original = xades._signed_properties
    monkeypatch.setattr(
        xades, "_signed_properties", lambda parent, pid, _, when: original(parent, pid, other, when)
    )
    signed = xades.sign_xades(DOCUMENT, demo["citizen_sign"].open())
    assert xmldsig.verify_xml(signed).valid  # the XMLDSig core holds...
    report = validate(signed, bundled_ca)  # ...but the signer is not who the properties say
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "SIG_CRYPTO_FAILURE")
    assert xades.SIGNING_CERTIFICATE_MISMATCH in report.signers[0].problems


def test_a_swapped_keyinfo_certificate_fails(bundled_ca, demo) -> None:
    signed = xades.sign_xades(DOCUMENT, demo["citizen_sign"].open())
    other = base64.b64encode(demo["ceo_sign"].open().certificate_der).decode()
    swapped = _replace_text(signed, "ds:X509Certificate", lambda _: other)
    report = validate(swapped, bundled_ca)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "SIG_CRYPTO_FAILURE")


def test_a_wrapped_signed_element_is_rejected(bundled_ca, citizen_sign) -> None:
    """Signature wrapping: the signed element moved aside, a forged one with the same Id put in."""
    signed = xades.sign_xades(DOCUMENT, citizen_sign, tbs_xpath="//req:Data")
    tree = xmldsig.parse(signed)
    root = tree.getroot()
    original = root.find("{urn:kz:gov:egov:request}Data")
    assert original is not None
    forged = etree.fromstring(
        '<req:Data xmlns:req="urn:kz:gov:egov:request" Id="data">'
        "<req:Name>MALLORY</req:Name></req:Data>"
    )
    wrapper = etree.SubElement(root, "{urn:kz:gov:egov:request}Hidden")
    root.replace(original, forged)
    wrapper.append(original)
    attacked = etree.tostring(tree, encoding="unicode")
    problems = xmldsig.verify_xml(attacked).signatures[0].problems
    assert xmldsig.REFERENCE_AMBIGUOUS in problems
    assert validate(attacked, bundled_ca).indication == TOTAL_FAILED


def test_duplicated_signed_properties_are_rejected(bundled_ca, citizen_sign) -> None:
    """A second SignedProperties with the same Id (the one an attacker controls) is ambiguous."""
    signed = xades.sign_xades(DOCUMENT, citizen_sign)
    tree = xmldsig.parse(signed)
    props = tree.find(".//xades:SignedProperties", NS)
    assert props is not None
    copy = etree.fromstring(etree.tostring(props))
    copy.find(".//xades:SigningTime", NS).text = "2001-01-01T00:00:00Z"  # type: ignore[union-attr]
    tree.getroot().insert(0, copy)
    attacked = etree.tostring(tree, encoding="unicode")
    assert xmldsig.REFERENCE_AMBIGUOUS in xmldsig.verify_xml(attacked).signatures[0].problems
    assert validate(attacked, bundled_ca).indication == TOTAL_FAILED


def test_qalam_sign_xades_t_from_the_command_line(bundled_ca, demo, tmp_path, monkeypatch):
    from signer_app.cli import EXIT_ERROR, EXIT_OK, main

    key = demo["citizen_sign"]
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    source = tmp_path / "request.xml"
    source.write_text(DOCUMENT, encoding="utf-8")
    out = tmp_path / "request.signed.xml"
    argv = ["sign", str(source), "-k", str(key.path), "-f", "xml", "-o", str(out)]
    assert main([*argv, "--xades", "t"]) == EXIT_ERROR  # XAdES-T without a TSA
    assert not out.exists()
    assert main([*argv, "--xades", "t", "--tsa", bundled_ca.tsa_url]) == EXIT_OK
    report = validate(out.read_text(encoding="utf-8"), bundled_ca)
    assert report.indication == TOTAL_PASSED
    assert report.signers[0].level == "T"
