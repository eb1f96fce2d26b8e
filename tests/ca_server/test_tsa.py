"""The time-stamping core (ca_server.tsa) grants, refuses and signs as RFC 3161 and RFC 5816 say.

Tokens are checked with signer_app.crypto.cms.verify and, independently, by hand with
cryptography; the TSA certificate is issued by the demo NAC issuing CA in a session fixture.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ca_server import tsa
from ca_server.tsa import TsaSigner
from signer_app.crypto import cms

CERTS = Path(__file__).resolve().parents[2] / "certs"
NOW = dt.datetime(2030, 6, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
DOCUMENT = "Құжат — документ — document".encode()


class Response(asn1_core.Sequence):  # type: ignore[misc]
    """TimeStampResp with the token OPTIONAL, as RFC 3161 has it (asn1crypto makes it mandatory)."""

    _fields = [
        ("status", asn1_tsp.PKIStatusInfo),
        ("time_stamp_token", asn1_cms.ContentInfo, {"optional": True}),
    ]


@pytest.fixture(scope="session")
def nac() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    certificate = x509.load_pem_x509_certificate((CERTS / "nac" / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key(
        (CERTS / "nac" / "ca.key.pem").read_bytes(), b"demo-ca-passphrase"
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return certificate, key


@pytest.fixture(scope="session")
def tsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def tsa_certificate(
    nac: tuple[x509.Certificate, rsa.RSAPrivateKey], tsa_key: rsa.RSAPrivateKey
) -> x509.Certificate:
    return tsa.make_tsa_certificate(
        nac[0], nac[1], tsa_key.public_key(), not_before=NOW - dt.timedelta(days=1)
    )


@pytest.fixture(scope="session")
def signer(tsa_certificate: x509.Certificate, tsa_key: rsa.RSAPrivateKey) -> TsaSigner:
    """The TSA with its defaults: policy .6.2, SHA-2 imprints, accuracy 1 s, whole seconds."""
    return TsaSigner(tsa_certificate, tsa_key)


def query(
    digest: str = "sha256",
    *,
    imprint: bytes | None = None,
    nonce: int | None = None,
    cert_req: bool = False,
    policy: str | None = None,
    version: int = 1,
    extensions: list[dict[str, object]] | None = None,
    null_parameters: bool = False,
) -> bytes:
    algorithm: dict[str, object] = {"algorithm": digest}
    if null_parameters:
        algorithm["parameters"] = asn1_core.Null()
    request: dict[str, object] = {
        "version": version,
        "message_imprint": {
            "hash_algorithm": algorithm,
            "hashed_message": imprint
            if imprint is not None
            else hashlib.new(digest, DOCUMENT).digest(),
        },
        "cert_req": cert_req,
    }
    if nonce is not None:
        request["nonce"] = nonce
    if policy is not None:
        request["req_policy"] = policy
    if extensions is not None:
        request["extensions"] = extensions
    return bytes(asn1_tsp.TimeStampReq(request).dump())


def stamp(signer: TsaSigner, request: bytes, serial: int = 1, now: dt.datetime = NOW) -> Response:
    response: Response = Response.load(tsa.respond(request, signer, serial=serial, now=now))
    return response


def token_of(response: Response) -> asn1_cms.ContentInfo:
    assert response["status"]["status"].native == "granted"
    token: asn1_cms.ContentInfo = response["time_stamp_token"]
    return token


def tst_info(response: Response) -> dict[str, Any]:
    content = token_of(response)["content"]["encap_content_info"]["content"].parsed
    native: dict[str, Any] = content.native
    return native


def fail_info(response: Response) -> set[str]:
    status = response["status"]
    assert status["status"].native == "rejection"
    assert isinstance(response["time_stamp_token"], asn1_core.Void)
    failure: set[str] = status["fail_info"].native
    return failure


# -- granted ---------------------------------------------------------------------------------


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_sha2_imprints_are_stamped_and_echoed(signer: TsaSigner, digest: str) -> None:
    info = tst_info(stamp(signer, query(digest)))
    assert info["version"] == "v1"
    assert info["message_imprint"]["hash_algorithm"]["algorithm"] == digest
    assert info["message_imprint"]["hashed_message"] == hashlib.new(digest, DOCUMENT).digest()


def test_the_imprint_is_echoed_as_encoded_with_null_parameters(signer: TsaSigner) -> None:
    request = query("sha512", null_parameters=True)
    sent = asn1_tsp.TimeStampReq.load(request)["message_imprint"].dump()
    content = token_of(stamp(signer, request))["content"]["encap_content_info"]["content"]
    assert content.parsed["message_imprint"].dump() == sent


@pytest.mark.parametrize("nonce", [1, 0x0123456789ABCDEF, 2**200 + 7, -5])
def test_the_nonce_is_echoed(signer: TsaSigner, nonce: int) -> None:
    assert tst_info(stamp(signer, query(nonce=nonce)))["nonce"] == nonce


def test_without_a_nonce_the_token_has_none(signer: TsaSigner) -> None:
    assert tst_info(stamp(signer, query()))["nonce"] is None


def test_the_default_policy_is_in_nca_s_tsa_arc(signer: TsaSigner) -> None:
    assert tst_info(stamp(signer, query()))["policy"] == "1.2.398.3.3.2.6.2"
    assert tst_info(stamp(signer, query(policy="1.2.398.3.3.2.6.2")))["policy"] == (
        "1.2.398.3.3.2.6.2"
    )


def test_an_accepted_policy_is_the_token_s_policy(
    tsa_certificate: x509.Certificate, tsa_key: rsa.RSAPrivateKey
) -> None:
    signer = TsaSigner(
        tsa_certificate,
        tsa_key,
        policy="1.2.398.3.3.2.6.1",
        accepted_policies=frozenset({"1.2.398.3.3.2.6.3"}),
    )
    assert tst_info(stamp(signer, query()))["policy"] == "1.2.398.3.3.2.6.1"
    assert tst_info(stamp(signer, query(policy="1.2.398.3.3.2.6.3")))["policy"] == (
        "1.2.398.3.3.2.6.3"
    )


def test_the_accuracy_is_one_second_by_default(signer: TsaSigner) -> None:
    accuracy = tst_info(stamp(signer, query()))["accuracy"]
    assert accuracy == {"seconds": 1, "millis": None, "micros": None}


def test_a_sub_second_accuracy_is_written_in_millis_and_micros(
    tsa_certificate: x509.Certificate, tsa_key: rsa.RSAPrivateKey
) -> None:
    signer = TsaSigner(
        tsa_certificate, tsa_key, accuracy=dt.timedelta(seconds=2, microseconds=500250)
    )
    accuracy = tst_info(stamp(signer, query()))["accuracy"]
    assert accuracy == {"seconds": 2, "millis": 500, "micros": 250}


def test_gen_time_is_now_in_whole_seconds_by_default(signer: TsaSigner) -> None:
    assert tst_info(stamp(signer, query()))["gen_time"] == NOW.replace(microsecond=0)


@pytest.mark.parametrize(
    ("digits", "microsecond", "text"),
    [
        (3, 250000, b"20300601120000.25Z"),
        (6, 123456, b"20300601120000.123456Z"),
        (3, 0, b"20300601120000Z"),
    ],
)
def test_gen_time_may_carry_fractional_seconds_without_trailing_zeros(
    tsa_certificate: x509.Certificate,
    tsa_key: rsa.RSAPrivateKey,
    digits: int,
    microsecond: int,
    text: bytes,
) -> None:
    signer = TsaSigner(tsa_certificate, tsa_key, fractional_digits=digits)
    response = stamp(signer, query(), now=NOW.replace(microsecond=microsecond))
    content = token_of(response)["content"]["encap_content_info"]["content"].parsed
    assert content["gen_time"].contents == text


def test_gen_time_is_utc_whatever_the_zone_of_now(signer: TsaSigner) -> None:
    almaty = dt.timezone(dt.timedelta(hours=5))
    info = tst_info(stamp(signer, query(), now=dt.datetime(2030, 6, 1, 17, 0, tzinfo=almaty)))
    assert info["gen_time"] == dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("serial", [1, 0x10_0000_0001, tsa.MAX_SERIAL])
def test_the_caller_s_serial_is_the_token_s_serial(signer: TsaSigner, serial: int) -> None:
    assert tst_info(stamp(signer, query(), serial=serial))["serial_number"] == serial


@pytest.mark.parametrize("serial", [0, -1, tsa.MAX_SERIAL + 1])
def test_a_serial_out_of_range_is_the_caller_s_error(signer: TsaSigner, serial: int) -> None:
    with pytest.raises(ValueError, match="serial"):
        tsa.respond(query(), signer, serial=serial)


def test_cert_req_puts_the_tsa_certificate_in_the_token(
    signer: TsaSigner, tsa_certificate: x509.Certificate
) -> None:
    signed_data = token_of(stamp(signer, query(cert_req=True)))["content"]
    certificates = [c.chosen.dump() for c in signed_data["certificates"]]
    assert certificates == [tsa_certificate.public_bytes(serialization.Encoding.DER)]


def test_without_cert_req_the_token_has_no_certificates(signer: TsaSigner) -> None:
    signed_data = token_of(stamp(signer, query()))["content"]
    assert isinstance(signed_data["certificates"], asn1_core.Void)


def test_a_configured_chain_goes_with_the_tsa_certificate(
    tsa_certificate: x509.Certificate,
    tsa_key: rsa.RSAPrivateKey,
    nac: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    signer = TsaSigner(tsa_certificate, tsa_key, chain=(nac[0],))
    signed_data = token_of(stamp(signer, query(cert_req=True)))["content"]
    assert len(signed_data["certificates"]) == 2


# -- the signature ---------------------------------------------------------------------------


def test_the_token_verifies_with_our_cms_verifier(
    signer: TsaSigner, tsa_certificate: x509.Certificate
) -> None:
    token = token_of(stamp(signer, query(nonce=42, cert_req=True))).dump()
    result = cms.verify(token)
    assert result.valid
    (only,) = result.signers
    assert only.certificate == tsa_certificate
    assert only.signing_time == NOW.replace(microsecond=0)
    assert only.problems == ()


def test_the_token_s_signature_and_message_digest_verify_by_hand(
    signer: TsaSigner, tsa_certificate: x509.Certificate
) -> None:
    signed_data = token_of(stamp(signer, query(nonce=42)))["content"]
    assert signed_data["version"].native == "v3"
    encap = signed_data["encap_content_info"]
    assert encap["content_type"].native == "tst_info"
    tst_der = encap["content"].contents
    (signer_info,) = signed_data["signer_infos"]
    attributes = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    assert attributes["content_type"].native == "tst_info"
    assert attributes["message_digest"].native == hashlib.sha256(tst_der).digest()
    assert attributes["signing_time"].native == NOW.replace(microsecond=0)
    ess = attributes["signing_certificate_v2"]["certs"][0]
    certificate_der = tsa_certificate.public_bytes(serialization.Encoding.DER)
    assert ess["cert_hash"].native == hashlib.sha256(certificate_der).digest()
    assert ess["issuer_serial"]["serial_number"].native == tsa_certificate.serial_number
    first_field = asn1_core.Sequence.load(ess.dump())[0]
    assert first_field.tag == 4  # hashAlgorithm left out: DER omits the default, SHA-256
    sid = signer_info["sid"].chosen
    assert sid["serial_number"].native == tsa_certificate.serial_number
    signed = b"\x31" + signer_info["signed_attrs"].dump()[1:]  # signed as a SET OF, not [0]
    public_key = tsa_certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signer_info["signature"].native, signed, padding.PKCS1v15(), hashes.SHA256())


def test_signed_attributes_are_in_der_order(signer: TsaSigner) -> None:
    signed_data = token_of(stamp(signer, query()))["content"]
    (signer_info,) = signed_data["signer_infos"]
    encoded = [attribute.dump() for attribute in signer_info["signed_attrs"]]
    assert encoded == sorted(encoded)
    assert len(encoded) == 4


def test_an_ec_tsa_signs_with_ecdsa(nac: tuple[x509.Certificate, rsa.RSAPrivateKey]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = tsa.make_tsa_certificate(
        nac[0], nac[1], key.public_key(), not_before=NOW - dt.timedelta(days=1)
    )
    token = token_of(stamp(TsaSigner(certificate, key), query(cert_req=True))).dump()
    assert cms.verify(token).valid


# -- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_der",
    [
        b"",
        b"garbage",
        b"\x30\x03\x02\x01",
        query()[:-5],
        query() + b"\x00",
        query(version=2),
        query(imprint=b"\x01" * 31),
        query("sha512", imprint=b"\x01" * 32),
    ],
    ids=[
        "empty",
        "garbage",
        "truncated header",
        "truncated",
        "trailing byte",
        "version 2",
        "short imprint",
        "imprint of the wrong size",
    ],
)
def test_a_malformed_request_is_rejected_with_bad_data_format(
    signer: TsaSigner, request_der: bytes
) -> None:
    assert fail_info(stamp(signer, request_der)) == {"bad_data_format"}


@pytest.mark.parametrize("digest", ["sha1", "md5", "sha224", "sha3_256"])
def test_a_weak_or_unsupported_hash_is_rejected_with_bad_alg(
    signer: TsaSigner, digest: str
) -> None:
    response = stamp(signer, query(digest))
    assert fail_info(response) == {"bad_alg"}
    assert "sha256" in response["status"]["status_string"].native[0]


def test_sha1_can_be_accepted_for_legacy_clients_when_configured(
    tsa_certificate: x509.Certificate, tsa_key: rsa.RSAPrivateKey
) -> None:
    signer = TsaSigner(
        tsa_certificate, tsa_key, accepted_digests=tsa.DEFAULT_ACCEPTED_DIGESTS | {"sha1"}
    )
    info = tst_info(stamp(signer, query("sha1")))
    assert info["message_imprint"]["hash_algorithm"]["algorithm"] == "sha1"


def test_an_unknown_policy_is_rejected_with_unaccepted_policy(signer: TsaSigner) -> None:
    assert fail_info(stamp(signer, query(policy="1.2.398.3.3.2.6.4"))) == {"unaccepted_policy"}


def test_a_request_extension_is_rejected_with_unaccepted_extension(signer: TsaSigner) -> None:
    extension = {"extn_id": "1.2.3.4", "critical": False, "extn_value": b"\x05\x00"}
    request = query(extensions=[extension])
    assert fail_info(stamp(signer, request)) == {"unaccepted_extensions"}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200))
def test_no_bytes_make_the_tsa_raise(signer: TsaSigner, data: bytes) -> None:
    response = stamp(signer, data)
    assert response["status"]["status"].native in ("granted", "rejection")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_a_request_with_any_byte_changed_is_granted_or_rejected(
    signer: TsaSigner, position: int, value: int
) -> None:
    request = bytearray(query(nonce=77, cert_req=True))
    request[position % len(request)] = value
    response = stamp(signer, bytes(request))
    if response["status"]["status"].native == "granted":
        result = cms.verify(token_of(response).dump())
        if result.certificates:
            assert result.valid
        else:  # the change turned certReq off
            assert result.signers[0].problems == (cms.CERTIFICATE_MISSING,)


# -- the TSA certificate ---------------------------------------------------------------------


def test_the_tsa_certificate_has_only_the_critical_time_stamping_eku(
    tsa_certificate: x509.Certificate, nac: tuple[x509.Certificate, rsa.RSAPrivateKey]
) -> None:
    tsa_certificate.verify_directly_issued_by(nac[0])
    eku = tsa_certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    usage = tsa_certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.key_cert_sign
    cn = tsa_certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn[0].value == "TIME-STAMPING AUTHORITY"


def test_the_tsa_certificate_may_say_where_its_status_is(
    nac: tuple[x509.Certificate, rsa.RSAPrivateKey], tsa_key: rsa.RSAPrivateKey
) -> None:
    certificate = tsa.make_tsa_certificate(
        nac[0],
        nac[1],
        tsa_key.public_key(),
        ocsp_url="http://127.0.0.1:8080/ocsp",
        ca_issuers_url="http://127.0.0.1:8080/ca/nac.crt",
        crl_url="http://127.0.0.1:8080/crl/nac.crl",
    )
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    assert [d.access_location.value for d in access.value] == [
        "http://127.0.0.1:8080/ocsp",
        "http://127.0.0.1:8080/ca/nac.crt",
    ]
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    full_name = points.value[0].full_name
    assert full_name is not None
    assert full_name[0].value == "http://127.0.0.1:8080/crl/nac.crl"


def test_a_certificate_without_the_critical_time_stamping_eku_is_refused(
    nac: tuple[x509.Certificate, rsa.RSAPrivateKey], tsa_key: rsa.RSAPrivateKey
) -> None:
    from ca_server import ocsp

    responder = ocsp.make_responder_certificate(nac[0], nac[1], tsa_key.public_key())
    with pytest.raises(ValueError, match="timeStamping"):
        TsaSigner(responder, tsa_key)


def test_a_key_that_is_not_the_certificate_s_is_refused(
    tsa_certificate: x509.Certificate,
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError, match="does not match"):
        TsaSigner(tsa_certificate, other)


@pytest.mark.parametrize(
    "options",
    [
        {"accepted_digests": frozenset({"md5"})},
        {"accepted_digests": frozenset()},
        {"fractional_digits": 7},
        {"accuracy": dt.timedelta(0)},
        {"policy": "not an oid"},
    ],
    ids=["md5", "no digest", "7 digits", "zero accuracy", "bad policy"],
)
def test_a_misconfigured_tsa_is_refused(
    tsa_certificate: x509.Certificate, tsa_key: rsa.RSAPrivateKey, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each option has its own message
        TsaSigner(tsa_certificate, tsa_key, **options)
