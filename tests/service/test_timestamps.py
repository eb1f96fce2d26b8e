"""Timestamps end to end in the service and the API: a loopback HTTP TSA (ca_server.tsa.respond
behind http.server), HttpTsa posting to it, SigningService stamping, the modules' replies."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
from tsa_helpers import closed_port_url, granting, http_tsa

from signer_app import cli
from signer_app.api.dispatch import Dispatcher
from signer_app.crypto import cms
from signer_app.crypto.errors import (
    InvalidInput,
    MalformedTimestamp,
    TsaRefused,
    TsaUnavailable,
)
from signer_app.service.errors import NotAvailable
from signer_app.service.prompter import ScriptedAnswer, ScriptedPrompter
from signer_app.service.settings import Settings
from signer_app.service.signing import KeyQuery, SigningService
from signer_app.service.tsa_client import DEFAULT_TSA_URL, HttpTsa

ORIGIN = "https://portal.example.kz"
COMMON = "kz.gov.pki.knca.commonUtils"
BASICS = "kz.gov.pki.knca.basics"


def approve(key: Any) -> ScriptedAnswer:
    return ScriptedAnswer(key=key.path, password=key.password)


class Api:
    def __init__(self, tsa: HttpTsa | None, *answers: ScriptedAnswer) -> None:
        self.prompter = ScriptedPrompter(list(answers))
        self.dispatcher = Dispatcher(SigningService(self.prompter, tsa=tsa))

    def __call__(self, frame: dict[str, Any]) -> Any:
        reply = asyncio.run(self.dispatcher.handle(json.dumps(frame), ORIGIN))
        assert reply.text is not None
        return json.loads(reply.text)


def common(method: str, *args: Any) -> dict[str, Any]:
    return {"module": COMMON, "method": method, "args": list(args)}


def basics_cms(data: str = "MTEK", **signing: Any) -> dict[str, Any]:
    args = {
        "allowedStorages": None,
        "format": "cms",
        "data": data,
        "signingParams": {"decode": True, **signing},
        "signerParams": {"extKeyUsageOids": []},
        "locale": "ru",
    }
    return {"module": BASICS, "method": "sign", "args": args}


def stamped_time(der: bytes, data: bytes | None = None) -> Any:
    result = cms.verify(der, data)
    assert result.valid, [s.problems for s in result.signers]
    assert all(s.timestamp_time is not None for s in result.signers)
    return result.signers[0].timestamp_time


def test_service_signs_and_stamps_attached_and_detached(demo):
    with http_tsa() as (url, received):
        prompter = ScriptedPrompter([approve(demo["citizen_sign"])] * 2)
        svc = SigningService(prompter, tsa=HttpTsa(url))
        attached = asyncio.run(svc.sign_cms(KeyQuery(ORIGIN), [b"doc"], timestamp=True))
        detached = asyncio.run(
            svc.sign_cms(KeyQuery(ORIGIN), [b"a", b"b"], detached=True, timestamp=True)
        )
    assert len(received) == 3
    stamped_time(attached.signatures[0])
    for der, data in zip(detached.signatures, [b"a", b"b"], strict=True):
        stamped_time(der, data)


def test_basics_tsa_profile_gives_cades_t_and_without_it_cades_bes(demo):
    with http_tsa() as (url, received):
        api = Api(HttpTsa(url), approve(demo["citizen_sign"]), approve(demo["citizen_sign"]))
        reply = api(basics_cms(tsaProfile={}, encapsulate=False))
        plain = api(basics_cms(tsaProfile=None))
    assert reply["status"] is True, reply
    (pem,) = reply["body"]["result"]
    assert pem.startswith("-----BEGIN CMS-----\n")
    stamped_time(cms.load(pem), b"11\n")
    (bes,) = plain["body"]["result"]
    assert cms.verify(cms.load(bes)).signers[0].timestamp_time is None
    assert len(received) == 1


def test_create_cms_signature_from_base64_and_file_are_stamped(demo, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_bytes(b"file body")
    with http_tsa() as (url, _):
        api = Api(HttpTsa(url), approve(demo["citizen_sign"]), approve(demo["citizen_sign"]))
        b64 = api(common("createCMSSignatureFromBase64", "PKCS12", "SIGNATURE", "MTEK", True))
        from_file = api(
            common("createCMSSignatureFromFile", "PKCS12", "SIGNATURE", str(doc), False)
        )
    assert b64["code"] == "200", b64
    stamped_time(base64.b64decode(b64["responseObject"]))
    assert from_file["code"] == "200", from_file
    stamped_time(base64.b64decode(from_file["responseObject"]), b"file body")
    assert api.prompter.of_kind("confirm")[1].documents[0].name == str(doc)


def test_apply_cades_t_needs_no_key_and_no_dialog(citizen_sign):
    bes = cms.sign(b"signed earlier", citizen_sign)
    with http_tsa() as (url, received):
        api = Api(HttpTsa(url))
        reply = api(common("applyCAdEST", "PKCS12", "SIGNATURE", base64.b64encode(bes).decode()))
        bad = api(common("applyCAdEST", "PKCS12", "SIGNATURE", "MTEK"))
        unknown = api(common("applyCAdEST", "NOPE", "SIGNATURE", "MTEK"))
    assert reply["code"] == "200", reply
    stamped = base64.b64decode(reply["responseObject"])
    stamped_time(stamped)
    assert api.prompter.shown == []
    assert len(received) == 1  # the malformed CMS never reached the TSA
    assert bad["code"] == "500"
    assert bad["message"].startswith("malformed_cms: ")
    assert unknown == {"code": "500", "message": "storage.unknown"}


def test_tsa_down_is_a_clear_error_and_no_signature(demo, citizen_sign):
    url = closed_port_url()
    api = Api(HttpTsa(url, timeout=2), approve(demo["citizen_sign"]), approve(demo["citizen_sign"]))
    reply = api(basics_cms(tsaProfile={}))
    assert reply["status"] is False
    assert reply["code"] == "SIGNING_FAILURE"
    assert reply["details"].startswith("tsa_unavailable: ")
    assert url in reply["details"]
    assert "result" not in json.dumps(reply)
    common_reply = api(common("createCMSSignatureFromBase64", "PKCS12", "SIGNATURE", "MTEK", True))
    assert common_reply["code"] == "500"
    assert "responseObject" not in common_reply
    assert common_reply["message"] == (
        f"tsa_unavailable: The timestamp service at {url} cannot be reached, "
        "so no signature was returned. Try again later."
    )
    apply = api(
        common("applyCAdEST", "PKCS12", "", base64.b64encode(cms.sign(b"x", citizen_sign)).decode())
    )
    assert apply["message"].startswith("tsa_unavailable: ")
    errors = api.prompter.of_kind("error")
    assert len(errors) == 2  # the person was told, in the dialog flow, for both sign requests


def test_service_raises_tsa_unavailable(demo):
    svc = SigningService(
        ScriptedPrompter([approve(demo["citizen_sign"])]), tsa=HttpTsa(closed_port_url())
    )
    with pytest.raises(TsaUnavailable) as caught:
        asyncio.run(svc.sign_cms(KeyQuery(ORIGIN), [b"doc"], timestamp=True))
    assert caught.value.retriable
    assert "недоступна" in caught.value.message("ru")
    assert "қосылу мүмкін болмады" in caught.value.message("kk")


def test_no_tsa_configured_refuses_before_any_dialog():
    prompter = ScriptedPrompter([])
    svc = SigningService(prompter)
    with pytest.raises(NotAvailable, match="timestamps"):
        asyncio.run(svc.sign_cms(KeyQuery(ORIGIN), [b"doc"], timestamp=True))
    with pytest.raises(NotAvailable):
        asyncio.run(svc.timestamp_cms(b"\x30\x00"))
    assert prompter.shown == []


def test_http_error_and_rejection_are_tsa_refused():
    imprint = b"\x11" * 32
    maintenance = http_tsa(lambda _q: (503, "text/plain", b"down for maintenance"))
    with maintenance as (url, _), pytest.raises(TsaRefused, match="HTTP 503"):
        HttpTsa(url).stamp(imprint)
    with http_tsa() as (url, _):
        tsa = HttpTsa(url, policy="1.2.3.4")  # a policy the TSA does not offer
        with pytest.raises(TsaRefused) as caught:
            tsa.stamp(imprint)
    assert caught.value.fail_info == ("unacceptedPolicy",)
    assert url in str(caught.value)


def test_garbage_oversize_and_slow_answers():
    imprint = b"\x22" * 32
    html = http_tsa(lambda _q: (200, "application/timestamp-reply", b"<html>hi</html>"))
    with html as (url, _), pytest.raises(MalformedTimestamp):
        HttpTsa(url).stamp(imprint)
    too_big = pytest.raises(MalformedTimestamp, match="larger than 100 bytes")
    with http_tsa(granting) as (url, _), too_big:
        HttpTsa(url, max_response=100).stamp(imprint)

    def slow(query: bytes) -> tuple[int, str, bytes]:
        time.sleep(0.5)
        return granting(query)

    with http_tsa(slow) as (url, _):
        started = time.monotonic()
        with pytest.raises(TsaUnavailable):
            HttpTsa(url, timeout=0.1).stamp(imprint)
        assert time.monotonic() - started < 0.45


def test_redirects_are_not_followed():
    redirecting = http_tsa(lambda _q: (302, "text/plain", b""))
    with redirecting as (url, _), pytest.raises(TsaRefused, match="302"):
        HttpTsa(url).stamp(b"\x33" * 32)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/tsp", "tsp.pki.gov.kz", ""])
def test_only_http_urls(url):
    with pytest.raises(InvalidInput):
        HttpTsa(url)


def test_default_url_is_the_bundled_ca():
    assert DEFAULT_TSA_URL == "http://127.0.0.1:8080/tsp"
    assert HttpTsa().url == DEFAULT_TSA_URL
    # `qalam serve` without --tsa-url takes settings.json's tsa_url, whose default this is.
    assert cli.build_parser().parse_args(["serve"]).tsa_url is None
    assert Settings().tsa_url == DEFAULT_TSA_URL


def test_cli_sign_with_tsa(demo, tmp_path, monkeypatch, capsys):
    key = demo["citizen_sign"]
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    doc = tmp_path / "doc.txt"
    doc.write_bytes(b"cli document")
    out = tmp_path / "doc.p7s"
    with http_tsa() as (url, received):
        argv = ["sign", str(doc), "-k", str(key.path), "--detached", "--tsa", url, "-o", str(out)]
        assert cli.main(argv) == cli.EXIT_OK
    assert len(received) == 1
    stamped_time(out.read_bytes(), b"cli document")
    down = ["sign", str(doc), "-k", str(key.path), "--tsa", closed_port_url(), "-o", str(out)]
    out.unlink()
    assert cli.main(down) == cli.EXIT_ERROR
    assert not out.exists()
    assert "cannot be reached" in capsys.readouterr().err
    xml = ["sign", str(doc), "-k", str(key.path), "-f", "xml", "--tsa", "http://127.0.0.1:1/"]
    assert cli.main(xml) == cli.EXIT_ERROR
