"""The real ncalayer-js-client passes Qalam's ``signingParams.xades`` through basicsSignXML to a
real `qalam serve`: "bes" comes back as a XAdES xmlsec1 accepts, a bad value as the client's
error with INVALID_SIGNING_PARAMS, and without it the plain XMLDSig as before."""

from __future__ import annotations

import pytest
from test_ncalayer_js_client import PKCS12, SIGNER, run_driver
from test_xades_xmlsec import _xmlsec1

from signer_app.crypto import xades, xmldsig

pytestmark = pytest.mark.interop

XML = "<req><iin>850101300124</iin></req>"


def test_ncalayer_js_client_asks_for_xades_through_basics(
    node_modules, qalam_serve, demo, xmlsec1, trust_chain_pem, tmp_path
) -> None:
    key = demo["citizen_sign"]
    served = qalam_serve([{"key": str(key.path), "password": key.password}] * 2)
    steps = [
        {"name": "bes", "call": "basicsSignXML", "params": [PKCS12, XML, {"xades": "bes"}, SIGNER]},
        {"name": "bad", "call": "basicsSignXML", "params": [PKCS12, XML, {"xades": "x"}, SIGNER]},
        {"name": "plain", "call": "basicsSignXML", "params": [PKCS12, XML, {}, SIGNER]},
    ]
    by_name = {s["name"]: s for s in run_driver(served, steps)["steps"]}

    assert by_name["bes"]["ok"], by_name["bes"]
    (signed,) = by_name["bes"]["result"]
    assert xades.inspect(signed)[0].is_xades
    outcome = _xmlsec1(xmlsec1, trust_chain_pem, signed, tmp_path)
    assert outcome.startswith("0 "), outcome

    bad = by_name["bad"]
    assert not bad["ok"]
    assert "INVALID_SIGNING_PARAMS" in bad["response"]

    (plain,) = by_name["plain"]["result"]
    assert xades.inspect(plain)[0].is_xades is False
    assert xmldsig.verify_xml(plain).valid
