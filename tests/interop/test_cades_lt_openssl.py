"""OpenSSL reads our CAdES-LT/LTA: `openssl cms -verify` accepts them and `-cmsout -print` shows
the OCSP response among the CRLs; `qalam sign --level` and `qalam verify --offline` round-trip."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from validation_helpers import CERTIFIED_BASE, RunningCa

from signer_app.cli import EXIT_OK, main

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("level", ["b-lt", "lta"])  # ETSI's name, and the short form
def test_openssl_accepts_our_long_term_cms_and_qalam_verifies_it_offline(
    bundled_ca: RunningCa,
    demo,
    openssl,
    trust_chain_pem,
    tmp_path: Path,
    monkeypatch,
    capsys,
    level,
) -> None:
    key = demo["citizen_sign"]
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    document = tmp_path / "contract.txt"
    document.write_text("Келісімшарт № 1: 1000 теңге\n", encoding="utf-8")
    signed = tmp_path / "contract.cms"
    home = ["--data-dir", str(tmp_path / "home")]
    argv = ["sign", str(document), "-k", str(key.path), "--tsa", bundled_ca.tsa_url]
    argv += ["--level", level, "--url-map", f"{CERTIFIED_BASE}={bundled_ca.url}", *home]
    assert main([*argv, "-o", str(signed)]) == EXIT_OK

    verify = [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signed)]
    verify += ["-CAfile", str(trust_chain_pem), "-purpose", "any", "-out", os.devnull]
    result = subprocess.run(verify, capture_output=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    printed = subprocess.run(
        [openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(signed)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    crls = printed[printed.index("crls:") :]
    assert "1.3.6.1.5.5.7.16.2" in crls  # id-ri-ocsp-response
    assert "Basic OCSP Response" in crls

    capsys.readouterr()
    assert main(["verify", str(signed), "--offline", "--json", *home]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["indication"] == "TOTAL_PASSED"
    (signer,) = report["signers"]
    assert signer["level"] == level.removeprefix("b-").upper()
    assert signer["revocation"]["source"] == "embedded"
