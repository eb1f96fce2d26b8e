"""Operators over HTTP: a PSC operator signs a challenge with their GOV CA AUTH key and gets a
bearer token; with it they look a citizen up, revoke a lost key and hand out a re-issue code
once the identity document matches; the citizen then enrols with the code. Each action is
allowed by role and written to the audit log with who, from where and the request's hash; a
wrong credential or a missing role is a precise refusal that changes nothing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ca_http_support import foreign_entry, make_client, sign_challenge, sign_in
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from ca_server import audit, operators_auth
from ca_server.db import Database, Operator, OperatorSession, utcnow
from ca_server.instance import Instance, demo_id_document_number
from signer_app.crypto import cms

CITIZEN = "850101300124"
CIVIL_SERVANT = "790424400014"
PSC_OPERATOR = "880612300019"

# Tables of refusals run on SQLite only: what they check is the HTTP layer's answer; that a
# refusal rolls back on both databases is the core's tests' (test_enrollment, test_registry).
Counts = Callable[[Database], dict[str, int]]
CsrFactory = Callable[..., tuple[Any, bytes]]


@pytest.fixture
def client(instance: Instance) -> Iterator[TestClient]:
    with make_client(instance) as client:
        yield client


@pytest.fixture
def sqlite_client(sqlite_instance: Instance) -> Iterator[TestClient]:
    with make_client(sqlite_instance) as client:
        yield client


def sessions(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(OperatorSession)) or 0


def set_role(db: Database, iin: str, role: str, certificate_serial: str | None = None) -> None:
    """Make `iin` an operator with `role` (a new row for `certificate_serial`, else update)."""
    with db.transaction() as session:
        if certificate_serial is None:
            session.execute(update(Operator).where(Operator.iin == iin).values(role=role))
        else:
            session.add(Operator(iin=iin, role=role, certificate_serial=certificate_serial))


def ticket_request(number: str, iin: str = CITIZEN, purpose: str = "reissue") -> dict[str, Any]:
    return {"iin": iin, "purpose": purpose, "id_document": {"type": "id_card", "number": number}}


def pem(der: bytes) -> str:
    return x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM).decode()


# -- the whole story --------------------------------------------------------------------------


def test_an_operator_finds_a_citizen_revokes_and_the_citizen_re_enrols_with_the_code(
    client: TestClient,
    instance: Instance,
    demo: dict[str, Any],
    demo_rows: dict[str, Any],
    make_csr: CsrFactory,
) -> None:
    operator = sign_in(client, demo["psc_operator_auth"].open())
    me = client.get("/api/v1/operators/me", headers=operator).json()
    assert (me["iin"], me["role"]) == (PSC_OPERATOR, "operator")
    assert me["certificate_serial"] == demo_rows["psc_operator_auth"]["serial"]

    person = client.get(f"/api/v1/persons/{CITIZEN}", headers=operator)
    assert person.status_code == 200
    assert (person.json()["surname"], person.json()["has_id_document"]) == ("ЖҰМАБЕКОВ", True)
    assert "id_document_number" not in person.text  # the operator types it from the document
    held = client.get(f"/api/v1/persons/{CITIZEN}/certificates", headers=operator).json()
    lost = demo_rows["citizen_sign"]["serial"]
    assert lost in {c["serial"] for c in held}

    revoked = client.post(
        f"/api/v1/certificates/{lost}/revoke", json={"reason": "keyCompromise"}, headers=operator
    )
    assert revoked.status_code == 200
    assert (revoked.json()["ca"], revoked.json()["reason"]) == ("nac", "keyCompromise")
    crl = x509.load_der_x509_crl(client.get("/crl/nac.crl").content)
    assert int(lost, 16) in {entry.serial_number for entry in crl}

    number = demo_id_document_number(CITIZEN)
    ticket = client.post(
        "/api/v1/tickets", json=ticket_request(f" {number.lower()} "), headers=operator
    )
    assert ticket.status_code == 201, ticket.text
    assert ticket.headers["cache-control"] == "no-store"
    code = ticket.json()["code"]

    enrolled = client.post(
        "/api/v1/enroll",
        json={
            "iin": CITIZEN,
            "code": code,
            "csr_auth": pem(make_csr(CITIZEN)[1]),
            "csr_sign": pem(make_csr(CITIZEN)[1]),
        },
    )
    assert enrolled.status_code == 201, enrolled.text
    old_auth = client.get(f"/api/v1/certificates/{demo_rows['citizen_auth']['serial']}").json()
    assert (old_auth["status"], old_auth["reason"]) == ("revoked", "superseded")
    assert old_auth["superseded_by"] == enrolled.json()["serials"]["auth"]

    # Every step is in the audit log under the operator's name, from the client's address,
    # with the request's hash; the code itself never is.
    actions = {
        entry.action: entry
        for entry in audit.read(instance.db, actor=f"operator:{PSC_OPERATOR}", limit=100)
    }
    assert {
        "operator.sign_in",
        "person.read",
        "person.certificates",
        "certificate.revoke",
        "ticket.create",
    } <= set(actions)
    revoke_row = actions["certificate.revoke"]
    assert (revoke_row.target, revoke_row.remote_addr, revoke_row.outcome) == (
        lost,
        "testclient",
        "ok",
    )
    body = b'{"reason":"keyCompromise"}'
    line = f"POST /api/v1/certificates/{lost}/revoke\n".encode()
    assert revoke_row.request_sha256 == hashlib.sha256(line + body).hexdigest()
    assert actions["ticket.create"].details["document_checked"] == "id_card"
    everything = " ".join(str(e.to_dict()) for e in audit.read(instance.db, limit=1000))
    assert code not in everything
    assert number not in everything


def test_signing_out_ends_the_token(sqlite_client: TestClient, demo: dict[str, Any]) -> None:
    operator = sign_in(sqlite_client, demo["psc_operator_auth"].open())
    assert sqlite_client.delete("/api/v1/operators/session", headers=operator).status_code == 204
    answer = sqlite_client.get("/api/v1/operators/me", headers=operator)
    assert (answer.status_code, answer.json()["code"]) == (401, "unauthenticated")


def test_a_detached_signature_over_the_challenge_signs_in_too(
    sqlite_client: TestClient, demo: dict[str, Any]
) -> None:
    signed = sign_challenge(sqlite_client, demo["psc_operator_auth"].open(), detached=True)
    assert sqlite_client.post("/api/v1/operators/session", json=signed).status_code == 201


# -- signing in with the wrong thing ----------------------------------------------------------


def _foreign_signed(client: TestClient) -> dict[str, str]:
    return sign_challenge(client, foreign_entry(PSC_OPERATOR))


def _replayed(client: TestClient, demo: dict[str, Any]) -> dict[str, str]:
    signed = sign_challenge(client, demo["psc_operator_auth"].open())
    assert client.post("/api/v1/operators/session", json=signed).status_code == 201
    return signed


def _expired(client: TestClient, demo: dict[str, Any]) -> dict[str, str]:
    db = client.app.state.ca.db  # type: ignore[attr-defined]
    made = operators_auth.create_challenge(db, now=utcnow() - dt.timedelta(minutes=10))
    signature = cms.sign(made.value, demo["psc_operator_auth"].open())
    return {
        "challenge": base64.b64encode(made.value).decode(),
        "signature": base64.b64encode(signature).decode(),
    }


def _other_bytes(client: TestClient, demo: dict[str, Any]) -> dict[str, str]:
    signed = sign_challenge(client, demo["psc_operator_auth"].open())
    other = cms.sign(b"something else", demo["psc_operator_auth"].open())
    return {**signed, "signature": base64.b64encode(other).decode()}


SIGN_IN_REFUSALS: list[tuple[str, Callable[[TestClient, dict[str, Any]], Any], int, str]] = [
    (
        "a citizen's NAC auth key",
        lambda c, d: sign_challenge(c, d["citizen_auth"].open()),
        403,
        "operator_wrong_ca",
    ),
    (
        "a GOV CA key of no operator",
        lambda c, d: sign_challenge(c, d["civil_servant_auth"].open()),
        403,
        "operator_not_registered",
    ),
    (
        "the operator's sign key",
        lambda c, d: sign_challenge(c, d["psc_operator_sign"].open()),
        403,
        "signer_not_auth",
    ),
    ("a certificate this CA never issued", lambda c, d: _foreign_signed(c), 403, "signer_unknown"),
    ("a replayed challenge", _replayed, 403, "challenge_used"),
    ("an expired challenge", _expired, 403, "challenge_expired"),
    (
        "a challenge never given",
        lambda c, d: {**sign_challenge(c, d["psc_operator_auth"].open()), "challenge": "AAAA"},
        403,
        "challenge_invalid",
    ),
    ("a signature over other bytes", _other_bytes, 403, "signature_invalid"),
    (
        "a signature that is no CMS",
        lambda c, d: {**sign_challenge(c, d["psc_operator_auth"].open()), "signature": "MAA="},
        403,
        "signature_invalid",
    ),
]


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("make", "status", "code"),
    [case[1:] for case in SIGN_IN_REFUSALS],
    ids=[case[0] for case in SIGN_IN_REFUSALS],
)
def test_a_wrong_credential_is_a_precise_refusal_that_opens_no_session(
    client: TestClient,
    instance: Instance,
    demo: dict[str, Any],
    counts: Counts,
    make: Callable[[TestClient, dict[str, Any]], Any],
    status: int,
    code: str,
) -> None:
    request = make(client, demo)
    before, opened = counts(instance.db), sessions(instance.db)
    answer = client.post("/api/v1/operators/session", json=request)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert (counts(instance.db), sessions(instance.db)) == (before, opened)
    refused = audit.read(instance.db, action="operator.sign_in")[-1]
    assert (refused.outcome, refused.remote_addr) == (code, "testclient")


def test_a_challenge_that_is_not_base64_is_refused_before_the_ca_core(
    sqlite_client: TestClient,
) -> None:
    answer = sqlite_client.post(
        "/api/v1/operators/session", json={"challenge": "***", "signature": "MAA="}
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "challenge_invalid")


def test_a_refused_sign_in_leaves_the_challenge_usable(
    sqlite_client: TestClient, demo: dict[str, Any]
) -> None:
    signed = sign_challenge(sqlite_client, demo["citizen_auth"].open())
    assert sqlite_client.post("/api/v1/operators/session", json=signed).status_code == 403
    again = cms.sign(base64.b64decode(signed["challenge"]), demo["psc_operator_auth"].open())
    retry = {**signed, "signature": base64.b64encode(again).decode()}
    assert sqlite_client.post("/api/v1/operators/session", json=retry).status_code == 201


# -- tokens ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["none", "unknown", "basic"],
)
def test_operator_endpoints_without_a_valid_token_are_401(
    sqlite_client: TestClient, headers: dict[str, str]
) -> None:
    for method, path in [
        ("GET", f"/api/v1/persons/{CITIZEN}"),
        ("GET", f"/api/v1/persons/{CITIZEN}/certificates"),
        ("POST", "/api/v1/certificates/00ff/revoke"),
        ("POST", "/api/v1/tickets"),
        ("GET", "/api/v1/audit"),
    ]:
        json_body = {"reason": "keyCompromise"} if path.endswith("revoke") else None
        if path.endswith("tickets"):
            json_body = ticket_request("1")
        answer = sqlite_client.request(method, path, json=json_body, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (401, "unauthenticated"), path
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_an_expired_session_is_401_session_expired(
    sqlite_client: TestClient, sqlite_instance: Instance, demo: dict[str, Any]
) -> None:
    operator = sign_in(sqlite_client, demo["psc_operator_auth"].open())
    with sqlite_instance.db.transaction() as session:
        session.execute(
            update(OperatorSession).values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    answer = sqlite_client.get("/api/v1/operators/me", headers=operator)
    assert (answer.status_code, answer.json()["code"]) == (401, "session_expired")


def test_revoking_the_operator_s_certificate_ends_their_sessions(
    sqlite_client: TestClient, demo: dict[str, Any], demo_rows: dict[str, Any]
) -> None:
    operator = sign_in(sqlite_client, demo["psc_operator_auth"].open())
    own = demo_rows["psc_operator_auth"]["serial"]
    answer = sqlite_client.post(
        f"/api/v1/certificates/{own}/revoke", json={"reason": "keyCompromise"}, headers=operator
    )
    assert answer.status_code == 200
    assert sqlite_client.get("/api/v1/operators/me", headers=operator).status_code == 401


# -- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
def test_an_operator_may_not_read_the_audit_log_and_the_refusal_is_logged(
    client: TestClient, instance: Instance, demo: dict[str, Any], counts: Counts
) -> None:
    operator = sign_in(client, demo["psc_operator_auth"].open())
    before = counts(instance.db)
    answer = client.get("/api/v1/audit", headers=operator)
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
    assert counts(instance.db) == before
    refused = audit.read(instance.db, action="audit.read")[-1]
    assert (refused.actor, refused.outcome) == (f"operator:{PSC_OPERATOR}", "forbidden")


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
def test_an_auditor_reads_the_audit_log_but_may_not_revoke_or_look_people_up(
    client: TestClient,
    instance: Instance,
    demo: dict[str, Any],
    demo_rows: dict[str, Any],
    counts: Counts,
) -> None:
    set_role(instance.db, CIVIL_SERVANT, "auditor", demo_rows["civil_servant_auth"]["serial"])
    auditor = sign_in(client, demo["civil_servant_auth"].open())
    log = client.get("/api/v1/audit", params={"limit": 1}, headers=auditor)
    assert log.status_code == 200
    assert [row["action"] for row in log.json()] == ["operator.sign_in"]
    since = client.get(
        "/api/v1/audit",
        params={"since": (utcnow() - dt.timedelta(minutes=5)).isoformat(), "action": "audit.read"},
        headers=auditor,
    ).json()
    assert since
    assert {row["action"] for row in since} == {"audit.read"}
    before = counts(instance.db)
    serial = demo_rows["citizen_sign"]["serial"]
    for method, path, body in [
        ("POST", f"/api/v1/certificates/{serial}/revoke", {"reason": "keyCompromise"}),
        ("GET", f"/api/v1/persons/{CITIZEN}", None),
        ("POST", "/api/v1/tickets", ticket_request(demo_id_document_number(CITIZEN))),
    ]:
        answer = client.request(method, path, json=body, headers=auditor)
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), path
    assert counts(instance.db) == before


def test_only_an_admin_revokes_a_service_certificate(
    sqlite_client: TestClient, sqlite_instance: Instance, demo: dict[str, Any]
) -> None:
    responder = sqlite_instance.ocsp_signer("nac").certificate
    serial = f"{responder.serial_number:x}"
    operator = sign_in(sqlite_client, demo["psc_operator_auth"].open())
    refused = sqlite_client.post(
        f"/api/v1/certificates/{serial}/revoke", json={"reason": "superseded"}, headers=operator
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    set_role(sqlite_instance.db, PSC_OPERATOR, "admin")
    allowed = sqlite_client.post(
        f"/api/v1/certificates/{serial}/revoke", json={"reason": "superseded"}, headers=operator
    )
    assert allowed.status_code == 200


# -- operator actions with bad input -----------------------------------------------------------


def test_revoking_twice_is_409_and_changes_nothing(
    client: TestClient,
    instance: Instance,
    demo: dict[str, Any],
    demo_rows: dict[str, Any],
    counts: Counts,
) -> None:
    operator = sign_in(client, demo["psc_operator_auth"].open())
    serial = demo_rows["ceo_sign"]["serial"]
    path = f"/api/v1/certificates/{serial}/revoke"
    assert client.post(path, json={"reason": "keyCompromise"}, headers=operator).status_code == 200
    before = counts(instance.db)
    again = client.post(path, json={"reason": "superseded"}, headers=operator)
    assert (again.status_code, again.json()["code"]) == (409, "already_revoked")
    assert counts(instance.db) == before


@pytest.mark.parametrize(
    ("serial", "reason", "status", "code"),
    [
        ("00ff", "keyCompromise", 404, "not_found"),
        ("zz", "keyCompromise", 422, "invalid_input"),
        (None, "certificateHold", 422, "invalid_reason"),
        (None, "removeFromCRL", 422, "invalid_reason"),
    ],
)
def test_a_revocation_of_nothing_or_for_no_reason_is_refused(
    sqlite_client: TestClient,
    sqlite_instance: Instance,
    demo: dict[str, Any],
    demo_rows: dict[str, Any],
    counts: Counts,
    serial: str | None,
    reason: str,
    status: int,
    code: str,
) -> None:
    operator = sign_in(sqlite_client, demo["psc_operator_auth"].open())
    before = counts(sqlite_instance.db)
    target = serial or demo_rows["citizen_sign"]["serial"]
    answer = sqlite_client.post(
        f"/api/v1/certificates/{target}/revoke", json={"reason": reason}, headers=operator
    )
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert counts(sqlite_instance.db) == before


@pytest.mark.parametrize("instance", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("request_body", "status", "code"),
    [
        (ticket_request("N0000000"), 409, "document_mismatch"),
        (ticket_request("1", iin="980102200348"), 404, "unknown_person"),
        (ticket_request("1", iin="850101300125"), 422, "invalid_iin"),
        ({**ticket_request("1"), "purpose": "gift"}, 422, "invalid_input"),
        ({"iin": CITIZEN, "purpose": "reissue"}, 422, "invalid_input"),
    ],
    ids=["document mismatch", "unknown person", "wrong check digit", "purpose", "no document"],
)
def test_a_ticket_for_the_wrong_document_or_person_is_refused_and_audited(
    client: TestClient,
    instance: Instance,
    demo: dict[str, Any],
    counts: Counts,
    request_body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    operator = sign_in(client, demo["psc_operator_auth"].open())
    before = counts(instance.db)
    answer = client.post("/api/v1/tickets", json=request_body, headers=operator)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert counts(instance.db) == before
    if code in {"document_mismatch", "unknown_person"}:
        refused = audit.read(instance.db, action="ticket.create")[-1]
        assert (refused.actor, refused.outcome) == (f"operator:{PSC_OPERATOR}", code)
        assert refused.request_sha256 is not None


@pytest.mark.parametrize(
    ("iin", "status", "code"),
    [("980102200348", 404, "unknown_person"), ("850101300125", 422, "invalid_iin")],
)
def test_looking_up_nobody_is_a_precise_error(
    sqlite_client: TestClient, demo: dict[str, Any], iin: str, status: int, code: str
) -> None:
    operator = sign_in(sqlite_client, demo["psc_operator_auth"].open())
    for path in (f"/api/v1/persons/{iin}", f"/api/v1/persons/{iin}/certificates"):
        answer = sqlite_client.get(path, headers=operator)
        assert (answer.status_code, answer.json()["code"]) == (status, code), path
