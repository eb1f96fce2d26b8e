"""CAdES-LTA with archive-time-stamp-v3 (ETSI EN 319 122-1 §5.5.2-5.5.3): the hash index rides in
the TSA token's unsigned attributes, renewal stacks stamps, and whatever a stamp's index lists
cannot be removed or altered afterwards without the signer failing, for a reason it names."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from validation_helpers import RunningCa

from signer_app.crypto import archive_timestamp, cades_lt, cms, tsp
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.archive_timestamp import (
    ID_ARCHIVE_TIMESTAMP_V3,
    ID_ATS_HASH_INDEX_V3,
    HashIndex,
)
from signer_app.crypto.errors import InvalidInput, InvalidTimestamp, MalformedCms
from signer_app.crypto.keystores import KeyEntry
from signer_app.crypto.validation import TOTAL_FAILED, TOTAL_PASSED, ValidationReport
from signer_app.service.tsa_client import HttpTsa
from signer_app.service.verification import extend_to_long_term, validate_file

DOCUMENT = "Архивтік мөр — архивная метка — archive stamp\n".encode()
_ID_DATA_TLV = bytes.fromhex("06092a864886f70d010701")  # eContentType id-data, as encoded


@pytest.fixture
def extend(bundled_ca: RunningCa, tmp_path: Path) -> Callable[..., bytes]:
    """extend(signed, level="lta", content=None): the service's LT/LTA extension (a renewal on
    an LTA) against the served CA."""

    def make(signed: bytes, level: str = "lta", content: Path | bytes | None = None) -> bytes:
        return extend_to_long_term(
            signed,
            level,
            data_dir=tmp_path / "home",
            stamp=HttpTsa(bundled_ca.tsa_url).stamp,
            content=content,
            rewrites=bundled_ca.rewrites,
        )

    return make


@pytest.fixture
def signed_t(bundled_ca: RunningCa, citizen_sign: KeyEntry) -> Callable[..., bytes]:
    """signed_t(detached=False): a CAdES-T over DOCUMENT by the demo citizen."""

    def make(detached: bool = False) -> bytes:
        signed = cms.sign(DOCUMENT, citizen_sign, detached=detached)
        return cms.add_signature_timestamp(signed, HttpTsa(bundled_ca.tsa_url).stamp)

    return make


def offline(signature: bytes, tmp_path: Path, data: Path | bytes | None = None) -> ValidationReport:
    return validate_file(signature, data, data_dir=tmp_path / "home", offline=True)


def signed_data(signature: bytes) -> asn1_cms.SignedData:
    return asn1_cms.ContentInfo.load(signature)["content"]


def rebuilt(signed: asn1_cms.SignedData) -> bytes:
    return bytes(asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def with_unsigned(signature: bytes, attributes: list[asn1_cms.CMSAttribute]) -> bytes:
    """The signature with its only SignerInfo's unsignedAttrs replaced by ``attributes``."""
    signed = signed_data(signature)
    info = asn1_cms.SignerInfo.load(signed["signer_infos"][0].dump())
    info["unsigned_attrs"] = asn1_cms.CMSAttributes(attributes)
    signed["signer_infos"] = asn1_cms.SignerInfos([info])
    return rebuilt(signed)


def unsigned(signature: bytes) -> list[asn1_cms.CMSAttribute]:
    return list(signed_data(signature)["signer_infos"][0]["unsigned_attrs"])


def flipped_inside(blob: bytes, part: bytes, back: int = 10) -> bytes:
    """``blob`` with one bit flipped ``back`` bytes before the end of ``part`` in it."""
    at = blob.index(part) + len(part) - back
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]


def archive_problems(report: ValidationReport) -> list[str]:
    return [w for w in report.signers[0].warnings if "archive timestamp does not hold" in w]


# -- what is written ------------------------------------------------------------------------------


