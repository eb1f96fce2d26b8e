"""The OCSP responder core (ca_server.ocsp) answers as RFC 6960 and RFC 8954 say, and never raises.

Requests are made with cryptography's OCSPRequestBuilder (one CertID) or asn1crypto (several
CertIDs, odd encodings); responses are read back with cryptography, an implementation we did
not write. The responder's certificate is issued by the demo NAC issuing CA in a session fixture.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import keys
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp as x509_ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ca_server import ocsp
from ca_server.ocsp import CachedResponder, CertId, CertStatus, OcspSigner, Status, TryLater

CERTS = Path(__file__).resolve().parents[2] / "certs"
NOW = dt.datetime(2030, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
REVOKED_AT = dt.datetime(2030, 5, 30, 8, 15, 0, tzinfo=dt.UTC)

OCSPResponseStatus = x509_ocsp.OCSPResponseStatus


@dataclass(frozen=True)
class Ca:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


def _ca(name: str) -> Ca:
    certificate = x509.load_pem_x509_certificate((CERTS / name / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key(
        (CERTS / name / "ca.key.pem").read_bytes(), b"demo-ca-passphrase"
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return Ca(certificate, key)


@pytest.fixture(scope="session")
def nac() -> Ca:
    return _ca("nac")


@pytest.fixture(scope="session")
def gov() -> Ca:
    return _ca("gov")


def _signer(ca: Ca, name: str) -> OcspSigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = ocsp.make_responder_certificate(
        ca.certificate,
        ca.key,
        key.public_key(),
        "OCSP RESPONDER",
        dt.timedelta(days=3650),
        not_before=NOW - dt.timedelta(days=1),
    )
    return OcspSigner(certificate, key, {name: ca.certificate})


@pytest.fixture(scope="session")
def nac_signer(nac: Ca) -> OcspSigner:
    """A delegated responder for the demo NAC issuing CA (its own fresh RSA-2048 key)."""
    return _signer(nac, "nac")


@pytest.fixture(scope="session")
def gov_signer(gov: Ca) -> OcspSigner:
    return _signer(gov, "gov")


@pytest.fixture(scope="session")
def leaves(demo: dict[str, Any]) -> dict[str, x509.Certificate]:
    """Demo certificates by id: citizen_sign (good), revoked_sign, civil_servant_sign (GOV CA)."""
    ids = ("citizen_sign", "revoked_sign", "civil_servant_sign", "ceo_sign")
    return {key_id: demo[key_id].open().certificate for key_id in ids}


@dataclass
class Statuses:
    """A status lookup over a dict, counting how often it is asked."""

    table: dict[CertId, CertStatus]
    calls: int = 0

    def __call__(self, cert_id: CertId) -> CertStatus:
        self.calls += 1
        return self.table.get(cert_id, CertStatus.unknown())


@pytest.fixture
def statuses(leaves: dict[str, x509.Certificate]) -> Statuses:
    revoked = CertStatus.revoked(REVOKED_AT, x509.ReasonFlags.key_compromise)
    return Statuses(
        {
            CertId("nac", leaves["citizen_sign"].serial_number): CertStatus.good(),
            CertId("nac", leaves["ceo_sign"].serial_number): CertStatus.good(),
            CertId("nac", leaves["revoked_sign"].serial_number): revoked,
            CertId("gov", leaves["civil_servant_sign"].serial_number): CertStatus.good(),
        }
    )


def request_for(
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    *,
    algorithm: hashes.HashAlgorithm | None = None,
    nonce: bytes | None = None,
) -> bytes:
    builder = x509_ocsp.OCSPRequestBuilder().add_certificate(
        leaf,
        issuer,
        algorithm or hashes.SHA1(),  # noqa: S303 - what openssl's CertIDs use
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def cert_id(serial: int, issuer: x509.Certificate, algorithm: str = "sha1") -> dict[str, object]:
    """An asn1crypto CertID, for requests cryptography's builder cannot make."""
    spki = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    bits = keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    return {
        "hash_algorithm": {"algorithm": algorithm},
        "issuer_name_hash": hashlib.new(algorithm, issuer.subject.public_bytes()).digest(),
        "issuer_key_hash": hashlib.new(algorithm, bits).digest(),
        "serial_number": serial,
    }


