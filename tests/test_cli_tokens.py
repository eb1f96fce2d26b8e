"""`qalam tokens list|keys|passwd` against a SoftHSM2 token standing in for a Kaztoken."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from softhsm import PIN, SoftHsm, softhsm

from signer_app.cli import EXIT_ERROR, EXIT_OK, main

__all__ = ["softhsm"]  # fixture, used by name


@pytest.fixture
def kaztoken(
    softhsm: SoftHsm, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> SoftHsm:
    """A token with the demo citizen's key, reached as AKKaztokenStore; no PIN in the env."""
    softhsm.init_token("kaztoken")
    softhsm.import_entry("kaztoken", demo["citizen_sign"].open(), b"\x01")
    softhsm.activate()
    monkeypatch.setenv("QALAM_PKCS11_MODULES", f"AKKaztokenStore={softhsm.lib}")
    monkeypatch.setenv("QALAM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("QALAM_PIN", raising=False)
    monkeypatch.delenv("QALAM_NEW_PIN", raising=False)
    return softhsm


def _secret(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name
    path.write_text(value + "\n", encoding="utf-8")
    return str(path)


def test_list_shows_the_token_and_the_missing_drivers(
    kaztoken: SoftHsm, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "AKKaztokenStore: Kaztoken: " in out
    assert "token kaztoken (SoftHSM project SoftHSM v2" in out
    assert "AKAKEYStore: aKey: driver not found" in out


def test_list_as_json(kaztoken: SoftHsm, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tokens", "list", "--json"]) == EXIT_OK
    rows = {row["storage"]: row for row in json.loads(capsys.readouterr().out)}
    assert [t["label"] for t in rows["AKKaztokenStore"]["tokens"]] == ["kaztoken"]
    assert rows["AKKaztokenStore"]["tokens"][0]["pin"] == "ok"
    assert rows["AKJaCartaStore"]["driver"] is None


def test_keys_with_the_pin_from_the_environment(
    kaztoken: SoftHsm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QALAM_PIN", PIN)
    assert main(["tokens", "keys", "--json"]) == EXIT_OK
    keys = json.loads(capsys.readouterr().out)
    assert keys[0]["algorithm"] == "RSA"
    assert keys[0]["identity"]["iin"]


def test_keys_with_a_pin_file_and_a_named_storage(
    kaztoken: SoftHsm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin_file = _secret(tmp_path, "pin", PIN)
    assert main(["tokens", "keys", "--storage", "AKKaztokenStore", "--pin-file", pin_file]) == 0
    out = capsys.readouterr().out
    assert out.startswith("kaztoken (AKKaztokenStore, serial ")
    assert "Key " in out


def test_a_wrong_pin_is_a_plain_error_in_the_chosen_language(
    kaztoken: SoftHsm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin_file = _secret(tmp_path, "pin", "00000000")
    assert main(["--lang", "ru", "tokens", "keys", "--pin-file", pin_file]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("qalam: Неверный пароль.")
    assert "00000000" not in err


def test_no_pin_and_no_terminal_is_refused_never_read_from_argv(
    kaztoken: SoftHsm, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "keys"]) == EXIT_ERROR
    assert "QALAM_PIN" in capsys.readouterr().err


def test_passwd_changes_the_pin(
    kaztoken: SoftHsm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _secret(tmp_path, "old", PIN), _secret(tmp_path, "new", "11223344")
    assert main(["tokens", "passwd", "--old-pin-file", old, "--new-pin-file", new]) == EXIT_OK
    assert "PIN changed" in capsys.readouterr().out
    assert main(["tokens", "keys", "--pin-file", new]) == EXIT_OK
    assert main(["tokens", "keys", "--pin-file", old]) == EXIT_ERROR


def test_a_module_that_does_not_exist_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QALAM_PIN", PIN)
    monkeypatch.setenv("QALAM_HOME", str(tmp_path))
    assert main(["tokens", "keys", "--module", str(tmp_path / "nope.so")]) == EXIT_ERROR
    assert "not installed" in capsys.readouterr().err


def test_no_token_anywhere_asks_which_storage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QALAM_PIN", PIN)
    monkeypatch.setenv("QALAM_HOME", str(tmp_path))
    monkeypatch.setenv("QALAM_PKCS11_MODULES", "")
    assert main(["tokens", "keys"]) == EXIT_ERROR
    assert "tokens found: none" in capsys.readouterr().err
