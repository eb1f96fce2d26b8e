"""xmlsec1 checks the XMLDSig core of our XAdES-LT and LTA signatures: the unsigned validation
data and archive timestamp leave both references and the signature value intact."""

from __future__ import annotations

import pytest
from test_xades_xmlsec import DOCUMENT, _xmlsec1
from validation_helpers import RunningCa, demo_anchors

from signer_app.crypto import xades_lt
from signer_app.service.tsa_client import HttpTsa

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("level", ["lt", "lta"])
def test_xmlsec1_accepts_our_xades_lt_and_lta(
    bundled_ca: RunningCa, citizen_sign, xmlsec1, trust_chain_pem, tmp_path, level
) -> None:
    signed = xades_lt.sign_xades_long_term(
        DOCUMENT,
        citizen_sign,
        level=level,
        stamp=HttpTsa(bundled_ca.tsa_url).stamp,
        anchors=demo_anchors(),
        fetching=bundled_ca.fetching(),
    )
    assert "xades:RevocationValues" in signed
    assert ("xades141:ArchiveTimeStamp" in signed) == (level == "lta")
    outcome = _xmlsec1(xmlsec1, trust_chain_pem, signed, tmp_path)
    assert outcome.startswith("0 "), outcome
    assert "SignedInfo References (ok/all): 2/2" in outcome


def test_xmlsec1_still_rejects_a_changed_document_in_an_lta(
    bundled_ca: RunningCa, citizen_sign, xmlsec1, trust_chain_pem, tmp_path
) -> None:
    signed = xades_lt.sign_xades_long_term(
        DOCUMENT,
        citizen_sign,
        level="lta",
        stamp=HttpTsa(bundled_ca.tsa_url).stamp,
        anchors=demo_anchors(),
        fetching=bundled_ca.fetching(),
    )
    tampered = signed.replace("АСХАТ", "АСКАР", 1)
    assert not _xmlsec1(xmlsec1, trust_chain_pem, tampered, tmp_path).startswith("0 ")
