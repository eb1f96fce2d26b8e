"""basics.sign's Qalam-only ``signingParams.xades`` for format xml: absent keeps NCALayer's
XMLDSig byte for byte, "bes"/"t"/"lt"/"lta" sign XAdES, a bad value is refused before any
dialog, and over a real wss connection an LTA comes back that validates offline at level LTA."""

from __future__ import annotations

import asyncio
import io
import json
import ssl
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from api_helpers import Api, approve, basics
from validation_helpers import RunningCa
from websockets.asyncio.client import connect

from signer_app.api.dispatch import Dispatcher
from signer_app.api.server import ApiServer, ServerConfig
from signer_app.api.tls import ensure_tls
from signer_app.crypto import xades, xmldsig
from signer_app.crypto.identity import identity_of
from signer_app.crypto.validation import TOTAL_PASSED
from signer_app.service.key_status import RevocationChecker, TrustedCas
from signer_app.service.prompter import (
    DocumentView,
    KeyView,
    ScriptedPrompter,
    SignRequestView,
    TerminalPrompter,
)
from signer_app.service.signing import SigningService
from signer_app.service.tsa_client import HttpTsa
from signer_app.service.verification import validate_file

XML = "<req><iin>850101300124</iin></req>"


def xml_basics(**signing: Any) -> dict[str, Any]:
    return basics(format="xml", data=XML, signingParams=signing)


def signed_by(api: Api, frame: dict[str, Any]) -> str:
    reply = api(frame)
    assert reply["status"] is True, reply
    result = reply["body"]["result"]
    return result[0] if isinstance(result, list) else result


def test_without_xades_the_xmldsig_is_byte_for_byte_what_it_was(demo) -> None:
    key = demo["citizen_sign"]
    expected = xmldsig.sign_xmls([XML], key.open(), layout="compact")[0]
    api = Api(approve(key), approve(key), approve(key))
    assert signed_by(api, xml_basics()) == expected
    assert signed_by(api, xml_basics(xades=None)) == expected
    # tsaProfile has always been ignored for xml: still no timestamp, no XAdES.
    assert signed_by(api, xml_basics(tsaProfile={})) == expected
    assert all(view.signature_format is None for view in api.prompter.of_kind("confirm"))


def test_xades_bes_signs_a_xades_the_dialog_names(demo) -> None:
    api = Api(approve(demo["citizen_sign"]))
    signed = signed_by(api, xml_basics(xades="BES"))
    assert xmldsig.verify_xml(signed).valid
    (found,) = xades.inspect(signed, [xmldsig.verify_xml(signed).signatures[0].certificate])
    assert found.is_xades
    assert found.problems == ()
    (shown,) = api.prompter.of_kind("confirm")
    assert shown.signature_format == "XAdES-BES"


@pytest.mark.parametrize("value", ["ltv", "", 5, ["t"], {"level": "t"}, True])
def test_a_bad_xades_value_is_refused_before_any_dialog(demo, value) -> None:
    api = Api(approve(demo["citizen_sign"]))
    reply = api(xml_basics(xades=value))
    assert reply["status"] is False
    assert reply["code"] == "INVALID_SIGNING_PARAMS"
    assert "xades must be one of bes, t, lt, lta" in reply["details"]
    assert api.prompter.shown == []


def test_a_timestamped_xades_without_a_tsa_fails_before_any_dialog(demo) -> None:
    api = Api(approve(demo["citizen_sign"]))  # a service without a TSA
    reply = api(xml_basics(xades="t"))
    assert (reply["status"], reply["code"]) == (False, "SIGNING_FAILURE")
    assert api.prompter.of_kind("confirm") == []


def test_xades_is_ignored_for_cms(demo) -> None:
    api = Api(approve(demo["citizen_sign"]))
    reply = api(basics(signingParams={"decode": True, "xades": "lta"}))
    assert reply["status"] is True, reply


def _service(prompter: ScriptedPrompter, ca: RunningCa) -> SigningService:
    trusted = TrustedCas()
    return SigningService(
        prompter,
        tsa=HttpTsa(ca.tsa_url),
        trusted=trusted,
        revocation=RevocationChecker(trusted, rewrites=ca.rewrites),
    )


@pytest.mark.parametrize(("level", "reached"), [("t", "T"), ("lta", "LTA")])
def test_xades_over_a_real_websocket_validates_offline(
    demo, bundled_ca: RunningCa, tmp_path: Path, level: str, reached: str
) -> None:
    prompter = ScriptedPrompter([approve(demo["citizen_sign"])])
    files = ensure_tls(tmp_path / "tls")
    server = ApiServer(
        Dispatcher(_service(prompter, bundled_ca)),
        ServerConfig(port=0, also_ipv6=False),
        files,
    )

    async def scenario() -> str:
        await server.start()
        context = ssl.create_default_context(cafile=str(files.root_pem))
        try:
            url = f"wss://127.0.0.1:{server.bound_port()}/"
            async with connect(url, ssl=context, origin="https://portal.example.kz") as ws:  # type: ignore[arg-type]
                await ws.recv()  # the greeting
                await ws.send(json.dumps(xml_basics(xades=level)))
                reply = json.loads(await ws.recv())
        finally:
            await server.stop()
        assert reply["status"] is True, reply
        result = reply["body"]["result"]
        return result[0] if isinstance(result, list) else result

    signed = asyncio.run(asyncio.wait_for(scenario(), 60))
    (shown,) = prompter.of_kind("confirm")
    assert shown.signature_format == f"XAdES-{level.upper()}"
    report = validate_file(
        signed.encode(),
        data_dir=tmp_path / "home",
        offline=level != "t",
        rewrites=bundled_ca.rewrites,
    )
    assert report.signers[0].level == reached, report.signers[0].warnings
    assert report.indication == TOTAL_PASSED


def test_the_terminal_confirmation_names_the_xades_level(demo, monkeypatch) -> None:
    out = io.StringIO()
    terminal = TerminalPrompter(out)
    entry = demo["citizen_sign"].open()
    key = KeyView(str(demo["citizen_sign"].path), entry.alias, identity_of(entry.certificate))
    view = SignRequestView(
        "https://portal.example.kz",
        "xml",
        (DocumentView.of(XML.encode(), "xml"),),
        key,
        signature_format="XAdES-LT",
    )

    async def refuse(prompt: str, secret: bool = False) -> str:
        return "no"

    monkeypatch.setattr(TerminalPrompter, "_ask", staticmethod(refuse))
    assert asyncio.run(terminal.confirm(view)) is False
    assert "Signature: XAdES-LT" in out.getvalue()
    plain = io.StringIO()
    asyncio.run(TerminalPrompter(plain).confirm(replace(view, signature_format=None)))
    assert "Signature:" not in plain.getvalue()
