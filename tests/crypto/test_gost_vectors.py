"""Real NCA protocol messages (shared/vectors/nca/ncanode): OCSP responses and a time-stamp.

Each parses, and its signature verifies with the signer certificate it carries, through the same
GostAwareSignatureValidator that validation.py hands pyhanko-certvalidator: GOST 2015 responses
of "OCSP RESPONDER" (GOST) 2022, an RSA response of the ҰКО 3.0 (RSA TEST) responder. The
responders' certificates verify against NCA's test issuing CAs. The GOST 34.310-2004 messages
(an OCSP response and the TSP token) verify in tests/crypto/test_gost34311.py.
Skipped, with the reason printed, where ../shared is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import tsp as asn1_tsp
from asn1crypto.keys import PublicKeyInfo
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from signer_app.crypto import gost
from signer_app.crypto.algorithms import KeyAlgorithm
from signer_app.crypto.gost_certvalidator import GOST_AWARE


def certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if data.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def raw(value: asn1_cms.Asn1Value) -> bytes:
    """The bytes as received (asn1crypto cannot re-encode a certificate with a GOST key)."""
    return bytes(value._header + value.contents)


def spki_of(signer: x509.Certificate) -> PublicKeyInfo:
    key = gost.public_key_from_certificate(signer)
    if key is not None and key.algorithm is KeyAlgorithm.GOST2015:
        return PublicKeyInfo.load(key.subject_public_key_info())
    return PublicKeyInfo.load(
        signer.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )


def basic_response(path: Path) -> asn1_ocsp.BasicOCSPResponse:
    response = asn1_ocsp.OCSPResponse.load(path.read_bytes())
    assert response["response_status"].native == "successful"
    basic: asn1_ocsp.BasicOCSPResponse = response["response_bytes"]["response"].parsed
    return basic


OCSP_SIGNING_OID_DER = bytes.fromhex("06082b06010505070309")  # id-kp-OCSPSigning

# (file, signature algorithm, status, issuing CA of the responder)
RESPONSES = [
    (
        "ocsp_response_ceo_2015_revoked.bin",
        gost.GOST2015_512_SIGNATURE_OID,
        "revoked",
        "nca_gost2015_test.cer",
    ),
    (
        "ocsp_response_individual_2015.bin",
        gost.GOST2015_512_SIGNATURE_OID,
        "revoked",
        "nca_gost2015_test.cer",
    ),
    ("ocsp_response_individual_sign_2004.bin", "1.2.840.113549.1.1.11", "good", "nca_rsa_test.crt"),
]


@pytest.mark.filterwarnings("ignore:Attribute's length")  # NCA's 69-character O= in a name
@pytest.mark.parametrize(("name", "algorithm", "status", "issuer"), RESPONSES)
def test_real_nca_ocsp_response_signature_verifies_with_its_responder_certificate(
    nca_vectors: Path, name: str, algorithm: str, status: str, issuer: str
) -> None:
    basic = basic_response(nca_vectors / "ncanode" / name)
    (single,) = basic["tbs_response_data"]["responses"]
    assert single["cert_id"]["hash_algorithm"]["algorithm"].native == "sha256"  # as NCA answers
    assert single["cert_status"].name == status
    assert basic["signature_algorithm"]["algorithm"].dotted == algorithm
    (carried,) = basic["certs"]
    responder = x509.load_der_x509_certificate(raw(carried))
    tbs = basic["tbs_response_data"].dump()
    signature = basic["signature"].native
    GOST_AWARE.validate_signature(signature, tbs, spki_of(responder), basic["signature_algorithm"])
    changed = tbs[:-1] + bytes([tbs[-1] ^ 1])
    with pytest.raises(InvalidSignature):
        GOST_AWARE.validate_signature(
            signature, changed, spki_of(responder), basic["signature_algorithm"]
        )

    ca = certificate(nca_vectors / "ncanode" / issuer)
    assert responder.issuer == ca.subject
    if gost.public_key_from_certificate(ca) is not None:
        assert gost.certificate_signed_by(responder, ca)
    else:
        responder.verify_directly_issued_by(ca)
    # Both parsers refuse one extension of the RSA test responder's certificate (an empty
    # value), so the OCSPSigning purpose is looked for as its DER OID inside the certificate.
    assert OCSP_SIGNING_OID_DER in raw(carried)


def test_a_gost_2015_response_does_not_verify_with_another_gost_key(nca_vectors: Path) -> None:
    basic = basic_response(nca_vectors / "ncanode" / "ocsp_response_individual_2015.bin")
    other = certificate(nca_vectors / "ncanode" / "nca_gost2015_test.cer")
    with pytest.raises(InvalidSignature):
        GOST_AWARE.validate_signature(
            basic["signature"].native,
            basic["tbs_response_data"].dump(),
            spki_of(other),
            basic["signature_algorithm"],
        )


def test_the_real_tsp_response_and_token_parse_and_carry_their_gost_2004_tsa(
    nca_vectors: Path,
) -> None:
    folder = nca_vectors / "ncanode"
    response = asn1_tsp.TimeStampResp.load((folder / "tsp_response.bin").read_bytes())
    assert response["status"]["status"].native == "granted"
    for token in (
        response["time_stamp_token"],
        asn1_cms.ContentInfo.load((folder / "tsp_token.bin").read_bytes()),
    ):
        signed = token["content"]
        info = signed["encap_content_info"]["content"].parsed
        assert info["policy"].dotted == "1.2.398.3.3.2.6.1"  # NCA's test TSA policy
        (signer_info,) = signed["signer_infos"]
        assert signer_info["signature_algorithm"]["algorithm"].dotted == gost.GOST2004_SIGNATURE_OID
        (carried,) = signed["certificates"]
        tsa = x509.load_der_x509_certificate(raw(carried.chosen))
        assert signer_info["sid"].chosen["serial_number"].native == tsa.serial_number
        key = gost.public_key_from_certificate(tsa)
        assert key is not None
        assert key.algorithm is KeyAlgorithm.GOST2004
        assert key.curve is gost.PARAMSET_256_B
