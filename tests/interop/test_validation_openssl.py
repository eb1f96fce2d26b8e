"""Our verdict on a CAdES-T stamped by the served bundled CA agrees with OpenSSL: `openssl ts
-verify` accepts the token taken out of the signature (over the signature value) when our
validator says TOTAL_PASSED, and refuses it once a byte of it is changed, as ours does."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from validation_helpers import CERTS, RunningCa, demo_anchors

from signer_app.crypto import cms
from signer_app.crypto.validation import TOTAL_PASSED, validate_cms
from signer_app.service.tsa_client import HttpTsa

pytestmark = pytest.mark.interop


def test_openssl_ts_verify_agrees_with_our_validation(
    openssl, bundled_ca: RunningCa, citizen_sign, tmp_path: Path
) -> None:
    signature = cms.add_signature_timestamp(
        cms.sign(b"document", citizen_sign), HttpTsa(bundled_ca.tsa_url).stamp
    )
    report = validate_cms(signature, anchors=demo_anchors(), fetching=bundled_ca.fetching())
    assert report.indication == TOTAL_PASSED
    (info,) = asn1_cms.ContentInfo.load(signature)["content"]["signer_infos"]
    token = info["unsigned_attrs"][0]["values"][0].dump()
    digest = hashlib.sha256(info["signature"].native).hexdigest()
    path = tmp_path / "token.der"

    def openssl_verifies(blob: bytes) -> subprocess.CompletedProcess[bytes]:
        path.write_bytes(blob)
        argv = [openssl, "ts", "-verify", "-token_in", "-in", str(path), "-digest", digest]
        argv += ["-CAfile", str(CERTS / "trust" / "demo-chain.pem")]
        return subprocess.run(argv, capture_output=True, check=False)

    done = openssl_verifies(token)
    assert done.returncode == 0, done.stderr.decode()
    assert b"Verification: OK" in done.stdout
    at = len(token) - 10  # inside the TSA's signature
    broken = token[:at] + bytes([token[at] ^ 1]) + token[at + 1 :]
    assert openssl_verifies(broken).returncode != 0
