"""GOST 34.311-95 (NCA's GOST 2004 hash) and verification of real GOST 34.310-2004 signatures.

Which S-box: OpenSSL's gost provider computes GOST R 34.11-94 only with the CryptoPro S-box
(``md_gost94``). NCA's hash is GOST R 34.11-94 with the standard's *test* S-box: the real test
time-stamp token's messageDigest equals that hash of its TSTInfo and not md_gost94's, and NCA's
2004 signatures (OCSP, TSA, certificates, the token as a CMS) verify over it. Tests that read
../shared skip with the reason printed where it is absent.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import tsp as asn1_tsp
from asn1crypto.keys import PublicKeyInfo
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from signer_app.crypto import cms, gost
from signer_app.crypto.algorithms import DigestAlgorithm, KeyAlgorithm, scheme_for
from signer_app.crypto.errors import UnsupportedAlgorithm
from signer_app.crypto.gost34311 import CRYPTOPRO_SBOX, gost34311, gost_r_34_11_94
from signer_app.crypto.gost_certvalidator import GOST_AWARE

# RFC 5831 §7.3.1: GOST R 34.11-94 with the test parameters (the digest as bytes, little-endian).
RFC5831_TEST_PARAMETERS = [
    (
        b"This is message, length=32 bytes",
        "b1c466d37519b82e8319819ff32595e047a28cb6f83eff1c6916a815a637fffa",
    ),
    (
        b"Suppose the original message has length = 50 bytes",
        "471aba57a60a770d3a76130635c1fbea4ef14de51f78b4ae57dd893b62f55208",
    ),
]


def openssl_gost94(data: bytes) -> bytes:
    try:
        return hashlib.new("md_gost94", data).digest()
    except ValueError:
        pytest.skip("OpenSSL's gost provider (md_gost94) is not installed here")


def certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    begin = data.find(b"-----BEGIN CERTIFICATE")
    if begin >= 0:
        return x509.load_pem_x509_certificate(data[begin:])
    return x509.load_der_x509_certificate(data)


def raw(value: asn1_cms.Asn1Value) -> bytes:
    """The bytes as received (asn1crypto cannot re-encode a certificate with a GOST key)."""
    return bytes(value._header + value.contents)


def gost2004_key(signer: x509.Certificate) -> gost.GostPublicKey:
    key = gost.public_key_from_certificate(signer)
    assert key is not None
    assert key.algorithm is KeyAlgorithm.GOST2004
    return key


@pytest.mark.parametrize(("message", "expected"), RFC5831_TEST_PARAMETERS)
def test_gost34311_is_gost_r_34_11_94_with_the_test_parameters_of_rfc_5831(
    message: bytes, expected: str
) -> None:
    assert gost34311(message).hex() == expected


@pytest.mark.parametrize("length", [0, 1, 31, 32, 33, 64, 100])
def test_with_the_cryptopro_s_box_the_construction_equals_openssls_md_gost94(length: int) -> None:
    message = bytes(range(length))
    assert gost_r_34_11_94(message, CRYPTOPRO_SBOX) == openssl_gost94(message)


def test_ncas_time_stamp_digest_is_the_test_s_box_hash_not_openssls_md_gost94(
    nca_vectors: Path,
) -> None:
    token = asn1_cms.ContentInfo.load((nca_vectors / "ncanode" / "tsp_token.bin").read_bytes())
    signed = token["content"]
    (signer_info,) = signed["signer_infos"]
    assert signer_info["digest_algorithm"]["algorithm"].dotted == "1.2.398.3.10.1.3.1"
    tst_info = signed["encap_content_info"]["content"].contents
    (digest,) = [
        a["values"][0].native
        for a in signer_info["signed_attrs"]
        if a["type"].native == "message_digest"
    ]
    assert digest == gost34311(tst_info)
    assert digest != openssl_gost94(tst_info)


@pytest.mark.filterwarnings("ignore:Attribute's length")  # NCA's long O= in a name
@pytest.mark.parametrize("name", ["tsp_token.bin", "tsp_response.bin"])
def test_ncas_gost_2004_time_stamp_signature_verifies_with_its_tsa_certificate(
    nca_vectors: Path, name: str
) -> None:
    data = (nca_vectors / "ncanode" / name).read_bytes()
    if name == "tsp_response.bin":
        token = asn1_tsp.TimeStampResp.load(data)["time_stamp_token"]
    else:
        token = asn1_cms.ContentInfo.load(data)
    signed = token["content"]
    (signer_info,) = signed["signer_infos"]
    (carried,) = signed["certificates"]
    key = gost2004_key(x509.load_der_x509_certificate(raw(carried.chosen)))
    attributes = signer_info["signed_attrs"].dump()
    as_set = b"\x31" + attributes[1:]  # signed as a SET OF, stored as [0] IMPLICIT (RFC 5652)
    signature = signer_info["signature"].native
    assert key.verify(signature, as_set)
    assert not key.verify(signature, as_set[:-1] + bytes([as_set[-1] ^ 1]))


@pytest.mark.filterwarnings("ignore:Attribute's length")
def test_ncas_gost_2004_ocsp_response_verifies_through_the_gost_aware_validator(
    nca_vectors: Path,
) -> None:
    path = nca_vectors / "ncanode" / "ocsp_response_ceo_sign_2004_revoked.bin"
    basic = asn1_ocsp.OCSPResponse.load(path.read_bytes())["response_bytes"]["response"].parsed
    assert basic["signature_algorithm"]["algorithm"].dotted == gost.GOST2004_SIGNATURE_OID
    (single,) = basic["tbs_response_data"]["responses"]
    assert single["cert_status"].name == "revoked"
    (carried,) = basic["certs"]
    responder = x509.load_der_x509_certificate(raw(carried))
    gost2004_key(responder)
    spki = PublicKeyInfo.load(
        asn1_cms.Certificate.load(raw(carried))["tbs_certificate"]["subject_public_key_info"].dump()
    )
    tbs = basic["tbs_response_data"].dump()
    algorithm = basic["signature_algorithm"]
    GOST_AWARE.validate_signature(basic["signature"].native, tbs, spki, algorithm)
    with pytest.raises(InvalidSignature):
        GOST_AWARE.validate_signature(
            basic["signature"].native, tbs[:-1] + bytes([tbs[-1] ^ 1]), spki, algorithm
        )
    ca = certificate(nca_vectors / "ncanode" / "nca_gost_test.crt")
    assert gost.certificate_signed_by(responder, ca)


@pytest.mark.parametrize(
    "name", ["ncanode/ceo_valid_sign_2004_gost.cer", "p12/KEY_CEO_SIGN_REVOKED_2004.crt.pem"]
)
def test_real_gost_2004_certificates_verify_against_uko_3_gost_test(
    nca_vectors: Path, name: str
) -> None:
    ca = certificate(nca_vectors / "ncanode" / "nca_gost_test.crt")
    signed = certificate(nca_vectors / name)
    assert gost.certificate_signed_by(signed, ca)
    assert not gost.certificate_signed_by(ca, signed)  # the other way round is no signature


@pytest.mark.filterwarnings("ignore:Attribute's length")
def test_ncas_gost_2004_time_stamp_token_verifies_with_our_cms_verifier(nca_vectors: Path) -> None:
    token = (nca_vectors / "ncanode" / "tsp_token.bin").read_bytes()
    checked = cms.verify(token)
    assert checked.valid
    (signer,) = checked.signers
    assert signer.digest is DigestAlgorithm.GOST34311
    assert signer.certificate is not None
    assert "СЕРВИС МЕТКИ ВРЕМЕНИ" in signer.certificate.subject.rfc4514_string()
    broken = cms.verify(token[:-1] + bytes([token[-1] ^ 1]))  # the signature's last byte
    assert not broken.valid


def test_gost_2004_stays_verify_only() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        scheme_for(KeyAlgorithm.GOST2004)
    with pytest.raises(UnsupportedAlgorithm):
        scheme_for(KeyAlgorithm.GOST2015, DigestAlgorithm.GOST34311)
