"""Enrolment over HTTP: POST /api/v1/enroll turns two PKCS#10 requests and a one-time code (or a
renewal signed with the old AUTH key) into a committed AUTH + SIGN pair; every bad input gets a
precise status and code and changes nothing but the audit log; anyone may ask a certificate's
status."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ca_http_support import make_client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp as x509_ocsp
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from ca_server import audit, registry
from ca_server.db import Database, utcnow
from ca_server.enrollment import renewal_request
from ca_server.instance import Instance
from signer_app.crypto import cms

CITIZEN = "850101300124"
CEO = "750315300018"
UNREGISTERED = "980102200348"  # a valid IIN nobody registered
WRONG_CHECK_DIGIT = "850101300125"
OPERATOR = "operator:test"

# Tables of refusals run on SQLite only: what they check is the HTTP layer's answer; that a
# refusal rolls back on both databases is the core's tests' (test_enrollment, test_registry).
Counts = Callable[[Database], dict[str, int]]
CsrFactory = Callable[..., tuple[Any, bytes]]


@pytest.fixture
def client(instance: Instance) -> Iterator[TestClient]:
    with make_client(instance) as client:
        yield client


def pem(der: bytes) -> str:
    csr = x509.load_der_x509_csr(der)
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def code_for(instance: Instance, iin: str = CITIZEN, purpose: str = "enroll", **kw: Any) -> str:
    return registry.create_ticket(instance.db, iin, OPERATOR, purpose, **kw).code


def body(make_csr: CsrFactory, iin: str = CITIZEN, **fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "iin": iin,
        "csr_auth": pem(make_csr(iin)[1]),
        "csr_sign": pem(make_csr(iin)[1]),
    }
    request.update(fields)
    return request


def test_a_one_time_code_gets_a_committed_pair_with_its_chain(
    client: TestClient, instance: Instance, make_csr: CsrFactory, counts: Counts
) -> None:
    before = counts(instance.db)
    answer = client.post(
        "/api/v1/enroll", json=body(make_csr, code=code_for(instance).lower())
    )  # codes are forgiving of case
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    auth = x509.load_pem_x509_certificate(issued["auth"].encode())
    sign = x509.load_pem_x509_certificate(issued["sign"].encode())
    ca, root = (x509.load_pem_x509_certificate(c.encode()) for c in issued["chain"])
    auth.verify_directly_issued_by(ca)
    sign.verify_directly_issued_by(ca)
    ca.verify_directly_issued_by(root)
    assert issued["ca"] == "nac"
    assert issued["serials"] == {
        "auth": f"{auth.serial_number:040x}",
        "sign": f"{sign.serial_number:040x}",
    }
    assert f"IIN{CITIZEN}" in auth.subject.rfc4514_string()
    after = counts(instance.db)
    assert after["certificates"] == before["certificates"] + 2
    assert after["used_tickets"] == before["used_tickets"] + 1
    status = client.get(f"/api/v1/certificates/{issued['serials']['auth']}").json()
    assert (status["status"], status["purpose"], status["iin"]) == ("good", "auth", CITIZEN)
    logged = audit.read(instance.db, action="certificate.issue")[-1]
    assert logged.remote_addr == "testclient"


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
def test_a_csr_sent_as_base64_der_is_accepted(
    client: TestClient, instance: Instance, make_csr: CsrFactory
) -> None:
    request = {
        "iin": CITIZEN,
        "code": code_for(instance),
        "csr_auth": base64.b64encode(make_csr(CITIZEN)[1]).decode(),
        "csr_sign": base64.b64encode(make_csr(CITIZEN)[1]).decode(),
    }
    assert client.post("/api/v1/enroll", json=request).status_code == 201


def _status_of(client: TestClient, certificate: x509.Certificate, issuer: str) -> str:
    ca = x509.load_der_x509_certificate(client.get(f"/ca/{issuer}.crt").content)
    request = (
        x509_ocsp.OCSPRequestBuilder()
        .add_certificate(certificate, ca, hashes.SHA1())  # noqa: S303 - as openssl sends CertIDs
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    answer = client.post("/ocsp", content=request)
    return x509_ocsp.load_der_ocsp_response(answer.content).certificate_status.name


def test_a_reissue_code_supersedes_the_old_pair_and_ocsp_says_so_at_once(
    client: TestClient, instance: Instance, make_csr: CsrFactory, demo: dict[str, Any]
) -> None:
    old = demo["citizen_auth"].open().certificate
    assert _status_of(client, old, "nac") == "GOOD"  # now in the OCSP cache
    answer = client.post(
        "/api/v1/enroll", json=body(make_csr, code=code_for(instance, purpose="reissue"))
    )
    assert answer.status_code == 201
    old_status = client.get(f"/api/v1/certificates/{old.serial_number:x}").json()
    assert (old_status["status"], old_status["reason"]) == ("revoked", "superseded")
    assert old_status["superseded_by"] == answer.json()["serials"]["auth"]
    assert _status_of(client, old, "nac") == "REVOKED"


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
def test_a_renewal_signed_with_the_old_auth_key_gets_a_pair(
    client: TestClient, make_csr: CsrFactory, demo: dict[str, Any]
) -> None:
    auth_der, sign_der = make_csr(CITIZEN)[1], make_csr(CITIZEN)[1]
    signed = cms.sign(renewal_request(CITIZEN, auth_der, sign_der), demo["citizen_auth"].open())
    request = {
        "iin": CITIZEN,
        "csr_auth": pem(auth_der),
        "csr_sign": pem(sign_der),
        "renewal_signature": base64.b64encode(signed).decode(),
    }
    answer = client.post("/api/v1/enroll", json=request)
    assert answer.status_code == 201, answer.text
    replay = client.post("/api/v1/enroll", json=request)
    assert (replay.status_code, replay.json()["code"]) == (403, "signer_revoked")


def _tampered(der: bytes) -> str:
    broken = bytearray(der)
    broken[-5] ^= 0x01  # inside the signature
    return base64.b64encode(bytes(broken)).decode()


def _weak(make_csr: CsrFactory) -> str:
    return pem(
        make_csr(CITIZEN, key=rsa.generate_private_key(public_exponent=65537, key_size=1024))[1]  # noqa: S505
    )


def _other_person(make_csr: CsrFactory) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{CEO}")])
    return pem(make_csr(subject=subject)[1])


def _same_key(request: dict[str, Any]) -> dict[str, Any]:
    return {**request, "csr_sign": request["csr_auth"]}


BAD_INPUTS: list[tuple[str, Callable[[Instance, CsrFactory], Any], int, str]] = [
    (
        "malformed csr",
        lambda i, m: body(
            m,
            code=code_for(i),
            csr_auth="-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
        ),
        400,
        "csr_malformed",
    ),
    (
        "csr not base64",
        lambda i, m: body(m, code=code_for(i), csr_sign="%%%"),
        400,
        "csr_malformed",
    ),
    (
        "csr with a wrong signature",
        lambda i, m: body(m, code=code_for(i), csr_auth=_tampered(m(CITIZEN)[1])),
        400,
        "csr_bad_signature",
    ),
    (
        "csr claiming another iin",
        lambda i, m: body(m, code=code_for(i), csr_sign=_other_person(m)),
        422,
        "csr_subject_mismatch",
    ),
    (
        "rsa-1024 key",
        lambda i, m: body(m, code=code_for(i), csr_auth=_weak(m)),
        422,
        "key_too_weak",
    ),
    ("one key for both", lambda i, m: _same_key(body(m, code=code_for(i))), 422, "key_reused"),
    # An unknown IIN cannot hold a code: the answer does not tell strangers who is registered.
    ("unknown iin", lambda i, m: body(m, UNREGISTERED, code=code_for(i)), 403, "code_invalid"),
    (
        "wrong check digit",
        lambda i, m: body(m, WRONG_CHECK_DIGIT, code=code_for(i)),
        422,
        "invalid_iin",
    ),
    ("iin not digits", lambda i, m: body(m, "85010130012X", code=code_for(i)), 422, "invalid_iin"),
    ("code of another person", lambda i, m: body(m, code=code_for(i, CEO)), 403, "code_invalid"),
    ("no authorisation", lambda i, m: body(m), 422, "invalid_input"),
    (
        "code and signature",
        lambda i, m: body(m, code=code_for(i), renewal_signature="MAA="),
        422,
        "invalid_input",
    ),
    ("bad signature", lambda i, m: body(m, renewal_signature="MAA="), 403, "signature_invalid"),
    ("unknown role", lambda i, m: body(m, code=code_for(i), role="king"), 422, "unknown_role"),
    ("unknown field", lambda i, m: body(m, code=code_for(i), admin=True), 422, "invalid_input"),
    (
        "role not held",
        lambda i, m: body(m, code=code_for(i), role="head", bin="940140000385"),
        403,
        "profile_not_allowed",
    ),
]


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("make", "status", "code"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_enrolment_input_gets_a_precise_error_and_changes_nothing(
    client: TestClient,
    instance: Instance,
    make_csr: CsrFactory,
    counts: Counts,
    make: Callable[[Instance, CsrFactory], Any],
    status: int,
    code: str,
) -> None:
    request = make(instance, make_csr)
    before = counts(instance.db)
    answer = client.post("/api/v1/enroll", json=request)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.json()["message"]
    assert counts(instance.db) == before


@pytest.mark.parametrize("scenario", ["replayed", "expired"])
def test_a_replayed_or_expired_code_issues_nothing(
    client: TestClient, instance: Instance, make_csr: CsrFactory, counts: Counts, scenario: str
) -> None:
    created = utcnow() - dt.timedelta(hours=2) if scenario == "expired" else None
    code = registry.create_ticket(
        instance.db, CITIZEN, OPERATOR, "enroll", dt.timedelta(hours=1), now=created
    ).code
    if scenario == "replayed":
        assert client.post("/api/v1/enroll", json=body(make_csr, code=code)).status_code == 201
    before = counts(instance.db)
    answer = client.post("/api/v1/enroll", json=body(make_csr, code=code))
    expected = "code_used" if scenario == "replayed" else "code_expired"
    assert (answer.status_code, answer.json()["code"]) == (403, expected)
    assert counts(instance.db) == before
    refused = audit.read(instance.db, action="certificate.issue")[-1]
    assert (refused.outcome, refused.remote_addr) == (expected, "testclient")


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"iin": 5}'])
def test_a_body_that_is_not_the_request_is_422(client: TestClient, raw: bytes) -> None:
    answer = client.post(
        "/api/v1/enroll", content=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json()["code"] in {"invalid_input", "invalid_iin"}


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("serial", "status", "code"),
    [("00ff", 404, "not_found"), ("xyz", 422, "invalid_input"), ("1" * 70, 422, "invalid_input")],
)
def test_the_status_of_an_unknown_or_malformed_serial_is_a_precise_error(
    client: TestClient, serial: str, status: int, code: str
) -> None:
    answer = client.get(f"/api/v1/certificates/{serial}")
    assert (answer.status_code, answer.json()["code"]) == (status, code)


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
def test_anyone_may_ask_a_demo_certificate_s_status(
    client: TestClient, demo_rows: dict[str, Any]
) -> None:
    serial = demo_rows["revoked_sign"]["serial"]
    found = client.get(f"/api/v1/certificates/{serial.upper()}").json()
    assert (found["serial"], found["status"], found["ca"]) == (serial, "revoked", "nac")


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
def test_one_client_guessing_codes_for_many_people_is_stopped(
    client: TestClient, instance: Instance, make_csr: CsrFactory
) -> None:
    people = [CITIZEN, "750315300018", "790424400014", "900705400126", "950228400013"]
    for iin in people:  # four wrong codes each: under the per-IIN limit, 20 from one client
        for _ in range(4):
            wrong = body(make_csr, iin, code="AAAA-BBBB-CCCC-DDDD")
            answer = client.post("/api/v1/enroll", json=wrong)
            assert answer.json()["code"] == "code_invalid"
    answer = client.post("/api/v1/enroll", json=body(make_csr, code=code_for(instance)))
    assert answer.status_code == 429
    assert answer.json()["code"] == "too_many_attempts"
