"""`qalam sign doc.pdf -f pdf`: the PAdES front door of the command line, and `qalam verify` on
what it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pades_helpers import write_pdf
from validation_helpers import CERTIFIED_BASE, RunningCa

from signer_app.cli import EXIT_ERROR, EXIT_OK, main


@pytest.fixture
def home(tmp_path: Path) -> list[str]:
    return ["--data-dir", str(tmp_path / "home")]


def _key(demo, monkeypatch, name: str = "citizen_sign") -> str:
    key = demo[name]
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    return str(key.path)


def test_sign_pdf_b_b_writes_doc_signed_pdf(tmp_path, demo, monkeypatch, home, capsys) -> None:
    source = write_pdf(tmp_path)
    key = _key(demo, monkeypatch)
    assert main(["sign", str(source), "-f", "pdf", "-k", key, *home]) == EXIT_OK
    assert "doc.signed.pdf" in capsys.readouterr().err
    assert (tmp_path / "doc.signed.pdf").read_bytes().startswith(source.read_bytes())


def test_sign_pdf_b_lta_visible_then_verify_json(
    tmp_path, demo, monkeypatch, home, bundled_ca: RunningCa, capsys
) -> None:
    source = write_pdf(tmp_path)
    key = _key(demo, monkeypatch)
    url_map = ["--url-map", f"{CERTIFIED_BASE}={bundled_ca.url}"]
    out = tmp_path / "lta.pdf"
    command = ["sign", str(source), "-f", "pdf", "-k", key, "--level", "b-lta"]
    command += ["--tsa", bundled_ca.tsa_url, "--visible", "1,40,40,300,120", "-o", str(out)]
    assert main([*command, *url_map, *home]) == EXIT_OK
    capsys.readouterr()
    assert main(["verify", str(out), "--json", *url_map, *home]) == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert shown["format"] == "pdf"
    assert shown["indication"] == "TOTAL_PASSED"


def test_sign_pdf_with_a_gost_key_exits_2_with_a_plain_sentence(
    tmp_path, demo, monkeypatch, home, capsys
) -> None:
    source = write_pdf(tmp_path)
    key = _key(demo, monkeypatch, "citizen_gost_sign")
    assert main(["sign", str(source), "-f", "pdf", "-k", key, *home]) == EXIT_ERROR
    assert "RSA or EC" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["doc.pdf"]


def test_sign_pdf_with_a_bad_visible_box_exits_2(tmp_path, demo, monkeypatch, home, capsys):
    source = write_pdf(tmp_path)
    key = _key(demo, monkeypatch)
    command = ["sign", str(source), "-f", "pdf", "-k", key, "--visible", "1,2,3", *home]
    assert main(command) == EXIT_ERROR
    assert "PAGE,X1,Y1,X2,Y2" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options",
    [["-f", "pdf", "-o", "-"], ["-f", "pdf", "--detached"], ["-f", "cms", "--level", "b-t"]],
    ids=["pdf-to-stdout", "pdf-detached", "cms-b-t-without-a-tsa"],
)
def test_options_that_do_not_fit_pdf_exit_2(tmp_path, demo, monkeypatch, home, capsys, options):
    source = write_pdf(tmp_path)
    key = _key(demo, monkeypatch)
    assert main(["sign", str(source), "-k", key, *options, *home]) == EXIT_ERROR
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["doc.pdf"]
