"""Enrolment on a token end to end, checked with openssl: a PSC operator's code, keys generated
on a SoftHSM2 token standing in for a Kaztoken (`qalam tokens enroll`), certificates from the
live bundled CA written to the token, then a CMS signed with the new token key that
`openssl cms -verify` accepts with the CA chain read back from the token itself."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ca_live import LiveCa, live_ca
from cryptography.hazmat.primitives import serialization
from softhsm import PIN, SoftHsm, softhsm

from signer_app.cli import EXIT_OK, main
from signer_app.crypto import cms
from signer_app.crypto.identity import Purpose, identity_of
from signer_app.service.ca_client import CaClient
from signer_app.service.tokens import TokenRegistry

__all__ = ["softhsm"]  # fixture, used by name

pytestmark = pytest.mark.interop

CITIZEN = "850101300124"
STORAGE = "AKKaztokenStore"


@pytest.fixture
def ca(tmp_path: Path) -> Iterator[LiveCa]:
    with live_ca(tmp_path) as served:
        yield served


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_keys_made_on_the_token_sign_a_cms_openssl_accepts_with_the_chain_on_the_token(
    ca: LiveCa,
    demo: dict[str, Any],
    softhsm: SoftHsm,
    openssl: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    softhsm.init_token("kaztoken")
    softhsm.activate()
    monkeypatch.setenv("QALAM_PKCS11_MODULES", f"{STORAGE}={softhsm.lib}")
    monkeypatch.setenv("QALAM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("QALAM_PIN", PIN)
    operator = CaClient(ca.url)
    operator.sign_in(demo["psc_operator_auth"].open())
    code = str(operator.ticket(CITIZEN, "id_card", "0" + CITIZEN[-8:], "reissue")["code"])

    argv = ["tokens", "enroll", "--iin", CITIZEN, "--code", code, "--ca-url", ca.url,
            "--key-kind", kind]  # fmt: skip
    assert main(argv) == EXIT_OK

    with TokenRegistry().open(STORAGE, PIN) as store:
        (sign,) = [e for e in store.entries() if identity_of(e.certificate).purpose is Purpose.SIGN]
        signed = cms.sign(b"signed with a key born on the token", sign)
        chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in sign.chain)
    assert len(sign.chain) == 2
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "sig.der").write_bytes(signed)
    out = tmp_path / "out.bin"
    done = subprocess.run(
        [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig.der"),
         "-CAfile", str(tmp_path / "chain.pem"), "-purpose", "any", "-out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == b"signed with a key born on the token"
