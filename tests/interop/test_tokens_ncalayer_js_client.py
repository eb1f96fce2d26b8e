"""ncalayer-js-client asks `qalam serve` to sign with a token storage (SoftHSM2 as a Kaztoken)."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
from softhsm import PIN, SoftHsm, softhsm
from test_ncalayer_js_client import ATTACHED, DATA, DATA_B64, SIGNER, pem_cms_to_der, run_driver

__all__ = ["softhsm"]  # fixture, used by name

TOKEN = ["AKKaztokenStore"]


def _openssl_content(openssl: str, der: bytes, trust: Path, folder: Path) -> bytes:
    signed, out = folder / "sig.der", folder / "out.bin"
    signed.write_bytes(der)
    done = subprocess.run(
        [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signed),
         "-CAfile", str(trust), "-purpose", "any", "-out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


@pytest.mark.interop
def test_ncalayer_js_client_signs_with_a_token_storage(
    node_modules: Path,
    qalam_serve: Any,
    softhsm: SoftHsm,
    demo: dict[str, Any],
    openssl: str,
    trust_chain_pem: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    softhsm.init_token("kaztoken")
    softhsm.import_entry("kaztoken", demo["citizen_auth"].open(), b"\x01")
    softhsm.import_entry("kaztoken", demo["citizen_sign"].open(), b"\x02")
    softhsm.activate()  # SOFTHSM2_CONF for the server process too
    monkeypatch.setenv("QALAM_PKCS11_MODULES", f"AKKaztokenStore={softhsm.lib}")
    served = qalam_serve([{"storage": "AKKaztokenStore", "pin": PIN}] * 3)
    steps = [
        {"name": "tokens", "call": "getActiveTokens", "params": []},
        {"name": "key_info", "call": "getKeyInfo", "params": TOKEN},
        {"name": "cms", "call": "basicsSignCMS", "params": [TOKEN, DATA_B64, ATTACHED, SIGNER]},
        {
            "name": "cades",
            "call": "createCAdESFromBase64",
            "params": ["AKKaztokenStore", DATA_B64, "SIGNATURE", True],
        },
        {
            "name": "no_device",
            "call": "createCAdESFromBase64",
            "params": ["AKJaCartaStore", DATA_B64, "SIGNATURE", True],
        },
    ]
    by_name = {s["name"]: s for s in run_driver(served, steps)["steps"]}

    assert by_name["tokens"]["result"] == ["AKKaztokenStore"]
    assert by_name["key_info"]["result"]["subjectCn"] == demo["citizen_auth"].name
    basics = pem_cms_to_der(by_name["cms"]["result"])
    assert _openssl_content(openssl, basics, trust_chain_pem, tmp_path) == DATA
    common = base64.b64decode(by_name["cades"]["result"])
    assert _openssl_content(openssl, common, trust_chain_pem, tmp_path) == DATA
    assert not by_name["no_device"]["ok"]
    assert "storage.empty" in by_name["no_device"]["error"]
