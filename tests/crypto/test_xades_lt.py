"""XAdES-LT and LTA: the evidence goes into the signature's unsigned properties, a verifier with
no network reaches the same verdict from it, and tampering with that evidence, removing part of
it or moving the archive timestamp is caught."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree
from validation_helpers import RunningCa, demo_anchors

from signer_app.crypto import xades, xades_lt, xmldsig
from signer_app.crypto.errors import InvalidInput
from signer_app.crypto.keystores import KeyEntry
from signer_app.crypto.validation import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED, validate_xml
from signer_app.service.tsa_client import HttpTsa
from signer_app.service.verification import validate_file

DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<req:Request xmlns:req="urn:kz:gov:egov:request" xml:lang="kk">\n'
    '  <req:Data Id="data"><req:Name>ЖҰМАБЕКОВ АСХАТ</req:Name><!-- ескерту --></req:Data>\n'
    "</req:Request>"
)
NS = xades_lt.NS
UNSIGNED = ".//xades:UnsignedSignatureProperties"


@pytest.fixture
def long_term(bundled_ca: RunningCa) -> Callable[..., str]:
    """long_term(entry, level): DOCUMENT signed XAdES-LT or LTA against the served CA."""

    def make(entry: KeyEntry, level: str = "lt") -> str:
        return xades_lt.sign_xades_long_term(
            DOCUMENT,
            entry,
            level=level,  # type: ignore[arg-type]
            stamp=HttpTsa(bundled_ca.tsa_url).stamp,
            anchors=demo_anchors(),
            fetching=bundled_ca.fetching(),
        )

    return make


def offline(document: str | bytes, tmp_path: Path):  # type: ignore[no-untyped-def]
    blob = document.encode("utf-8") if isinstance(document, str) else document
    return validate_file(blob, data_dir=tmp_path / "home", offline=True)


def children(document: str) -> list[str]:
    unsigned = xmldsig.parse(document).find(UNSIGNED, NS)
    assert unsigned is not None
    return [etree.QName(child).localname for child in unsigned]


def test_lt_embeds_the_paths_and_revocation_data_as_unsigned_properties(
    long_term, citizen_sign
) -> None:
    lt = long_term(citizen_sign)
    assert lt.startswith(xmldsig.XML_DECLARATION + "<req:Request")  # the user's text kept
    assert children(lt) == [
        "SignatureTimeStamp",
        "CertificateValues",
        "RevocationValues",
        "TimeStampValidationData",
    ]
    tree = xmldsig.parse(lt)
    validation_data = tree.find(f"{UNSIGNED}/xades141:TimeStampValidationData", NS)
    stamp = tree.find(f"{UNSIGNED}/xades:SignatureTimeStamp", NS)
    assert validation_data.get("URI") == "#" + stamp.get("Id")
    (signature,) = tree.getroot().iter(f"{{{xmldsig.DS_NS}}}Signature")
    data = xades_lt.embedded_validation_data(signature)
    assert len(data.certificates) >= 4  # signer, issuing CA, root, TSA
    assert data.ocsp_responses  # the signer's and the TSA's OCSP answers
    assert data.crls  # the issuing CA's status from the root's CRL
    assert xmldsig.verify_xml(lt).valid  # nothing signed was touched


def test_lt_validates_offline_from_the_embedded_data(long_term, citizen_sign, tmp_path) -> None:
    report = offline(long_term(citizen_sign), tmp_path)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    signer = report.signers[0]
    assert signer.level == "LT"
    assert (signer.revocation.status, signer.revocation.source) == ("good", "embedded")
    assert signer.signing_time_source == "timestamp"


def test_a_plain_xades_t_offline_stays_unknown(bundled_ca, citizen_sign, tmp_path) -> None:
    stamped = xades.sign_xades(
        DOCUMENT, citizen_sign, level="t", stamp=HttpTsa(bundled_ca.tsa_url).stamp
    )
    report = offline(stamped, tmp_path)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "TRY_LATER")
    assert report.signers[0].level == "T"


def test_lta_adds_an_archive_timestamp_that_validates(long_term, citizen_sign, tmp_path) -> None:
    lta = long_term(citizen_sign, "lta")
    assert children(lta)[-1] == "ArchiveTimeStamp"
    archive = xmldsig.parse(lta).find(f"{UNSIGNED}/xades141:ArchiveTimeStamp", NS)
    assert archive.find("ds:CanonicalizationMethod", NS).get("Algorithm") == xmldsig.C14N
    assert xmldsig.verify_xml(lta).valid
    report = offline(lta, tmp_path)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    signer = report.signers[0]
    assert signer.level == "LTA"
    assert len(signer.timestamps) == 2
    assert all(stamp.valid for stamp in signer.timestamps)


def test_lt_online_also_reaches_lt(long_term, bundled_ca, citizen_sign, tmp_path) -> None:
    report = validate_file(
        long_term(citizen_sign).encode(),
        data_dir=tmp_path / "home",
        anchors=demo_anchors(),
        rewrites=bundled_ca.rewrites,
    )
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    assert report.signers[0].level == "LT"


def _move_archive_first(lta: str) -> str:
    found = re.search(r"<xades141:ArchiveTimeStamp .*?</xades141:ArchiveTimeStamp>", lta)
    assert found is not None
    without = lta[: found.start()] + lta[found.end() :]
    at = without.index("<xades:CertificateValues>")
    return without[:at] + found.group(0) + without[at:]


def test_a_moved_archive_timestamp_no_longer_holds(long_term, citizen_sign, tmp_path) -> None:
    moved = _move_archive_first(long_term(citizen_sign, "lta"))
    assert children(moved)[1] == "ArchiveTimeStamp"
    report = offline(moved, tmp_path)
    signer = report.signers[0]
    assert report.indication == TOTAL_PASSED  # the LT evidence still proves the signature
    assert signer.level == "LT"
    assert any("archive timestamp is not valid" in w for w in signer.warnings)


def test_one_broken_archive_timestamp_among_valid_ones_keeps_the_level_at_lt(
    long_term, citizen_sign, tmp_path
) -> None:
    # A copy of the archive timestamp placed after it stamps other input (the first one is now
    # among the properties before it): the first still holds, the copy does not. LTA needs
    # every one to hold, as for CAdES.
    lta = long_term(citizen_sign, "lta")
    found = re.search(r"<xades141:ArchiveTimeStamp .*?</xades141:ArchiveTimeStamp>", lta)
    assert found is not None
    doubled = lta[: found.end()] + found.group(0) + lta[found.end() :]
    assert children(doubled)[-2:] == ["ArchiveTimeStamp", "ArchiveTimeStamp"]
    signer = offline(doubled, tmp_path).signers[0]
    assert [stamp.valid for stamp in signer.timestamps] == [True, True, False]
    assert signer.level == "LT"
    assert any("archive timestamp is not valid" in w for w in signer.warnings)


def _drop_certificate(document: str, subject_part: str) -> str:
    tag = "xades:EncapsulatedX509Certificate"
    for value in re.findall(rf"<{tag}>(.*?)<", document):
        cert = x509.load_der_x509_certificate(base64.b64decode(value))
        if subject_part in cert.subject.rfc4514_string():
            return document.replace(f"<{tag}>{value}</{tag}>", "", 1)
    raise AssertionError(f"no embedded certificate names {subject_part}")


def test_a_removed_certificate_breaks_the_archive_timestamp(
    long_term, citizen_sign, tmp_path
) -> None:
    lta = long_term(citizen_sign, "lta")
    removed = _drop_certificate(lta, "ҰЛТТЫҚ")  # the signer's issuing CA
    assert removed != lta
    assert xmldsig.verify_xml(removed).valid  # unsigned: XMLDSig does not notice
    report = offline(removed, tmp_path)
    signer = report.signers[0]
    # The trust store still knows the issuing CA, so the LT evidence proves the signature; the
    # archive timestamp no longer covers what the signature holds.
    assert signer.level == "LT"
    assert any("archive timestamp is not valid" in w for w in signer.warnings)


def _tamper_first_ocsp(document: str) -> str:
    found = re.search(r"<xades:EncapsulatedOCSPValue>(.*?)<", document)
    assert found is not None
    der = bytearray(base64.b64decode(found.group(1)))
    der[-20] ^= 0x01  # inside the responder's signature
    return document.replace(found.group(1), base64.b64encode(bytes(der)).decode(), 1)


def test_a_tampered_embedded_ocsp_response_is_not_trusted(
    long_term, citizen_sign, tmp_path
) -> None:
    tampered = _tamper_first_ocsp(long_term(citizen_sign))
    report = offline(tampered, tmp_path)
    assert report.indication != TOTAL_PASSED
    assert report.sub_indication == "TRY_LATER"
    assert report.signers[0].level == "T"


def test_a_tampered_ocsp_response_in_an_lta_breaks_its_archive_timestamp(
    long_term, citizen_sign, tmp_path
) -> None:
    report = offline(_tamper_first_ocsp(long_term(citizen_sign, "lta")), tmp_path)
    assert report.signers[0].level != "LTA"
    assert report.indication != TOTAL_PASSED


def test_an_lt_whose_embedded_ocsp_says_revoked_before_signing_fails(
    long_term, demo, tmp_path
) -> None:
    report = offline(long_term(demo["revoked_sign"].open()), tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "REVOKED")
    revocation = report.signers[0].revocation
    assert (revocation.status, revocation.source) == ("revoked", "embedded")


def test_unreadable_embedded_values_are_left_out_not_fatal(
    long_term, citizen_sign, tmp_path
) -> None:
    lt = long_term(citizen_sign)
    broken = re.sub(
        r"<xades:EncapsulatedOCSPValue>.*?<",
        "<xades:EncapsulatedOCSPValue>bm90IGFuIE9DU1A=<",
        lt,
        count=1,
    )
    broken = re.sub(
        r"<xades:EncapsulatedCRLValue>.*?<", "<xades:EncapsulatedCRLValue>!!!<", broken, count=1
    )
    report = offline(broken, tmp_path)
    assert report.indication in (TOTAL_PASSED, INDETERMINATE)
    assert report.signers[0].certificate is not None


def test_bad_levels_are_refused(bundled_ca, citizen_sign) -> None:
    with pytest.raises(InvalidInput):
        xades_lt.sign_xades_long_term(
            DOCUMENT,
            citizen_sign,
            level="ltv",  # type: ignore[arg-type]
            stamp=HttpTsa(bundled_ca.tsa_url).stamp,
            anchors=demo_anchors(),
        )


def test_a_document_stuffed_with_archive_timestamps_is_not_checked_at_length(
    long_term, citizen_sign, tmp_path
) -> None:
    lta = long_term(citizen_sign, "lta")
    found = re.search(r"<xades141:ArchiveTimeStamp .*?</xades141:ArchiveTimeStamp>", lta)
    assert found is not None
    copies = found.group(0) * (xades_lt.MAX_ARCHIVE_TIMESTAMPS + 1)
    stuffed = lta[: found.start()] + copies + lta[found.end() :]
    signer = offline(stuffed, tmp_path).signers[0]
    assert signer.level == "LT"
    assert any("archive timestamps: none is checked" in w for w in signer.warnings)


def test_validate_xml_takes_the_embedded_evidence_as_validate_cms_does(
    long_term, citizen_sign, tmp_path
) -> None:
    lt = long_term(citizen_sign)
    (signature,) = xmldsig.parse(lt).getroot().iter(f"{{{xmldsig.DS_NS}}}Signature")
    data = xades_lt.embedded_validation_data(signature)
    report = validate_xml(
        lt,
        anchors=demo_anchors(),
        intermediates=[x509.load_der_x509_certificate(d) for d in data.certificates],
        ocsp_responses=data.ocsp_responses,
        crls=data.crls,
    )
    assert report.indication == TOTAL_PASSED
    assert report.signers[0].revocation.source == "embedded"
    # Without it, offline, nothing says the certificates are not revoked (nor builds the
    # TSA's path, whose CA the signature carries only in its evidence).
    bare = validate_xml(lt, anchors=demo_anchors())
    assert bare.indication == INDETERMINATE
    assert bare.signers[0].revocation is None or bare.signers[0].revocation.status == "unknown"


def test_a_failed_embedded_ocsp_response_is_named_briefly_in_the_warning(
    long_term, citizen_sign, tmp_path
) -> None:
    report = offline(_tamper_first_ocsp(long_term(citizen_sign)), tmp_path)
    (note,) = [w for w in report.signers[0].warnings if "revocation of" in w]
    assert "embedded OCSP: " in note
    # certvalidator's message carries the response's bytes; the note keeps its first sentence.
    assert len(note) < 400
    assert "b'" not in note


def test_an_lta_is_parsed_once_when_validated(
    long_term, citizen_sign, tmp_path, monkeypatch
) -> None:
    lta = long_term(citizen_sign, "lta")
    real = xmldsig._parse_with_text
    calls = []

    def counted(xml: str | bytes):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(xml)

    monkeypatch.setattr(xmldsig, "_parse_with_text", counted)
    report = xades_lt.validate_xades(lta, anchors=demo_anchors())
    assert report.signers[0].level == "LTA"
    assert len(calls) == 1


def test_too_many_signatures_are_refused_before_their_evidence_is_read() -> None:
    one = f'<ds:Signature xmlns:ds="{xmldsig.DS_NS}"/>'
    document = "<doc>" + one * (xmldsig.MAX_SIGNATURES + 1) + "</doc>"
    with pytest.raises(InvalidInput):
        xades_lt.validate_xades(document, anchors=demo_anchors())
