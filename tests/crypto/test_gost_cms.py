"""CMS with GOST 34.10-2015 (512): real NCA test keys sign, our verifier checks, alone and next
to an RSA signer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from signer_app.crypto import cms, der, gost, publickeys
from signer_app.crypto.algorithms import DigestAlgorithm, KeyAlgorithm
from signer_app.crypto.errors import InvalidInput
from signer_app.crypto.keystores import KeyEntry, hash_for, open_pkcs12

PAYLOAD = "ГОСТ 34.10-2015 қолтаңбасы / подпись / signature\n".encode()


@pytest.fixture(scope="module")
def gost_sign(nca_vectors: Path) -> KeyEntry:
    """NCA's GOST 2015 individual test key (gokalkan/gost1.p12)."""
    return open_pkcs12(nca_vectors / "gokalkan" / "gost1.p12", "Qwerty12").entry


def _only_signer(result: cms.CmsVerification) -> cms.SignerResult:
    assert len(result.signers) == 1
    return result.signers[0]


def _signer_oids(blob: bytes) -> list[str]:
    """The OIDs of the (single) SignerInfo's digestAlgorithm and signatureAlgorithm, in order."""
    info = blob[blob.rindex(der.oid(gost.STREEBOG512_OID)) :]
    return [
        oid
        for oid in (gost.STREEBOG512_OID, gost.GOST2015_512_SIGNATURE_OID)
        if der.oid(oid) in info
    ]


def test_attached_gost_cms_round_trips_with_our_verifier(gost_sign: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, gost_sign)
    result = cms.verify(blob)
    signer = _only_signer(result)
    assert result.valid, signer.problems
    assert result.content == PAYLOAD
    assert signer.digest is DigestAlgorithm.STREEBOG512
    assert signer.certificate == gost_sign.certificate


def test_gost_cms_names_nca_oids_and_a_streebog_message_digest(gost_sign: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, gost_sign, detached=True)
    assert _signer_oids(blob) == [gost.STREEBOG512_OID, gost.GOST2015_512_SIGNATURE_OID]
    assert der.octet_string(gost.streebog512(PAYLOAD)) in blob
    signature_id = der.sequence(der.oid(gost.GOST2015_512_SIGNATURE_OID), der.null())
    assert signature_id in blob


def test_detached_gost_cms_verifies_only_with_its_data(gost_sign: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, gost_sign, detached=True)
    assert cms.verify(blob, PAYLOAD).valid
    signer = _only_signer(cms.verify(blob, PAYLOAD + b"!"))
    assert signer.problems == (cms.DIGEST_MISMATCH,)


def test_gost_cms_over_a_streebog_hash_verifies_against_the_data(gost_sign: KeyEntry) -> None:
    blob = cms.sign_digest(gost.streebog512(PAYLOAD), gost_sign)
    assert cms.verify(blob, PAYLOAD).valid


def test_a_sha256_hash_for_a_gost_key_is_refused_by_its_length(gost_sign: KeyEntry) -> None:
    with pytest.raises(InvalidInput):
        cms.sign_digest(b"\x00" * 32, gost_sign)


def test_streamed_gost_cms_verifies_against_the_same_bytes(gost_sign: KeyEntry) -> None:
    data = PAYLOAD * 40
    blob = cms.sign_stream(io.BytesIO(data), gost_sign)
    assert cms.verify(blob, stream=io.BytesIO(data)).valid


def test_tampered_gost_signature_is_a_bad_signature(gost_sign: KeyEntry) -> None:
    blob = bytearray(cms.sign(PAYLOAD, gost_sign))
    blob[-10] ^= 0x01  # inside the 128-byte signature value at the end
    signer = _only_signer(cms.verify(bytes(blob)))
    assert signer.problems == (cms.BAD_SIGNATURE,)


def test_gost_signature_does_not_verify_with_another_gost_key(
    gost_sign: KeyEntry, nca_vectors: Path
) -> None:
    other = open_pkcs12(nca_vectors / "kalkan-tests" / "k1.p12", "Qwerty12").entry
    signature = gost_sign.key.sign(PAYLOAD, DigestAlgorithm.STREEBOG512)
    mine = publickeys.public_key_of(gost_sign.certificate)
    theirs = publickeys.public_key_of(other.certificate)
    streebog = hash_for(DigestAlgorithm.STREEBOG512)
    assert publickeys.signature_ok(mine, KeyAlgorithm.GOST2015, signature, PAYLOAD, streebog)
    assert not publickeys.signature_ok(theirs, KeyAlgorithm.GOST2015, signature, PAYLOAD, streebog)
    assert not publickeys.signature_ok(mine, KeyAlgorithm.RSA, signature, PAYLOAD, streebog)


@pytest.mark.parametrize("detached", [False, True])
def test_rsa_and_gost_co_signers_both_verify(
    gost_sign: KeyEntry, citizen_sign: KeyEntry, detached: bool
) -> None:
    first = cms.sign(PAYLOAD, citizen_sign, detached=detached)
    both = cms.cosign(first, gost_sign, data=PAYLOAD if detached else None)
    result = cms.verify(both, PAYLOAD if detached else None)
    assert result.valid, [s.problems for s in result.signers]
    assert {s.digest for s in result.signers} == {
        DigestAlgorithm.SHA256,
        DigestAlgorithm.STREEBOG512,
    }


def test_gost_first_then_rsa_co_signature_verifies(
    gost_sign: KeyEntry, citizen_sign: KeyEntry
) -> None:
    both = cms.cosign(cms.sign(PAYLOAD, gost_sign), citizen_sign)
    result = cms.verify(both)
    assert result.valid, [s.problems for s in result.signers]
    assert len(result.signers) == 2
