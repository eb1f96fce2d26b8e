"""The CA over HTTP, PKI side: the URLs certificates carry serve DER certificates and CRLs; OCSP
answers over POST and GET with the right status and a cache that forgets revoked certificates;
time-stamps are granted with unique serials; bad input gets a precise status and code, never a
500; a fault inside gets a 500 without its detail."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from ca_http_support import make_client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp as x509_ocsp
from fastapi.testclient import TestClient
from sqlalchemy import select

from ca_server import authority
from ca_server.db import Database
from ca_server.http import HttpSettings
from ca_server.instance import Instance
from ca_server.ocsp import CachedResponder

Counts = Callable[[Database], dict[str, int]]


@pytest.fixture
def client(instance: Instance) -> Iterator[TestClient]:
    with make_client(instance) as client:
        yield client


@pytest.fixture
def sqlite_client(sqlite_instance: Instance) -> Iterator[TestClient]:
    with make_client(sqlite_instance) as client:
        yield client


def _certificate(demo: dict[str, Any], key_id: str) -> x509.Certificate:
    certificate: x509.Certificate = demo[key_id].open().certificate
    return certificate


def _urls(certificate: x509.Certificate) -> dict[str, str]:
    aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    cdp = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    found = {d.access_method._name: str(d.access_location.value) for d in aia}
    found["crl"] = str(cdp[0].full_name[0].value) if cdp[0].full_name else ""
    return {name: urllib.parse.urlsplit(url).path for name, url in found.items()}


def _ocsp_request(
    leaf: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None
) -> bytes:
    builder = x509_ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1())  # noqa: S303 - as openssl sends CertIDs
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _post_ocsp(client: TestClient, body: bytes) -> Any:
    return client.post("/ocsp", content=body, headers={"Content-Type": "application/ocsp-request"})


def _status(response_der: bytes) -> str:
    parsed = x509_ocsp.load_der_ocsp_response(response_der)
    if parsed.response_status is not x509_ocsp.OCSPResponseStatus.SUCCESSFUL:
        return parsed.response_status.name
    return parsed.certificate_status.name


# -- certificates and CRLs at the URLs certificates name ------------------------------------


@pytest.mark.parametrize("key_id", ["citizen_auth", "civil_servant_sign"])
def test_the_urls_a_certificate_names_serve_its_issuer_and_crl(
    sqlite_client: TestClient, demo: dict[str, Any], key_id: str
) -> None:
    leaf = _certificate(demo, key_id)
    urls = _urls(leaf)
    answer = sqlite_client.get(urls["caIssuers"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pkix-cert"
    issuer = x509.load_der_x509_certificate(answer.content)
    leaf.verify_directly_issued_by(issuer)
    crl_answer = sqlite_client.get(urls["crl"])
    assert crl_answer.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_answer.content)
    assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    # One level up: the issuing CA's certificate names its root and the root's CRL.
    root_urls = _urls(issuer)
    root = x509.load_der_x509_certificate(sqlite_client.get(root_urls["caIssuers"]).content)
    issuer.verify_directly_issued_by(root)
    root_crl = x509.load_der_x509_crl(sqlite_client.get(root_urls["crl"]).content)
    assert root_crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert urls["OCSP"] == "/ocsp"


def test_the_crl_lists_the_revoked_demo_certificate(
    client: TestClient, demo_rows: dict[str, Any]
) -> None:
    crl = x509.load_der_x509_crl(client.get("/crl/nac.crl").content)
    assert int(demo_rows["revoked_auth"]["serial"], 16) in {entry.serial_number for entry in crl}


@pytest.mark.parametrize(
    "path", ["/ca/x.crt", "/ca/nacx-root.crt", "/crl/nac2.crl", "/crl/foo-root.crl"]
)
def test_an_unknown_ca_is_404_unknown_ca(sqlite_client: TestClient, path: str) -> None:
    answer = sqlite_client.get(path)
    assert (answer.status_code, answer.json()["code"]) == (404, "unknown_ca")


def test_health_says_the_database_answers(sqlite_client: TestClient) -> None:
    answer = sqlite_client.get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "database": "ok",
        "authorities": ["gov", "nac"],
        "origin": "demo",
    }


def test_the_openapi_spec_and_docs_are_served(sqlite_client: TestClient) -> None:
    spec = sqlite_client.get("/openapi.json").json()
    for path in ("/ocsp", "/tsp", "/api/v1/enroll", "/api/v1/operators/session", "/api/v1/audit"):
        assert path in spec["paths"]
    assert "operatorSession" in spec["components"]["securitySchemes"]
    assert sqlite_client.get("/docs").status_code == 200


# -- OCSP --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_id", "issuer", "expected"),
    [
        ("citizen_sign", "nac", "GOOD"),
        ("revoked_sign", "nac", "REVOKED"),
        ("civil_servant_auth", "gov", "GOOD"),
    ],
)
def test_ocsp_post_answers_with_the_database_s_status(
    client: TestClient, demo: dict[str, Any], key_id: str, issuer: str, expected: str
) -> None:
    ca = x509.load_der_x509_certificate(client.get(f"/ca/{issuer}.crt").content)
    nonce = os.urandom(16)
    answer = _post_ocsp(client, _ocsp_request(_certificate(demo, key_id), ca, nonce))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/ocsp-response"
    parsed = x509_ocsp.load_der_ocsp_response(answer.content)
    assert parsed.certificate_status.name == expected
    assert parsed.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce


def test_ocsp_get_takes_the_url_encoded_base64_of_the_request(
    sqlite_client: TestClient, demo: dict[str, Any]
) -> None:
    ca = x509.load_der_x509_certificate(sqlite_client.get("/ca/nac.crt").content)
    request = _ocsp_request(_certificate(demo, "citizen_sign"), ca)
    encoded = urllib.parse.quote(base64.b64encode(request).decode(), safe="")
    answer = sqlite_client.get(f"/ocsp/{encoded}")
    assert answer.status_code == 200
    assert _status(answer.content) == "GOOD"
    assert "max-age=" in answer.headers["cache-control"]
    # Clients that leave '/' and '+' unescaped are understood too.
    assert _status(sqlite_client.get(f"/ocsp/{base64.b64encode(request).decode()}").content) == (
        "GOOD"
    )


def _issuer_hashes(issuer: x509.Certificate) -> tuple[bytes, bytes]:
    """SHA-1 of the issuer's name and of its public key's bits (RSA: the PKCS#1 structure)."""
    name_hash = hashes.Hash(hashes.SHA1())  # noqa: S303 - as openssl sends CertIDs
    name_hash.update(issuer.subject.public_bytes())
    key_hash = hashes.Hash(hashes.SHA1())  # noqa: S303 - as openssl sends CertIDs
    key_hash.update(
        issuer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
    )
    return name_hash.finalize(), key_hash.finalize()


def test_ocsp_for_a_serial_never_issued_is_unknown(sqlite_client: TestClient) -> None:
    ca = x509.load_der_x509_certificate(sqlite_client.get("/ca/nac.crt").content)
    name_hash, key_hash = _issuer_hashes(ca)
    request = (
        x509_ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(name_hash, key_hash, 12345, hashes.SHA1())  # noqa: S303 - as openssl sends CertIDs
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    assert _status(_post_ocsp(sqlite_client, request).content) == "UNKNOWN"


def test_ocsp_for_an_unknown_issuer_is_unauthorized_and_changes_nothing(
    sqlite_client: TestClient, sqlite_instance: Instance, demo: dict[str, Any], counts: Counts
) -> None:
    before = counts(sqlite_instance.db)
    leaf = _certificate(demo, "citizen_sign")
    foreign = _certificate(demo, "ceo_sign")  # not a CA: its hashes match no issuer here
    answer = _post_ocsp(sqlite_client, _ocsp_request(leaf, foreign))
    assert answer.status_code == 200
    assert _status(answer.content) == "UNAUTHORIZED"
    assert counts(sqlite_instance.db) == before


@pytest.mark.parametrize(
    "body", [b"", b"garbage", b"\x30\x03\x02\x01\x00", os.urandom(300)], ids=str
)
def test_garbage_to_ocsp_is_400_malformed_request(sqlite_client: TestClient, body: bytes) -> None:
    answer = _post_ocsp(sqlite_client, body)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/ocsp-response"
    assert _status(answer.content) == "MALFORMED_REQUEST"


@pytest.mark.parametrize("encoded", ["not-base64!", "%00%01", "AAAA", "////"])
def test_garbage_to_ocsp_get_is_400_malformed_request(
    sqlite_client: TestClient, encoded: str
) -> None:
    answer = sqlite_client.get(f"/ocsp/{encoded}")
    assert answer.status_code == 400
    assert _status(answer.content) == "MALFORMED_REQUEST"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/ocsp", "application/json"), ("/tsp", "text/plain"), ("/tsp", "application/ocsp-request")],
)
def test_a_protocol_body_with_the_wrong_content_type_is_415(
    sqlite_client: TestClient, path: str, content_type: str
) -> None:
    answer = sqlite_client.post(path, content=b"\x30\x00", headers={"Content-Type": content_type})
    assert answer.status_code == 415
    assert answer.json()["code"] == "unsupported_media_type"


def _chunks(size: int) -> Iterator[bytes]:
    for _ in range(size // 4096):
        yield b"\x00" * 4096


@pytest.mark.parametrize("path", ["/ocsp", "/tsp", "/api/v1/enroll", "/api/v1/operators/session"])
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_oversized_body_is_413_before_it_is_read(
    sqlite_client: TestClient, path: str, declared: bool
) -> None:
    size = 80 * 1024
    content: bytes | Iterator[bytes] = b"\x00" * size if declared else _chunks(size)
    answer = sqlite_client.post(path, content=content)
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"


def test_a_revocation_through_the_api_is_seen_by_the_next_cached_ocsp_answer(
    client: TestClient, instance: Instance, demo: dict[str, Any]
) -> None:
    ca = x509.load_der_x509_certificate(client.get("/ca/nac.crt").content)
    request = _ocsp_request(_certificate(demo, "citizen_sign"), ca)  # no nonce: cacheable
    assert _status(_post_ocsp(client, request).content) == "GOOD"
    assert _status(_post_ocsp(client, request).content) == "GOOD"
    responder: CachedResponder = client.app.state.ca.ocsp  # type: ignore[attr-defined]
    assert responder.hits >= 1
    serial = _certificate(demo, "citizen_sign").serial_number
    authority.revoke(instance.db, serial, "keyCompromise", actor="test")
    client.app.state.ca.revoked([authority.serial_hex(serial)])  # type: ignore[attr-defined]
    assert _status(_post_ocsp(client, request).content) == "REVOKED"


def test_a_revocation_by_another_process_reaches_the_cache_within_the_poll_interval(
    sqlite_instance: Instance, demo: dict[str, Any]
) -> None:
    settings = HttpSettings(ocsp_poll=dt.timedelta(milliseconds=50))
    with make_client(sqlite_instance, settings) as client:
        ca = x509.load_der_x509_certificate(client.get("/ca/nac.crt").content)
        leaf = _certificate(demo, "citizen_sign")
        request = _ocsp_request(leaf, ca)
        assert _status(_post_ocsp(client, request).content) == "GOOD"
        time.sleep(0.2)  # the watcher has counted the revocations once
        # As `qalam-ca revoke` in another process would: straight into the database.
        authority.revoke(sqlite_instance.db, leaf.serial_number, "keyCompromise", actor="cli:x")
        deadline = time.monotonic() + 5
        while _status(_post_ocsp(client, request).content) != "REVOKED":
            assert time.monotonic() < deadline, "the cached GOOD outlived the poll interval"
            time.sleep(0.05)


# -- time-stamps -------------------------------------------------------------------------------


class TimeStampResp(asn1_core.Sequence):  # type: ignore[misc]
    """RFC 3161's TimeStampResp with the token OPTIONAL (asn1crypto makes it mandatory)."""

    _fields = [
        ("status", asn1_tsp.PKIStatusInfo),
        ("time_stamp_token", asn1_cms.ContentInfo, {"optional": True}),
    ]


def _query(digest: str = "sha256", size: int = 32, nonce: int | None = 7) -> bytes:
    request: dict[str, Any] = {
        "version": 1,
        "message_imprint": {
            "hash_algorithm": {"algorithm": digest},
            "hashed_message": b"\1" * size,
        },
        "cert_req": True,
    }
    if nonce is not None:
        request["nonce"] = nonce
    return bytes(asn1_tsp.TimeStampReq(request).dump())


def _post_tsp(client: TestClient, body: bytes) -> Any:
    return client.post(
        "/tsp", content=body, headers={"Content-Type": "application/timestamp-query"}
    )


def test_time_stamps_are_granted_with_unique_serials_from_the_database(
    client: TestClient, instance: Instance
) -> None:
    serials = []
    for nonce in (1, 2, 3):
        answer = _post_tsp(client, _query(nonce=nonce))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/timestamp-reply"
        response = TimeStampResp.load(answer.content)
        assert response["status"]["status"].native == "granted"
        token = response["time_stamp_token"]["content"]
        info = token["encap_content_info"]["content"].parsed.native
        assert info["nonce"] == nonce
        serials.append(info["serial_number"])
    assert len(set(serials)) == 3
    # A second worker (another app over the same database) never repeats a serial.
    with make_client(instance) as other:
        info = TimeStampResp.load(_post_tsp(other, _query()).content)["time_stamp_token"][
            "content"
        ]["encap_content_info"]["content"].parsed.native
    assert info["serial_number"] not in serials


@pytest.mark.parametrize("body", [b"", b"garbage", _query()[:-3], b"\x30\x00"], ids=str)
def test_garbage_to_tsp_is_400_bad_data_format(sqlite_client: TestClient, body: bytes) -> None:
    answer = _post_tsp(sqlite_client, body)
    assert answer.status_code == 400
    status = TimeStampResp.load(answer.content)["status"]
    assert status["status"].native == "rejection"
    assert status["fail_info"].native == {"bad_data_format"}


def test_a_sha1_imprint_is_refused_bad_alg_as_the_protocol_says(sqlite_client: TestClient) -> None:
    answer = _post_tsp(sqlite_client, _query("sha1", 20))
    assert answer.status_code == 200
    status = TimeStampResp.load(answer.content)["status"]
    assert (status["status"].native, status["fail_info"].native) == ("rejection", {"bad_alg"})


# -- the HTTP layer itself ---------------------------------------------------------------------


def test_an_unknown_route_is_404_and_a_wrong_method_405(sqlite_client: TestClient) -> None:
    missing = sqlite_client.get("/nothing-here")
    assert (missing.status_code, missing.json()["code"]) == (404, "route_not_found")
    wrong = sqlite_client.delete("/ocsp")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")


def test_an_unexpected_fault_is_500_with_a_generic_message_and_the_detail_only_in_the_log(
    sqlite_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    service = sqlite_client.app.state.ca  # type: ignore[attr-defined]

    def broken(query: bytes, serial: int | None = None) -> bytes:
        raise RuntimeError("disk on fire at /secret/path")

    service.timestamp = broken
    with caplog.at_level(logging.ERROR, logger="ca_server.http"):
        answer = _post_tsp(sqlite_client, _query())
    assert answer.status_code == 500
    assert answer.json() == {"code": "internal", "message": "Something went wrong inside the CA."}
    assert "disk on fire" in caplog.text
    assert "secret" not in answer.text


def test_a_database_that_does_not_answer_is_503_database_error(
    sqlite_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = sqlite_client.app.state.ca  # type: ignore[attr-defined]
    monkeypatch.setattr(service, "database_ok", lambda: False)
    answer = sqlite_client.get("/api/v1/health")
    assert (answer.status_code, answer.json()["code"]) == (503, "database_error")


def test_tsa_serial_blocks_come_from_the_counter(sqlite_instance: Instance) -> None:
    from ca_server.db import Counter
    from ca_server.http.service import SerialBlocks

    blocks = SerialBlocks(sqlite_instance.db, "tsa", 4)
    other = SerialBlocks(sqlite_instance.db, "tsa", 4)
    taken = [blocks.next() for _ in range(6)] + [other.next() for _ in range(3)]
    assert len(set(taken)) == len(taken)
    with sqlite_instance.db.reading() as session:
        value = session.scalar(select(Counter.value).where(Counter.name == "tsa"))
    assert value == 12  # three blocks of four reserved


def test_the_fast_lane_and_the_routes_give_the_same_answer(
    sqlite_client: TestClient, demo: dict[str, Any]
) -> None:
    ca = x509.load_der_x509_certificate(sqlite_client.get("/ca/nac.crt").content)
    leaf = _certificate(demo, "revoked_sign")
    request = _ocsp_request(leaf, ca, os.urandom(8))
    routed = _post_ocsp(sqlite_client, request)  # first: the status comes from the database
    responder: CachedResponder = sqlite_client.app.state.ca.ocsp  # type: ignore[attr-defined]
    assert responder.respond_without_lookup(request) is not None  # now the status is cached
    fast = _post_ocsp(sqlite_client, request)  # with a Content-Length: answered before routing
    chunked = sqlite_client.post(
        "/ocsp", content=iter([request[:10], request[10:]]), headers={"Content-Type": ""}
    )  # no Content-Length: the route
    for answer in (routed, fast, chunked):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/ocsp-response"
        assert _status(answer.content) == "REVOKED"


def test_an_ocsp_status_never_looked_up_is_not_signed_without_the_database(
    sqlite_client: TestClient, demo: dict[str, Any]
) -> None:
    ca = x509.load_der_x509_certificate(sqlite_client.get("/ca/nac.crt").content)
    request = _ocsp_request(_certificate(demo, "ceo_sign"), ca)
    responder: CachedResponder = sqlite_client.app.state.ca.ocsp  # type: ignore[attr-defined]
    assert responder.respond_without_lookup(request) is None
    assert _status(_post_ocsp(sqlite_client, request).content) == "GOOD"
    assert responder.cached(request) is not None