def raw_request(
    cert_ids: list[dict[str, object]], extensions: list[dict[str, object]] | None = None
) -> bytes:
    tbs: dict[str, object] = {"request_list": [{"req_cert": c} for c in cert_ids]}
    if extensions is not None:
        tbs["request_extensions"] = extensions
    return bytes(asn1_ocsp.OCSPRequest({"tbs_request": tbs}).dump())


def load(response: bytes) -> x509_ocsp.OCSPResponse:
    return x509_ocsp.load_der_ocsp_response(response)


def assert_signed_by(response: x509_ocsp.OCSPResponse, certificate: x509.Certificate) -> None:
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    algorithm = response.signature_hash_algorithm
    assert algorithm is not None
    public_key.verify(
        response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm
    )


# -- answers ---------------------------------------------------------------------------------


def test_a_good_certificate_is_answered_good(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    request = request_for(leaves["citizen_sign"], nac.certificate)
    response = load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    assert response.response_status is OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == leaves["citizen_sign"].serial_number
    assert response.revocation_time_utc is None


def test_a_revoked_certificate_is_answered_revoked_with_time_and_reason(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    request = request_for(leaves["revoked_sign"], nac.certificate)
    response = load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == REVOKED_AT
    assert response.revocation_reason is x509.ReasonFlags.key_compromise


@pytest.mark.parametrize(
    "reason",
    [
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.certificate_hold,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.ca_compromise,
        x509.ReasonFlags.privilege_withdrawn,
        x509.ReasonFlags.aa_compromise,
    ],
)
def test_every_revocation_reason_is_stated(
    nac: Ca, nac_signer: OcspSigner, leaves: dict[str, x509.Certificate], reason: x509.ReasonFlags
) -> None:
    request = request_for(leaves["citizen_sign"], nac.certificate)
    answer = ocsp.respond(
        request, nac_signer, lambda _: CertStatus.revoked(REVOKED_AT, reason), now=NOW
    )
    assert load(answer).revocation_reason is reason


@pytest.mark.parametrize("reason", [None, x509.ReasonFlags.unspecified])
def test_a_revocation_without_a_specific_reason_carries_no_reason(
    nac: Ca,
    nac_signer: OcspSigner,
    leaves: dict[str, x509.Certificate],
    reason: x509.ReasonFlags | None,
) -> None:
    request = request_for(leaves["citizen_sign"], nac.certificate)
    answer = ocsp.respond(
        request, nac_signer, lambda _: CertStatus.revoked(REVOKED_AT, reason), now=NOW
    )
    response = load(answer)
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason is None


def test_a_serial_the_ca_never_issued_is_answered_unknown(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses
) -> None:
    request = raw_request([cert_id(0x1234567890, nac.certificate)])
    response = load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    assert response.response_status is OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.UNKNOWN


def test_the_lookup_is_asked_with_the_ca_name_and_serial(
    nac: Ca, nac_signer: OcspSigner, leaves: dict[str, x509.Certificate]
) -> None:
    asked: list[CertId] = []

    def lookup(cert: CertId) -> CertStatus:
        asked.append(cert)
        return CertStatus.good()

    ocsp.respond(request_for(leaves["ceo_sign"], nac.certificate), nac_signer, lookup, now=NOW)
    assert asked == [CertId("nac", leaves["ceo_sign"].serial_number)]


def test_times_are_now_and_now_plus_the_validity(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    request = request_for(leaves["citizen_sign"], nac.certificate)
    moment = NOW + dt.timedelta(microseconds=654321)
    response = load(ocsp.respond(request, nac_signer, statuses, now=moment))
    assert response.produced_at_utc == NOW
    assert response.this_update_utc == NOW
    assert response.next_update_utc == NOW + ocsp.DEFAULT_VALIDITY


def test_the_response_validity_is_configurable(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    signer = OcspSigner(
        nac_signer.certificate,
        nac_signer.private_key,
        {"nac": nac.certificate},
        validity=dt.timedelta(minutes=10),
    )
    request = request_for(leaves["citizen_sign"], nac.certificate)
    response = load(ocsp.respond(request, signer, statuses, now=NOW))
    assert response.next_update_utc == NOW + dt.timedelta(minutes=10)


# -- signature and responder -----------------------------------------------------------------


def test_the_response_is_signed_by_the_responder_and_names_it_by_key(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    request = request_for(leaves["citizen_sign"], nac.certificate)
    response = load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    assert_signed_by(response, nac_signer.certificate)
    assert response.certificates == [nac_signer.certificate]
    assert response.responder_name is None
    ski = x509.SubjectKeyIdentifier.from_public_key(nac_signer.certificate.public_key())
    assert response.responder_key_hash == ski.digest  # SHA-1 of the key bits


def test_an_ec_responder_signs_with_ecdsa(
    nac: Ca, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = ocsp.make_responder_certificate(
        nac.certificate, nac.key, key.public_key(), not_before=NOW - dt.timedelta(days=1)
    )
    signer = OcspSigner(certificate, key, {"nac": nac.certificate})
    request = request_for(leaves["citizen_sign"], nac.certificate)
    response = load(ocsp.respond(request, signer, statuses, now=NOW))
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))


def test_the_responder_certificate_has_nca_s_responder_profile(
    nac: Ca, nac_signer: OcspSigner
) -> None:
    certificate = nac_signer.certificate
    certificate.verify_directly_issued_by(nac.certificate)
    extensions = certificate.extensions
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.key_cert_sign
    assert not usage.value.crl_sign
    eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    assert extensions.get_extension_for_class(x509.OCSPNoCheck)
    present = {extension.oid for extension in extensions}
    assert ExtensionOID.AUTHORITY_INFORMATION_ACCESS not in present
    assert ExtensionOID.CRL_DISTRIBUTION_POINTS not in present
    assert not extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    subject = [(attribute.oid, attribute.value) for attribute in certificate.subject]
    organisation = nac.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert subject == [
        (NameOID.COMMON_NAME, "OCSP RESPONDER"),
        (NameOID.COUNTRY_NAME, "KZ"),
        (NameOID.ORGANIZATION_NAME, organisation[0].value),
    ]


def test_a_responder_certificate_from_another_ca_is_refused(
    gov: Ca, nac: Ca, gov_signer: OcspSigner
) -> None:
    with pytest.raises(ValueError, match="not from CA"):
        OcspSigner(gov_signer.certificate, gov_signer.private_key, {"nac": nac.certificate})


def test_a_responder_certificate_without_the_ocsp_signing_eku_is_refused(nac: Ca) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "NOT OCSP")]))
        .issuer_name(nac.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(nac.key, hashes.SHA256())
    )
    with pytest.raises(ValueError, match="OCSPSigning"):
        OcspSigner(certificate, key, {"nac": nac.certificate})