def test_the_archive_stamp_is_v3_with_its_hash_index_in_the_tokens_unsigned_attributes(
    signed_t, extend
) -> None:
    lta = extend(signed_t())
    kinds = [a["type"].dotted for a in unsigned(lta)]
    assert ID_ARCHIVE_TIMESTAMP_V3 in kinds
    assert cades_lt.ID_ARCHIVE_TIMESTAMP_V2 not in kinds
    (token,) = archive_timestamp.archive_tokens(lta)
    token_signer = asn1_cms.ContentInfo.load(token)["content"]["signer_infos"][0]
    kinds_in_token = [a["type"].dotted for a in token_signer["unsigned_attrs"]]
    assert kinds_in_token == [ID_ATS_HASH_INDEX_V3]
    index = archive_timestamp.hash_index_of(token)
    # As present when the stamp was asked for: every certificate, every CRL and OCSP response,
    # and the one unsigned attribute value then there (the signature timestamp).
    signed = signed_data(lta)
    assert len(index.certificates) == len(signed["certificates"])
    assert len(index.crls) == len(signed["crls"])
    assert len(index.unsigned_attr_values) == 1
    assert index.missing_from(archive_timestamp.present_index(lta)) == []
    # The stamp itself is not in its own index, and is in the index of the signature now.
    assert len(archive_timestamp.present_index(lta).unsigned_attr_values) == 2
    assert cms.verify(lta).valid  # an unsigned attribute changes no signature


def test_the_stamped_data_is_etsi_s_concatenation_and_the_tsa_signature_holds(
    signed_t, extend
) -> None:
    lta = extend(signed_t())
    (token,) = archive_timestamp.archive_tokens(lta)
    data = archive_timestamp.stamped_data(lta, token)
    # §5.5.3: eContentType, then the content's hash, ..., and last the hash index's DER.
    digest = hashlib.sha256(DOCUMENT).digest()
    assert data.startswith(_ID_DATA_TLV + digest)
    index = archive_timestamp.hash_index_of(token)
    signer = signed_data(lta)["signer_infos"][0]
    assert data.endswith(signer["signature"].dump() + index.dump())
    checked = tsp.verify_token(token, data)  # the TSA's signature survived the added index
    assert checked.imprint == hashlib.sha256(data).digest()


def test_a_detached_lta_hashes_the_data_it_is_given(signed_t, extend, tmp_path) -> None:
    document = tmp_path / "contract.txt"
    document.write_bytes(DOCUMENT)
    lta = extend(signed_t(detached=True), content=document)
    (token,) = archive_timestamp.archive_tokens(lta)
    data = archive_timestamp.stamped_data(lta, token, DOCUMENT)
    assert data.startswith(_ID_DATA_TLV + hashlib.sha256(DOCUMENT).digest())
    report = offline(lta, tmp_path, document)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    assert report.signers[0].level == "LTA"


def test_a_detached_signature_needs_its_own_data_for_an_archive_stamp(signed_t, extend) -> None:
    detached = signed_t(detached=True)
    with pytest.raises(InvalidInput, match="needs the signed data"):
        extend(detached)
    with pytest.raises(InvalidInput, match="not what the signature covers"):
        extend(detached, content=b"another document")


def test_a_token_over_other_data_is_never_embedded(bundled_ca, signed_t, extend) -> None:
    lt = extend(signed_t(), "lt")
    tsa = HttpTsa(bundled_ca.tsa_url)
    with pytest.raises(InvalidTimestamp):
        cades_lt.add_archive_timestamp(lt, lambda _: tsa.stamp(hashlib.sha256(b"x").digest()))


# -- renewal ---------------------------------------------------------------------------------------


def test_renewal_adds_the_first_stamps_evidence_then_a_stamp_that_covers_it(
    signed_t, extend, tmp_path
) -> None:
    lta = extend(signed_t())
    (first,) = archive_timestamp.archive_tokens(lta)
    before = signed_data(lta)
    renewed = extend(lta)
    assert len(signed_data(renewed)["crls"]) > len(before["crls"])  # fresh answers for TSAs
    (checks,) = archive_timestamp.check_archive_timestamps(renewed)
    assert [c.problem for c in checks] == [None, None]
    assert checks[0].token_der == first  # oldest first, whatever the SET's DER order
    second_index = archive_timestamp.hash_index_of(checks[1].token_der)
    first_attribute_value = hashlib.sha256(
        asn1_core.ObjectIdentifier(ID_ARCHIVE_TIMESTAMP_V3).dump() + first
    ).digest()
    assert first_attribute_value in second_index.unsigned_attr_values
    report = offline(renewed, tmp_path)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    signer = report.signers[0]
    assert signer.level == "LTA"
    archive = signer.timestamps[1:]
    assert [s.valid for s in archive] == [True, True]
    assert archive[0].time is not None
    assert archive[1].time is not None
    assert archive[0].time <= archive[1].time


