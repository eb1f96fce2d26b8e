"""CAdES-T checked by OpenSSL: `openssl cms -verify` still accepts the stamped CMS, and the token
taken out of the unsigned attribute passes `openssl ts -verify` over the signature value's
SHA-256, with the TSA chained to the demo NAC issuing CA and root."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from tsa_helpers import respond, tsa_pem

from signer_app.crypto import cms, tsp
from signer_app.crypto.algorithms import DigestAlgorithm

pytestmark = pytest.mark.interop

PAYLOAD = "Құжат мәтіні — текст документа — document text\n".encode() * 20


def stamp(imprint: bytes) -> bytes:
    query = tsp.build_query(imprint, DigestAlgorithm.SHA256, nonce=2024)
    return tsp.parse_response(respond(query), query).der


def run(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, capture_output=True, check=False)


@pytest.mark.parametrize("detached", [False, True])
def test_openssl_accepts_cades_t(openssl, trust_chain_pem, citizen_sign, tmp_path: Path, detached):
    stamped = cms.add_signature_timestamp(cms.sign(PAYLOAD, citizen_sign, detached=detached), stamp)
    signed = tmp_path / "signed.p7s"
    signed.write_bytes(stamped)
    content = tmp_path / "doc.txt"
    content.write_bytes(PAYLOAD)
    argv = [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signed)]
    argv += ["-CAfile", str(trust_chain_pem), "-purpose", "any", "-out", os.devnull]
    if detached:
        argv += ["-content", str(content)]
    done = run(argv)
    assert done.returncode == 0, done.stderr.decode()

    (info,) = asn1_cms.ContentInfo.load(stamped)["content"]["signer_infos"]
    (attribute,) = info["unsigned_attrs"]
    token = tmp_path / "token.der"
    token.write_bytes(attribute["values"][0].dump())
    digest = hashlib.sha256(info["signature"].native).hexdigest()
    verify = [openssl, "ts", "-verify", "-token_in", "-in", str(token), "-digest", digest]
    verify += ["-CAfile", str(trust_chain_pem), "-untrusted", str(tsa_pem(tmp_path))]
    done = run(verify)
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
    assert b"Verification: OK" in done.stdout

    # and the same token does not prove another signature
    wrong = hashlib.sha256(b"another signature").hexdigest()
    done = run([*verify[:7], wrong, *verify[8:]])
    assert b"message imprint mismatch" in done.stdout + done.stderr
    assert done.returncode != 0