def test_a_key_that_is_not_the_responder_certificate_s_is_refused(
    nac: Ca, nac_signer: OcspSigner
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError, match="does not match"):
        OcspSigner(nac_signer.certificate, other, {"nac": nac.certificate})


def test_the_ca_may_answer_for_itself(
    nac: Ca, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    signer = OcspSigner(nac.certificate, nac.key, {"nac": nac.certificate})
    request = request_for(leaves["citizen_sign"], nac.certificate)
    response = load(ocsp.respond(request, signer, statuses, now=NOW))
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.GOOD
    assert_signed_by(response, nac.certificate)


# -- CertID hashes and issuers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithm",
    [hashes.SHA1(), hashes.SHA224(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512()],  # noqa: S303
    ids=lambda a: a.name,
)
def test_cert_ids_made_with_each_hash_are_matched_and_echoed(
    nac: Ca,
    nac_signer: OcspSigner,
    statuses: Statuses,
    leaves: dict[str, x509.Certificate],
    algorithm: hashes.HashAlgorithm,
) -> None:
    request = request_for(leaves["revoked_sign"], nac.certificate, algorithm=algorithm)
    response = load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    parsed = x509_ocsp.load_der_ocsp_request(request)
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.REVOKED
    assert response.hash_algorithm.name == algorithm.name
    assert response.issuer_name_hash == parsed.issuer_name_hash
    assert response.issuer_key_hash == parsed.issuer_key_hash


def test_a_cert_id_without_algorithm_parameters_is_echoed_without_them(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    # asn1crypto leaves the parameters out where openssl writes NULL: both are legal, and a
    # client compares the CertID it sent with the one it gets.
    ids = [cert_id(leaves["citizen_sign"].serial_number, nac.certificate, "sha256")]
    request = raw_request(ids)
    sent = asn1_ocsp.OCSPRequest.load(request)["tbs_request"]["request_list"][0]["req_cert"]
    answer = asn1_ocsp.OCSPResponse.load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    single = answer.basic_ocsp_response["tbs_response_data"]["responses"][0]
    assert single["cert_id"].dump() == sent.dump()
    assert single["cert_status"].name == "good"


def test_a_request_about_another_ca_is_unauthorized_and_not_looked_up(
    gov: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    request = request_for(leaves["civil_servant_sign"], gov.certificate)
    response = load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    assert response.response_status is OCSPResponseStatus.UNAUTHORIZED
    assert statuses.calls == 0


def test_a_cert_id_made_with_an_unknown_hash_is_unauthorized(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    ids = [cert_id(leaves["citizen_sign"].serial_number, nac.certificate, "sha256")]
    ids[0]["hash_algorithm"] = {"algorithm": "sha3_256"}
    response = load(ocsp.respond(raw_request(ids), nac_signer, statuses, now=NOW))
    assert response.response_status is OCSPResponseStatus.UNAUTHORIZED


def test_several_responders_each_answer_for_their_own_ca(
    nac: Ca,
    gov: Ca,
    nac_signer: OcspSigner,
    gov_signer: OcspSigner,
    statuses: Statuses,
    leaves: dict[str, x509.Certificate],
) -> None:
    responders = [nac_signer, gov_signer]
    for leaf, ca, signer in (
        (leaves["citizen_sign"], nac, nac_signer),
        (leaves["civil_servant_sign"], gov, gov_signer),
    ):
        response = load(ocsp.respond(request_for(leaf, ca.certificate), responders, statuses))
        assert response.certificate_status is x509_ocsp.OCSPCertStatus.GOOD
        assert response.certificates == [signer.certificate]
        assert_signed_by(response, signer.certificate)


# -- several CertIDs -------------------------------------------------------------------------


def test_every_cert_id_of_a_request_is_answered_in_order(
    nac: Ca,
    gov: Ca,
    nac_signer: OcspSigner,
    statuses: Statuses,
    leaves: dict[str, x509.Certificate],
) -> None:
    request = raw_request(
        [
            cert_id(leaves["citizen_sign"].serial_number, nac.certificate),
            cert_id(leaves["revoked_sign"].serial_number, nac.certificate, "sha256"),
            cert_id(0x42, nac.certificate),
            cert_id(leaves["civil_servant_sign"].serial_number, gov.certificate),
        ],
        [{"extn_id": "nonce", "critical": False, "extn_value": b"n" * 16}],
    )
    response = load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    assert_signed_by(response, nac_signer.certificate)
    singles = list(response.responses)
    assert [s.serial_number for s in singles] == [
        leaves["citizen_sign"].serial_number,
        leaves["revoked_sign"].serial_number,
        0x42,
        leaves["civil_servant_sign"].serial_number,
    ]
    assert [s.certificate_status for s in singles] == [
        x509_ocsp.OCSPCertStatus.GOOD,
        x509_ocsp.OCSPCertStatus.REVOKED,
        x509_ocsp.OCSPCertStatus.UNKNOWN,
        x509_ocsp.OCSPCertStatus.UNKNOWN,  # another CA's certificate
    ]
    assert singles[1].revocation_reason is x509.ReasonFlags.key_compromise
    assert singles[1].hash_algorithm.name == "sha256"
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"n" * 16
    assert statuses.calls == 3  # the other CA's CertID is not looked up


def test_more_cert_ids_than_the_limit_are_malformed(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses
) -> None:
    ids = [cert_id(serial, nac.certificate) for serial in range(1, ocsp.MAX_REQUESTS + 2)]
    response = load(ocsp.respond(raw_request(ids), nac_signer, statuses))
    assert response.response_status is OCSPResponseStatus.MALFORMED_REQUEST
    ids = ids[: ocsp.MAX_REQUESTS]
    response = load(ocsp.respond(raw_request(ids), nac_signer, statuses))
    assert len(list(response.responses)) == ocsp.MAX_REQUESTS


# -- nonce -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 16, 32])
def test_the_nonce_is_echoed(
    nac: Ca,
    nac_signer: OcspSigner,
    statuses: Statuses,
    leaves: dict[str, x509.Certificate],
    size: int,
) -> None:
    nonce = os.urandom(size)
    request = request_for(leaves["citizen_sign"], nac.certificate, nonce=nonce)
    response = load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    echoed = response.extensions.get_extension_for_class(x509.OCSPNonce)
    assert echoed.value.nonce == nonce
    assert not echoed.critical


def test_a_request_without_a_nonce_gets_a_response_without_one(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    request = request_for(leaves["citizen_sign"], nac.certificate)
    response = load(ocsp.respond(request, nac_signer, statuses, now=NOW))
    assert len(response.extensions) == 0


def test_a_critical_nonce_is_understood(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    ids = [cert_id(leaves["citizen_sign"].serial_number, nac.certificate)]
    request = raw_request(ids, [{"extn_id": "nonce", "critical": True, "extn_value": b"x" * 20}])
    response = load(ocsp.respond(request, nac_signer, statuses))
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"x" * 20


# -- bad input -------------------------------------------------------------------------------


def _valid_request(nac: Ca, leaves: dict[str, x509.Certificate]) -> bytes:
    return request_for(leaves["citizen_sign"], nac.certificate, nonce=b"0123456789abcdef")


def _with_extension(nac: Ca, leaves: dict[str, x509.Certificate], **extension: object) -> bytes:
    ids = [cert_id(leaves["citizen_sign"].serial_number, nac.certificate)]
    return raw_request(ids, [extension])


BAD_REQUESTS: dict[str, Callable[[Ca, dict[str, x509.Certificate]], bytes]] = {
    "garbage": lambda nac, leaves: b"this is not an OCSP request",
    "empty": lambda nac, leaves: b"",
    "truncated": lambda nac, leaves: _valid_request(nac, leaves)[:-7],
    "only the header": lambda nac, leaves: _valid_request(nac, leaves)[:2],
    "trailing bytes": lambda nac, leaves: _valid_request(nac, leaves) + b"\x00",
    "an OCSP response": lambda nac, leaves: ocsp._MALFORMED,
    "no CertID": lambda nac, leaves: raw_request([]),
    "nonce of 33 bytes": lambda nac, leaves: request_for(
        leaves["citizen_sign"], nac.certificate, nonce=b"n" * 33
    ),
    "nonce of 1000 bytes": lambda nac, leaves: request_for(
        leaves["citizen_sign"], nac.certificate, nonce=os.urandom(1000)
    ),
    "empty nonce": lambda nac, leaves: request_for(
        leaves["citizen_sign"], nac.certificate, nonce=b""
    ),
    "nonce not in an OCTET STRING": lambda nac, leaves: request_for(
        leaves["citizen_sign"], nac.certificate, nonce=b"\xaa" * 16
    ).replace(b"\x04\x10" + b"\xaa" * 16, b"\x02\x10" + b"\xaa" * 16),
    "hash parameters other than NULL": lambda nac, leaves: request_for(
        leaves["citizen_sign"], nac.certificate
    ).replace(b"\x2b\x0e\x03\x02\x1a\x05\x00", b"\x2b\x0e\x03\x02\x1a\x02\x00", 1),
    "unknown critical extension": lambda nac, leaves: _with_extension(
        nac, leaves, extn_id="1.2.3.4", critical=True, extn_value=b"\x05\x00"
    ),
    "version 2": lambda nac, leaves: bytes(
        asn1_ocsp.OCSPRequest(
            {
                "tbs_request": {
                    "version": 1,
                    "request_list": [
                        {"req_cert": cert_id(leaves["citizen_sign"].serial_number, nac.certificate)}
                    ],
                }
            }
        ).dump()
    ),
}


@pytest.mark.parametrize("make", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_a_bad_request_is_answered_malformed_request_without_a_lookup(
    nac: Ca,
    nac_signer: OcspSigner,
    statuses: Statuses,
    leaves: dict[str, x509.Certificate],
    make: Callable[[Ca, dict[str, x509.Certificate]], bytes],
) -> None:
    response = load(ocsp.respond(make(nac, leaves), nac_signer, statuses, now=NOW))
    assert response.response_status is OCSPResponseStatus.MALFORMED_REQUEST
    assert statuses.calls == 0


def test_an_unknown_non_critical_extension_is_ignored(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    request = _with_extension(
        nac, leaves, extn_id="1.2.3.4", critical=False, extn_value=b"\x05\x00"
    )
    response = load(ocsp.respond(request, nac_signer, statuses))
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.GOOD


def test_a_lookup_that_cannot_answer_now_makes_try_later(
    nac: Ca, nac_signer: OcspSigner, leaves: dict[str, x509.Certificate]
) -> None:
    def lookup(_: CertId) -> CertStatus:
        raise TryLater("database down")

    request = request_for(leaves["citizen_sign"], nac.certificate)
    response = load(ocsp.respond(request, nac_signer, lookup))
    assert response.response_status is OCSPResponseStatus.TRY_LATER


def test_a_naive_now_is_the_caller_s_error(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    request = request_for(leaves["citizen_sign"], nac.certificate)
    with pytest.raises(ValueError, match="aware"):
        ocsp.respond(request, nac_signer, statuses, now=dt.datetime(2030, 1, 1))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_no_bytes_make_the_responder_raise(
    nac_signer: OcspSigner, statuses: Statuses, data: bytes
) -> None:
    response = load(ocsp.respond(data, nac_signer, statuses))
    assert response.response_status in (
        OCSPResponseStatus.MALFORMED_REQUEST,
        OCSPResponseStatus.UNAUTHORIZED,
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_a_request_with_any_byte_changed_gets_a_well_formed_response(
    nac: Ca,
    nac_signer: OcspSigner,
    statuses: Statuses,
    leaves: dict[str, x509.Certificate],
    position: int,
    value: int,
) -> None:
    request = bytearray(_valid_request(nac, leaves))
    request[position % len(request)] = value
    response = load(ocsp.respond(bytes(request), nac_signer, statuses, now=NOW))
    if response.response_status is OCSPResponseStatus.SUCCESSFUL:
        assert_signed_by(response, nac_signer.certificate)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(serial=st.integers(min_value=1, max_value=(1 << 160) - 1), nonce=st.binary(max_size=32))
def test_our_reading_of_a_request_agrees_with_cryptography_s(
    nac: Ca, serial: int, nonce: bytes
) -> None:
    builder = x509_ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        b"\x01" * 32, b"\x02" * 32, serial, hashes.SHA256()
    )
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    request = builder.build().public_bytes(serialization.Encoding.DER)
    parsed = ocsp._parse(request)
    assert parsed is not None
    (query,) = parsed.queries
    assert (query.algorithm, query.name_hash, query.key_hash) == (
        "sha256",
        b"\x01" * 32,
        b"\x02" * 32,
    )
    assert query.serial_number == serial
    assert parsed.nonce == (nonce or None)


# -- statuses --------------------------------------------------------------------------------


def test_a_revoked_status_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        CertStatus.revoked(dt.datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="removeFromCRL"):
        CertStatus.revoked(REVOKED_AT, x509.ReasonFlags.remove_from_crl)
    with pytest.raises(ValueError, match="no revocation time"):
        CertStatus(Status.GOOD, REVOKED_AT)


# -- cache -----------------------------------------------------------------------------------


def test_the_cache_returns_the_same_response_to_the_same_nonce_less_request(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    cache = CachedResponder(nac_signer, statuses)
    request = request_for(leaves["citizen_sign"], nac.certificate)
    first = cache.respond(request, now=NOW)
    second = cache.respond(request, now=NOW + dt.timedelta(seconds=30))
    assert second == first
    assert statuses.calls == 1
    assert (cache.hits, cache.misses) == (1, 1)


def test_invalidate_makes_the_cache_answer_the_new_status(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    cache = CachedResponder(nac_signer, statuses)
    serial = leaves["citizen_sign"].serial_number
    request = request_for(leaves["citizen_sign"], nac.certificate)
    assert load(cache.respond(request, now=NOW)).certificate_status is x509_ocsp.OCSPCertStatus.GOOD
    statuses.table[CertId("nac", serial)] = CertStatus.revoked(NOW, x509.ReasonFlags.superseded)
    assert load(cache.respond(request, now=NOW)).certificate_status is x509_ocsp.OCSPCertStatus.GOOD
    cache.invalidate(serial)
    fresh = load(cache.respond(request, now=NOW))
    assert fresh.certificate_status is x509_ocsp.OCSPCertStatus.REVOKED
    assert fresh.revocation_reason is x509.ReasonFlags.superseded
    assert statuses.calls == 2


def test_invalidate_leaves_other_certificates_cached(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    cache = CachedResponder(nac_signer, statuses)
    citizen = request_for(leaves["citizen_sign"], nac.certificate)
    ceo = request_for(leaves["ceo_sign"], nac.certificate)
    cache.respond(citizen, now=NOW)
    cache.respond(ceo, now=NOW)
    cache.invalidate(leaves["citizen_sign"].serial_number)
    cache.respond(ceo, now=NOW)
    assert statuses.calls == 2
    assert cache.hits == 1


def test_a_request_with_a_nonce_is_signed_afresh_but_its_status_is_cached(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    cache = CachedResponder(nac_signer, statuses)
    answers = []
    for nonce in (b"a" * 16, b"b" * 16):
        request = request_for(leaves["citizen_sign"], nac.certificate, nonce=nonce)
        response = load(cache.respond(request, now=NOW))
        answers.append(response)
        assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    assert answers[0].signature != answers[1].signature
    assert statuses.calls == 1
    assert cache.hits == 0


def test_cached_answers_expire_after_max_age(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    cache = CachedResponder(nac_signer, statuses, max_age=dt.timedelta(seconds=60))
    request = request_for(leaves["citizen_sign"], nac.certificate)
    first = cache.respond(request, now=NOW)
    later = cache.respond(request, now=NOW + dt.timedelta(seconds=60))
    assert later != first
    assert load(later).this_update_utc == NOW + dt.timedelta(seconds=60)
    assert statuses.calls == 2


def test_unknown_answers_are_never_cached(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses
) -> None:
    cache = CachedResponder(nac_signer, statuses)
    request = raw_request([cert_id(0xDEAD, nac.certificate)])
    cache.respond(request, now=NOW)
    cache.respond(request, now=NOW)
    assert statuses.calls == 2
    assert cache.hits == 0


def test_the_cache_keeps_at_most_max_entries(
    nac: Ca, nac_signer: OcspSigner, leaves: dict[str, x509.Certificate]
) -> None:
    cache = CachedResponder(nac_signer, lambda _: CertStatus.good(), max_entries=2)
    requests = [raw_request([cert_id(serial, nac.certificate)]) for serial in (1, 2, 3)]
    for request in requests:
        cache.respond(request, now=NOW)
    cache.respond(requests[0], now=NOW)  # evicted: the oldest
    cache.respond(requests[2], now=NOW)  # still there
    assert cache.hits == 1


def test_the_cache_answers_bad_input_like_respond(
    nac_signer: OcspSigner, statuses: Statuses
) -> None:
    cache = CachedResponder(nac_signer, statuses)
    response = load(cache.respond(b"\x30\x03\x02\x01"))
    assert response.response_status is OCSPResponseStatus.MALFORMED_REQUEST


def test_a_status_change_during_a_lookup_is_not_cached(
    nac: Ca, nac_signer: OcspSigner, leaves: dict[str, x509.Certificate]
) -> None:
    serial = leaves["citizen_sign"].serial_number
    cache: CachedResponder

    def racing(_: CertId) -> CertStatus:
        cache.invalidate(serial)  # a revocation lands while the old status is being signed
        return CertStatus.good()

    cache = CachedResponder(nac_signer, racing)
    request = request_for(leaves["citizen_sign"], nac.certificate)
    cache.respond(request, now=NOW)
    cache.respond(request, now=NOW)
    assert cache.hits == 0


def test_requests_in_other_encodings_share_the_cached_status(
    nac: Ca, nac_signer: OcspSigner, statuses: Statuses, leaves: dict[str, x509.Certificate]
) -> None:
    cache = CachedResponder(nac_signer, statuses)
    for algorithm in (hashes.SHA1(), hashes.SHA256()):  # noqa: S303 - openssl's default CertID
        request = request_for(leaves["citizen_sign"], nac.certificate, algorithm=algorithm)
        response = load(cache.respond(request, now=NOW))
        assert response.hash_algorithm.name == algorithm.name
    assert statuses.calls == 1
    assert cache.misses == 2


def test_the_cache_stays_consistent_under_concurrent_revocations(
    nac: Ca, nac_signer: OcspSigner, leaves: dict[str, x509.Certificate]
) -> None:
    serial = leaves["citizen_sign"].serial_number
    revoked = threading.Event()

    def lookup(_: CertId) -> CertStatus:
        return CertStatus.revoked(NOW, None) if revoked.is_set() else CertStatus.good()

    cache = CachedResponder(nac_signer, lookup)
    request = request_for(leaves["citizen_sign"], nac.certificate)

    def ask(number: int) -> bytes:
        if number == 20:
            revoked.set()
            cache.invalidate(serial)
        return cache.respond(request, now=NOW)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(ask, range(60)))
    final = load(cache.respond(request, now=NOW))
    assert final.certificate_status is x509_ocsp.OCSPCertStatus.REVOKED
