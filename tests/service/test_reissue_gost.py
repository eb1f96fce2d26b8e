"""A GOST 34.10-2015 key pair made here, enrolled over HTTP with a PSC code: the bundled CA's
GOST line issues both certificates and the reply names the GOST issuing CA."""

from __future__ import annotations

from typing import Any

from ca_live import LiveCa, ca_fixture, issue_code  # noqa: F401 - ca is a fixture

from signer_app.crypto import csr, gost
from signer_app.crypto.identity import identity_of
from signer_app.service.ca_client import CaClient

CITIZEN = "850101300124"


def test_gost_requests_enrol_over_http_and_the_gost_ca_signs_them(
    ca: LiveCa, demo: dict[str, Any]
) -> None:
    auth, sign = gost.generate_private_key(), gost.generate_private_key()
    requests = [
        csr.build_csr(key.public_key.subject_public_key_info(), key) for key in (auth, sign)
    ]
    issued = CaClient(ca.url).enroll(CITIZEN, *requests, code=issue_code(ca, demo))
    issuer = issued.chain[0]
    assert "GOST" in issuer.subject.rfc4514_string()
    for certificate, purpose in ((issued.auth, "auth"), (issued.sign, "sign")):
        assert gost.certificate_signed_by(certificate, issuer)
        who = identity_of(certificate)
        assert who.iin == CITIZEN
        assert who.purpose.value == purpose
