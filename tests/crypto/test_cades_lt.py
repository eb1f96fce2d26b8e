"""CAdES-LT and LTA: the evidence goes into the CMS, and a verifier with no network reaches the
same verdict from it; tampering with that evidence, or with the signer, is caught."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from validation_helpers import RunningCa

from signer_app.crypto import cades_lt, cms
from signer_app.crypto.errors import InvalidInput, MalformedCms
from signer_app.crypto.keystores import KeyEntry
from signer_app.crypto.validation import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED
from signer_app.service.tsa_client import HttpTsa
from signer_app.service.verification import extend_to_long_term, validate_file

DOCUMENT = "Келісімшарт № 7 — договор — contract\n".encode()


@pytest.fixture
def long_term(bundled_ca: RunningCa, tmp_path: Path) -> Callable[..., bytes]:
    """long_term(entry, level): a CAdES-T over DOCUMENT extended to "lt" or "lta" through the
    service, against the served CA."""

    def make(entry: KeyEntry, level: str = "lt") -> bytes:
        tsa = HttpTsa(bundled_ca.tsa_url)
        stamped = cms.add_signature_timestamp(cms.sign(DOCUMENT, entry), tsa.stamp)
        return extend_to_long_term(
            stamped,
            level,
            data_dir=tmp_path / "home",
            stamp=tsa.stamp,
            rewrites=bundled_ca.rewrites,
        )

    return make


def offline(signature: bytes, tmp_path: Path) -> object:
    return validate_file(signature, data_dir=tmp_path / "home", offline=True)


def test_lt_embeds_the_chains_and_the_revocation_data(long_term, citizen_sign) -> None:
    lt = long_term(citizen_sign)
    data = cades_lt.embedded_validation_data(lt)
    subjects = {
        x509.load_der_x509_certificate(d).subject.rfc4514_string() for d in data.certificates
    }
    assert any("TIME-STAMPING AUTHORITY" in s for s in subjects)  # the TSA's path too
    assert len(data.certificates) >= 4  # signer, TSA, issuing CA, root
    assert data.ocsp_responses  # the signer's and the TSA's OCSP answers
    assert data.crls  # the issuing CA's status from the root's CRL
    signed = asn1_cms.ContentInfo.load(lt)["content"]
    assert signed["version"].native == "v5"  # RFC 5652: an "other" revocation entry is there
    kinds = {choice.name for choice in signed["crls"]}
    assert kinds == {"crl", "other"}
    assert cms.verify(lt).valid  # nothing signed was touched


def test_lt_validates_offline_from_the_embedded_data(long_term, citizen_sign, tmp_path) -> None:
    report = offline(long_term(citizen_sign), tmp_path)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    signer = report.signers[0]
    assert signer.level == "LT"
    assert (signer.revocation.status, signer.revocation.source) == ("good", "embedded")
    assert signer.signing_time_source == "timestamp"


def test_a_plain_cades_t_offline_stays_unknown(bundled_ca, citizen_sign, tmp_path) -> None:
    stamped = cms.add_signature_timestamp(
        cms.sign(DOCUMENT, citizen_sign), HttpTsa(bundled_ca.tsa_url).stamp
    )
    report = offline(stamped, tmp_path)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "TRY_LATER")
    assert report.signers[0].level == "T"


def test_lta_adds_an_archive_timestamp_that_validates(long_term, citizen_sign, tmp_path) -> None:
    lta = long_term(citizen_sign, "lta")
    assert len(cades_lt.archive_timestamp_tokens(lta)) == 1
    assert cms.verify(lta).valid
    report = offline(lta, tmp_path)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    signer = report.signers[0]
    assert signer.level == "LTA"
    assert all(stamp.valid for stamp in signer.timestamps)
    assert len(signer.timestamps) == 2


def test_evidence_added_after_the_archive_timestamp_is_allowed(
    long_term, citizen_sign, demo, tmp_path
) -> None:
    # archive-time-stamp-v3: what is not in its hash index came later, and later may add.
    lta = long_term(citizen_sign, "lta")
    other = demo["ceo_sign"].open().certificate_der
    changed = cades_lt.add_validation_data(lta, cades_lt.ValidationData(certificates=(other,)))
    report = offline(changed, tmp_path)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    assert report.signers[0].level == "LTA"


def test_a_tampered_timestamp_in_an_lt_signature_is_not_used(
    long_term, citizen_sign, tmp_path
) -> None:
    lt = long_term(citizen_sign)
    (info,) = asn1_cms.ContentInfo.load(lt)["content"]["signer_infos"]
    token = next(
        a["values"][0].dump()
        for a in info["unsigned_attrs"]
        if a["type"].dotted == "1.2.840.113549.1.9.16.2.14"
    )
    at = lt.find(token) + len(token) - 10  # inside the TSA's signature
    tampered = lt[:at] + bytes([lt[at] ^ 0x01]) + lt[at + 1 :]
    report = offline(tampered, tmp_path)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")
    assert report.signers[0].level == "B"


def test_an_lt_signature_whose_signer_certificate_was_swapped_fails(
    long_term, citizen_sign, demo, tmp_path
) -> None:
    lt = long_term(citizen_sign)
    info = asn1_cms.ContentInfo.load(lt)
    signed = info["content"]
    other = asn1_x509.Certificate.load(
        demo["ceo_sign"].open().certificate.public_bytes(Encoding.DER)
    )
    signed["certificates"] = asn1_cms.CertificateSet([other, *list(signed["certificates"])[1:]])
    signer = signed["signer_infos"][0]
    signer["sid"] = asn1_cms.SignerIdentifier(
        name="issuer_and_serial_number",
        value={"issuer": other.issuer, "serial_number": other.serial_number},
    )
    report = offline(info.dump(), tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "SIG_CRYPTO_FAILURE")


def test_an_lt_signature_whose_embedded_ocsp_says_revoked_before_signing_fails(
    long_term, demo, tmp_path
) -> None:
    report = offline(long_term(demo["revoked_sign"].open()), tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "REVOKED")
    revocation = report.signers[0].revocation
    assert (revocation.status, revocation.source) == ("revoked", "embedded")
    assert revocation.revoked_at < report.signers[0].signing_time


def test_bad_input_is_refused_with_a_clear_error(citizen_sign, tmp_path) -> None:
    with pytest.raises(MalformedCms):
        cades_lt.add_validation_data(b"\x30\x03\x02\x01\x01", cades_lt.ValidationData())
    with pytest.raises(InvalidInput):
        cades_lt.embedded_validation_data(b"not a signature")
    signature = cms.sign(DOCUMENT, citizen_sign)
    with pytest.raises(InvalidInput):
        extend_to_long_term(signature, "ltx", data_dir=tmp_path)
    with pytest.raises(InvalidInput):
        extend_to_long_term(signature, "lta", data_dir=tmp_path)  # no TSA
