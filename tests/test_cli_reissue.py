"""`qalam operator …`, `qalam reissue` and `qalam renew` against the live bundled CA: the PSC
flow from the operator's sign-in to the citizen's new key files, on the command line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ca_live import LiveCa, ca_fixture, issue_code  # noqa: F401 - ca is a fixture

from signer_app.cli import main
from signer_app.crypto.identity import identity_of
from signer_app.crypto.keystores import open_pkcs12

CITIZEN = "850101300124"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_psc_flow_from_operator_sign_in_to_the_citizens_new_keys(
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = ["--data-dir", str(tmp_path / "operator-home")]
    operator = demo["psc_operator_auth"]
    monkeypatch.setenv("QALAM_PASSWORD", operator.password)
    status, out, _ = run(capsys, "operator", "login", "--key", str(operator.path),
                         "--ca-url", ca.url, *home)  # fmt: skip
    assert status == 0, out
    assert "Signed in as operator IIN 880612300019" in out
    session = tmp_path / "operator-home" / "operator-session.json"
    assert session.stat().st_mode & 0o077 == 0
    assert operator.password not in session.read_text()

    status, out, _ = run(capsys, "operator", "find", CITIZEN, *home)
    assert status == 0
    old_sign = demo["citizen_sign"].open().certificate
    assert f"{old_sign.serial_number:040x}" in out

    status, out, _ = run(capsys, "operator", "code", CITIZEN, "--document-type", "id_card",
                         "--document-number", "0" + CITIZEN[-8:], *home)  # fmt: skip
    assert status == 0, out
    code = re.search(r"code for IIN \d{12}: (\S+)", out)
    assert code is not None

    status, _, err = run(capsys, "operator", "code", CITIZEN, "--document-type", "id_card",
                         "--document-number", "999", *home)  # fmt: skip
    assert status == 2
    assert "does not match the registry" in err

    assert run(capsys, "operator", "logout", *home)[0] == 0
    assert not session.exists()
    status, _, err = run(capsys, "operator", "find", CITIZEN, *home)
    assert status == 2
    assert "sign in first" in err

    out_dir = tmp_path / "keys"
    out_dir.mkdir()
    monkeypatch.setenv("QALAM_NEW_PASSWORD", "Citizen-New-1")
    status, out, err = run(capsys, "reissue", "--iin", CITIZEN, "--code", code.group(1),
                           "--out", str(out_dir), "--ca-url", ca.url,
                           "--data-dir", str(tmp_path / "citizen-home"))  # fmt: skip
    assert status == 0, err
    assert "generating keys" in err
    files = sorted(out_dir.iterdir())
    assert [f.name.split("_")[0] for f in files] == ["AUTH", "RSA256"]
    for file in files:
        assert identity_of(open_pkcs12(file, "Citizen-New-1").entry.certificate).iin == CITIZEN
        assert str(file) in out


def test_renew_with_the_current_auth_key(
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    current = demo["citizen_auth"]
    password_file = tmp_path / "current.txt"
    password_file.write_text(current.password + "\n")
    monkeypatch.setenv("QALAM_NEW_PASSWORD", "Renewed-Pass-1")
    status, out, err = run(capsys, "renew", "--key", str(current.path), "--password-file",
                           str(password_file), "--out", str(tmp_path), "--ca-url", ca.url,
                           "--data-dir", str(tmp_path / "home"))  # fmt: skip
    assert status == 0, err
    assert "New keys for" in out


def test_resume_with_nothing_pending_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "reissue", "--resume", "--data-dir", str(tmp_path))
    assert status == 0
    assert "Nothing to resume" in out


def test_a_ca_that_is_down_is_one_plain_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QALAM_NEW_PASSWORD", "x-password-1")
    status, _, err = run(capsys, "--lang", "ru", "reissue", "--iin", CITIZEN, "--code", "C",
                         "--out", str(tmp_path), "--ca-url", "http://127.0.0.1:9",
                         "--data-dir", str(tmp_path / "home"))  # fmt: skip
    assert status == 2
    assert "недоступен" in err
    assert "Traceback" not in err