def test_a_renewed_chain_whose_second_stamp_is_broken_fails(signed_t, extend, tmp_path) -> None:
    renewed = extend(extend(signed_t()))
    (checks,) = archive_timestamp.check_archive_timestamps(renewed)
    tsa_signature = (
        asn1_cms.ContentInfo.load(checks[1].token_der)["content"]["signer_infos"][0]["signature"]
    ).native
    broken = flipped_inside(renewed, tsa_signature)
    report = offline(broken, tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    (problem,) = archive_problems(report)
    assert "signature" in problem
    assert report.signers[0].level == "LT"
    assert [s.valid for s in report.signers[0].timestamps[1:]] == [True, False]


def test_a_garbled_hash_index_fails_the_signer(signed_t, extend, tmp_path) -> None:
    lta = extend(signed_t())
    (token,) = archive_timestamp.archive_tokens(lta)
    index = archive_timestamp.hash_index_of(token).dump()
    garbled = lta.replace(index, index[:4] + b"\x05" + index[5:])  # a hash is no longer one
    report = offline(garbled, tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    (problem,) = archive_problems(report)
    assert "malformed (ats-hash-index-v3" in problem


# -- what a stamp's index protects ---------------------------------------------------------------


def test_a_certificate_tampered_with_after_the_stamp_fails_the_signer(
    signed_t, extend, tmp_path
) -> None:
    lta = extend(signed_t())
    signed = signed_data(lta)
    certificates = [c.dump() for c in signed["certificates"]]
    root = next(c for c in signed["certificates"] if c.chosen.self_signed != "no").dump()
    certificates[certificates.index(root)] = flipped_inside(root, root, back=3)
    signed["certificates"] = asn1_cms.CertificateSet(
        [asn1_cms.CertificateChoices.load(c) for c in certificates]
    )
    report = offline(rebuilt(signed), tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    (problem,) = archive_problems(report)
    assert "removed or altered" in problem
    assert "1 certificate" in problem


def test_a_crl_removed_after_the_stamp_fails_the_signer(signed_t, extend, tmp_path) -> None:
    lta = extend(signed_t())
    signed = signed_data(lta)
    kept = [c for c in signed["crls"] if c.name != "crl"]
    assert len(kept) < len(signed["crls"])
    signed["crls"] = asn1_cms.RevocationInfoChoices(kept)
    report = offline(rebuilt(signed), tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    (problem,) = archive_problems(report)
    assert "CRL or OCSP response" in problem


def test_an_earlier_unsigned_attribute_altered_after_the_stamp_fails_the_signer(
    signed_t, extend, tmp_path
) -> None:
    note = asn1_cms.CMSAttribute(
        {"type": "1.2.398.3.99.1", "values": [asn1_core.UTF8String("көшірме / copy 1")]}
    )
    with_note = with_unsigned(signed_t(), [*unsigned(signed_t()), note])
    lta = extend(with_note)
    assert offline(lta, tmp_path).indication == TOTAL_PASSED
    altered_note = asn1_cms.CMSAttribute(
        {"type": "1.2.398.3.99.1", "values": [asn1_core.UTF8String("көшірме / copy 2")]}
    )
    attributes = [a for a in unsigned(lta) if a["type"].dotted != "1.2.398.3.99.1"]
    report = offline(with_unsigned(lta, [*attributes, altered_note]), tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    (problem,) = archive_problems(report)
    assert "1 unsigned attribute value" in problem


def test_a_detached_lta_checked_against_other_data_fails(signed_t, extend, tmp_path) -> None:
    lta = extend(signed_t(detached=True), content=DOCUMENT)
    report = offline(lta, tmp_path, b"another document")
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    (problem,) = archive_problems(report)
    assert "another hash" in problem  # the stamp's imprint, besides the signature's digest


def test_a_token_whose_imprint_is_over_other_data_fails_the_signer(
    bundled_ca, signed_t, extend, tmp_path
) -> None:
    lt = extend(signed_t(), "lt")
    index = archive_timestamp.present_index(lt).dump()  # the right index, the wrong imprint
    token = HttpTsa(bundled_ca.tsa_url).stamp(hashlib.sha256(b"other data").digest())
    forged = asn1_cms.CMSAttribute(
        {
            "type": ID_ARCHIVE_TIMESTAMP_V3,
            "values": [asn1_core.Any.load(archive_timestamp.attach_hash_index(token, index))],
        }
    )
    report = offline(with_unsigned(lt, [*unsigned(lt), forged]), tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    (problem,) = archive_problems(report)
    assert "another hash" in problem


# -- our earlier releases' stamp -------------------------------------------------------------------


def test_the_v2_style_stamp_of_earlier_releases_still_validates(
    bundled_ca, signed_t, extend, tmp_path
) -> None:
    lt = extend(signed_t(), "lt")
    old = cades_lt.add_archive_timestamp_v2(lt, HttpTsa(bundled_ca.tsa_url).stamp)
    assert [a["type"].dotted for a in unsigned(old)].count(cades_lt.ID_ARCHIVE_TIMESTAMP_V2) == 1
    report = offline(old, tmp_path)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    assert report.signers[0].level == "LTA"
    assert len(report.signers[0].timestamps) == 2


def test_the_hash_index_names_its_hash_and_one_that_does_not_means_sha256() -> None:
    index = HashIndex(DigestAlgorithm.SHA256, (b"\x01" * 32,), (), (b"\x02" * 32,))
    # Annex D's ASN.1 has no DEFAULT and EU DSS rebuilds the index with it: always written,
    # as an AlgorithmIdentifier without parameters.
    assert index.dump()[2:15] == bytes.fromhex("300b0609608648016503040201")
    assert HashIndex.load(index.dump()) == index
    assert HashIndex.load(bytes.fromhex("3006300030003000")).digest is DigestAlgorithm.SHA256


def test_bad_hash_index_bytes_are_refused_with_a_clear_error() -> None:
    with pytest.raises(MalformedCms, match="ats-hash-index-v3"):
        HashIndex.load(b"\x30\x03\x02\x01\x01")
    with pytest.raises(MalformedCms, match="ats-hash-index-v3"):
        HashIndex.load(b"\x04\x00")


def test_each_co_signer_gets_its_own_archive_stamp(
    bundled_ca, citizen_sign, demo, extend, tmp_path
) -> None:
    both = cms.cosign(cms.sign(DOCUMENT, citizen_sign), demo["ceo_sign"].open())
    lta = extend(cms.add_signature_timestamp(both, HttpTsa(bundled_ca.tsa_url).stamp))
    assert [len(checks) for checks in archive_timestamp.check_archive_timestamps(lta)] == [1, 1]
    report = offline(lta, tmp_path)
    assert report.indication == TOTAL_PASSED, [s.warnings for s in report.signers]
    assert [s.level for s in report.signers] == ["LTA", "LTA"]


def test_a_gost_signature_gets_an_archive_stamp_and_validates_lta(
    bundled_ca, demo, extend, tmp_path
) -> None:
    # The signer hashes with GOST 34.11-2015; the archive stamp with SHA-256 (its TSA's).
    document = tmp_path / "contract.txt"
    document.write_bytes(DOCUMENT)
    signed = cms.sign(DOCUMENT, demo["citizen_gost_sign"].open(), detached=True)
    stamped = cms.add_signature_timestamp(signed, HttpTsa(bundled_ca.tsa_url).stamp)
    with pytest.raises(InvalidInput, match="not what the signature covers"):
        extend(stamped, content=b"another document")
    lta = extend(stamped, content=document)
    report = offline(lta, tmp_path, document)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    assert report.signers[0].level == "LTA"
