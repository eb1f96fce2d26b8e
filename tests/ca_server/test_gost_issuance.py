"""The bundled CA issues GOST 2015 certificates for GOST CSRs from NAC's GOST issuing CA, and
refuses GOST requests it cannot trust (bad signature, truncated, wrong key) with a clear code."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ca_server import authority
from ca_server.errors import CaError
from ca_server.instance import Instance
from ca_server.profiles import Purpose, Role
from signer_app.crypto import csr, der, gost

CITIZEN = "850101300124"
ACTOR = "operator:test"


def _gost_csr(key: gost.GostPrivateKey | None = None) -> bytes:
    key = key or gost.generate_private_key()
    return csr.build_csr(key.public_key.subject_public_key_info(), key)


def _rsa_csr() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    return request.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _ec_csr() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    return request.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _pair(instance: Instance, auth: bytes, sign: bytes, **kwargs: Any) -> authority.IssuedPair:
    return authority.issue_pair(
        instance.db,
        instance.authority("nac"),
        auth,
        sign,
        iin=CITIZEN,
        role=Role.INDIVIDUAL,
        actor=ACTOR,
        **kwargs,
    )


def test_a_gost_pair_is_issued_by_the_gost_ca_and_recorded_under_it(
    sqlite_instance: Instance,
) -> None:
    auth_key, sign_key = gost.generate_private_key(), gost.generate_private_key()
    pair = _pair(sqlite_instance, _gost_csr(auth_key), _gost_csr(sign_key))
    gost_ca = sqlite_instance.authority("nac-gost")
    for issued, key in ((pair.auth, auth_key), (pair.sign, sign_key)):
        assert issued.ca == "nac-gost"
        assert gost.certificate_signed_by(issued.certificate, gost_ca.certificate)
        public = gost.public_key_from_certificate(issued.certificate)
        assert public is not None
        assert (public.x, public.y) == (key.public_key.x, key.public_key.y)
        assert issued.ski == key.public_key.key_identifier().hex()
        found = authority.status(sqlite_instance.db, issued.serial)
        assert (found.ca, found.iin, found.status) == ("nac-gost", CITIZEN, "good")
    assert pair.sign.certificate.subject == pair.auth.certificate.subject
    found = authority.issued_for_key(sqlite_instance.db, sign_key.public_key.key_identifier().hex())
    assert [status.serial for status, _ in found] == [pair.sign.serial]


def test_a_gost_pair_lasts_one_year_like_an_rsa_pair(sqlite_instance: Instance) -> None:
    """NCA issues key files to individuals for one year (KZ_PKI.md), whatever the algorithm."""
    gost_pair = _pair(sqlite_instance, _gost_csr(), _gost_csr())
    rsa_pair = _pair(sqlite_instance, _rsa_csr(), _rsa_csr())
    for issued in (gost_pair.auth, gost_pair.sign, rsa_pair.auth, rsa_pair.sign):
        certificate = issued.certificate
        lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
        assert lifetime == dt.timedelta(days=365), issued.ca


def test_a_revoked_gost_certificate_is_in_the_gost_cas_own_gost_signed_crl(
    sqlite_instance: Instance,
) -> None:
    issued = authority.issue(
        sqlite_instance.db,
        sqlite_instance.authority("nac"),
        _gost_csr(),
        iin=CITIZEN,
        role=Role.INDIVIDUAL,
        purpose=Purpose.SIGN,
        actor=ACTOR,
    )
    authority.revoke(sqlite_instance.db, issued.serial, "keyCompromise", actor=ACTOR)
    gost_ca = sqlite_instance.authority("nac-gost")
    crl = x509.load_der_x509_crl(authority.current_crl(sqlite_instance.db, gost_ca))
    assert crl.issuer == gost_ca.certificate.subject
    assert crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
    public = gost.public_key_from_certificate(gost_ca.certificate)
    assert public is not None
    assert public.verify(crl.signature, crl.tbs_certlist_bytes)
    rsa_crl = authority.current_crl(sqlite_instance.db, sqlite_instance.authority("nac"))
    assert (
        x509.load_der_x509_crl(rsa_crl).get_revoked_certificate_by_serial_number(
            issued.certificate.serial_number
        )
        is None
    )


def _bad_signature() -> bytes:
    raw = bytearray(_gost_csr())
    raw[-1] ^= 0x01  # the last byte of s
    return bytes(raw)


def _other_key_signed() -> bytes:
    key, other = gost.generate_private_key(), gost.generate_private_key()
    return csr.build_csr(key.public_key.subject_public_key_info(), other)


def _off_curve() -> bytes:
    key = gost.generate_private_key()
    public = gost.GostPublicKey(key.public_key.algorithm, key.public_key.curve, 1, 2)
    return csr.build_csr(public.subject_public_key_info(), key)


def _gost_2004() -> bytes:
    key = gost.generate_private_key()
    algorithm = der.sequence(der.oid(gost.GOST2004_KEY_OID))
    bits = der.tlv(0x03, b"\x00" + der.octet_string(bytes(64)))
    return csr.build_csr(der.sequence(algorithm, bits), key)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (_bad_signature, "csr_bad_signature"),
        (_other_key_signed, "csr_bad_signature"),
        (lambda: _gost_csr()[:150], "csr_malformed"),
        (_off_curve, "key_unsupported"),
        (_gost_2004, "key_unsupported"),
    ],
    ids=["bad-signature", "signed-by-another-key", "truncated", "off-curve", "gost-2004"],
)
def test_bad_gost_requests_are_refused_and_nothing_is_issued(
    sqlite_instance: Instance, make: Any, code: str
) -> None:
    before = len(authority.certificates_of(sqlite_instance.db, CITIZEN))
    with pytest.raises(CaError) as caught:
        _pair(sqlite_instance, make(), _gost_csr())
    assert caught.value.code == code
    assert len(authority.certificates_of(sqlite_instance.db, CITIZEN)) == before


def test_a_gost_key_and_an_ec_key_in_one_pair_are_refused(sqlite_instance: Instance) -> None:
    before = len(authority.certificates_of(sqlite_instance.db, CITIZEN))
    with pytest.raises(CaError) as caught:
        _pair(sqlite_instance, _gost_csr(), _ec_csr())
    assert caught.value.code == "key_unsupported"
    assert len(authority.certificates_of(sqlite_instance.db, CITIZEN)) == before


def test_a_ca_without_a_gost_line_refuses_gost_requests(sqlite_instance: Instance) -> None:
    with pytest.raises(CaError) as caught:
        authority.issue(
            sqlite_instance.db,
            sqlite_instance.authority("gov"),
            _gost_csr(),
            iin="790424400014",
            role=Role.CIVIL_SERVANT,
            bin="990140004654",
            purpose=Purpose.SIGN,
            actor=ACTOR,
        )
    assert caught.value.code == "key_unsupported"
