"""`qalam sign -f xml --xades bes|t|lt|lta` and `qalam verify` reporting the level reached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from validation_helpers import CERTIFIED_BASE, RunningCa

from signer_app.cli import EXIT_ERROR, EXIT_OK, main


@pytest.fixture
def ca_options(bundled_ca: RunningCa, tmp_path: Path) -> list[str]:
    """Options reaching the served bundled CA, with a fresh trust store (demo roots)."""
    return ["--url-map", f"{CERTIFIED_BASE}={bundled_ca.url}", "--data-dir", str(tmp_path / "home")]


@pytest.fixture
def request_xml(demo, monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("QALAM_PASSWORD", demo["citizen_sign"].password)
    path = tmp_path / "request.xml"
    path.write_text("<request><iin>850101300124</iin></request>", encoding="utf-8")
    return path


@pytest.mark.parametrize(("xades", "level"), [("lt", "LT"), ("lta", "LTA")])
def test_sign_xades_lt_and_lta_then_verify_offline_shows_the_level(
    bundled_ca, ca_options, demo, request_xml, tmp_path, capsys, xades, level
) -> None:
    key = str(demo["citizen_sign"].path)
    out = tmp_path / f"request.{xades}.xml"
    sign = ["sign", str(request_xml), "-k", key, "-f", "xml", "--xades", xades]
    assert main([*sign, "--tsa", bundled_ca.tsa_url, "-o", str(out), *ca_options]) == EXIT_OK
    capsys.readouterr()
    home = ["--data-dir", str(tmp_path / "home")]
    assert main(["verify", str(out), "--json", "--offline", *home]) == EXIT_OK
    signer = json.loads(capsys.readouterr().out)["signers"][0]
    assert signer["level"] == level
    assert main(["verify", str(out), "--offline", *home]) == EXIT_OK
    assert f"level {level}" in capsys.readouterr().out


@pytest.mark.parametrize("xades", ["t", "lt", "lta"])
def test_a_stamped_xades_without_a_tsa_exits_2(demo, request_xml, capsys, xades) -> None:
    key = str(demo["citizen_sign"].path)
    assert main(["sign", str(request_xml), "-k", key, "-f", "xml", "--xades", xades]) == EXIT_ERROR
    assert "--tsa" in capsys.readouterr().err
