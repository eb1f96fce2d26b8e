"""Certificate requests signed through the SigningKey protocol: cryptography and openssl accept
them, and a request signed by the wrong key is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from signer_app.crypto.csr import build_csr
from signer_app.crypto.keystores import SoftwareKey

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def spki(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(params=["rsa", "ec"])
def private_key(request: pytest.FixtureRequest) -> PrivateKey:
    if request.param == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_request_signed_through_the_protocol_is_a_valid_pkcs10(private_key: PrivateKey) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, "IIN850101300124")])
    request = x509.load_der_x509_csr(
        build_csr(spki(private_key), SoftwareKey(private_key), subject=name.public_bytes())
    )
    assert request.is_signature_valid
    assert request.subject == name
    assert request.public_key() == private_key.public_key()
    assert request.signature_hash_algorithm is not None
    assert isinstance(request.signature_hash_algorithm, hashes.SHA256)


def test_the_default_subject_is_empty(private_key: PrivateKey) -> None:
    request = x509.load_der_x509_csr(build_csr(spki(private_key), SoftwareKey(private_key)))
    assert request.is_signature_valid
    assert len(request.subject) == 0


def test_a_request_whose_key_did_not_sign_it_is_invalid() -> None:
    mine = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    request = x509.load_der_x509_csr(build_csr(spki(mine), SoftwareKey(other)))
    assert not request.is_signature_valid


@pytest.mark.interop
def test_openssl_req_verifies_it(private_key: PrivateKey, openssl: str, tmp_path: Path) -> None:
    path = tmp_path / "request.der"
    path.write_bytes(build_csr(spki(private_key), SoftwareKey(private_key)))
    result = subprocess.run(
        [openssl, "req", "-in", str(path), "-inform", "DER", "-verify", "-noout"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "verify OK" in result.stdout + result.stderr


def test_a_gost_2015_key_signs_a_request_its_public_key_verifies(nca_vectors: Path) -> None:
    from asn1crypto import csr as asn1_csr
    from asn1crypto import x509 as asn1_x509

    from signer_app.crypto import gost
    from signer_app.crypto.keystores import open_pkcs12

    entry = open_pkcs12(nca_vectors / "gokalkan" / "gost1.p12", "Qwerty12").entry
    tbs = asn1_x509.Certificate.load(entry.certificate_der)["tbs_certificate"]
    request = asn1_csr.CertificationRequest.load(
        build_csr(tbs["subject_public_key_info"].dump(), entry.key)
    )
    assert request["signature_algorithm"]["algorithm"].dotted == gost.GOST2015_512_SIGNATURE_OID
    public = gost.public_key_from_certificate(entry.certificate)
    assert public is not None
    info = request["certification_request_info"].dump()
    assert public.verify(request["signature"].native, info)
    assert not public.verify(request["signature"].native, info + b"\x00")
