"""`qalam tokens list|keys|passwd|enroll|renew` against a SoftHSM2 token standing in for a
Kaztoken (and, for enroll and renew, the live bundled CA)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ca_live import LiveCa, ca_fixture, issue_code  # noqa: F401 - ca is a fixture
from softhsm import PIN, SoftHsm, softhsm

from signer_app.cli import EXIT_ERROR, EXIT_OK, main
from signer_app.service.ca_client import CaClient

CITIZEN = "850101300124"

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


# ----------------------------------------------------------------------------- enroll, renew


def _keys(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["tokens", "keys", "--json"]) == EXIT_OK
    keys: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return keys


def test_enroll_with_a_psc_code_puts_new_keys_on_the_token(
    kaztoken: SoftHsm,
    ca: LiveCa,
    demo: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QALAM_PIN", PIN)
    argv = ["tokens", "enroll", "--storage", "AKKaztokenStore", "--token", "kaztoken",
            "--iin", CITIZEN, "--code", issue_code(ca, demo), "--ca-url", ca.url,
            "--key-kind", "ec"]  # fmt: skip
    assert main(argv) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.startswith("New keys on kaztoken (AKKaztokenStore, serial ")
    assert f"(IIN {CITIZEN}):" in out
    assert "writing the certificates to the token" in err
    assert sorted(k["algorithm"] for k in _keys(capsys)) == ["EC", "EC", "RSA"]


def test_an_unreachable_ca_leaves_a_pending_enrolment_that_resume_finishes(
    kaztoken: SoftHsm,
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QALAM_PIN", PIN)
    code = issue_code(ca, demo)
    argv = ["tokens", "enroll", "--iin", CITIZEN, "--code", code, "--ca-url", "http://127.0.0.1:9"]
    assert main(argv) == EXIT_ERROR
    assert "127.0.0.1:9" in capsys.readouterr().err
    (pending,) = (tmp_path / "home" / "pending").iterdir()
    assert pending.name.startswith("token-reissue-")
    assert main(["tokens", "enroll", "--resume", "--code", code, "--ca-url", ca.url]) == EXIT_OK
    assert "New keys on kaztoken" in capsys.readouterr().out
    assert not pending.exists()
    assert main(["tokens", "enroll", "--resume"]) == EXIT_OK
    assert "Nothing to resume" in capsys.readouterr().out


def test_discard_takes_a_pending_enrolment_off_the_token(
    kaztoken: SoftHsm,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QALAM_PIN", PIN)
    argv = ["tokens", "enroll", "--iin", CITIZEN, "--code", "C", "--ca-url", "http://127.0.0.1:9"]
    assert main(argv) == EXIT_ERROR
    (pending,) = (tmp_path / "home" / "pending").iterdir()
    assert main(["tokens", "enroll", "--discard", str(pending)]) == EXIT_OK
    assert "taken off kaztoken" in capsys.readouterr().out
    assert not pending.exists()
    assert len(_keys(capsys)) == 1


def test_enroll_needs_the_iin_and_the_code(
    kaztoken: SoftHsm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QALAM_PIN", PIN)
    assert main(["tokens", "enroll", "--iin", CITIZEN, "--ca-url", "http://127.0.0.1:9"]) == 2
    assert "give --iin and --code" in capsys.readouterr().err


def test_renew_signs_with_the_auth_key_on_the_token(
    kaztoken: SoftHsm,
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kaztoken.import_entry("kaztoken", demo["citizen_auth"].open(), b"\x02")
    kaztoken.activate()
    pin_file = _secret(tmp_path, "pin", PIN)
    assert main(["tokens", "renew", "--pin-file", pin_file, "--ca-url", ca.url]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"(IIN {CITIZEN}):" in out
    assert "2 replaced key pair(s) are still on the token" in out  # the old AUTH and SIGN
    old = demo["citizen_auth"].open().certificate
    status = CaClient(ca.url).certificate_status(f"{old.serial_number:040x}")
    assert status["status"] == "revoked"


OLD_PAIR = ("citizen_auth", "citizen_sign")


def test_renew_with_remove_old_leaves_only_the_new_pair_on_the_token(
    kaztoken: SoftHsm,
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kaztoken.import_entry("kaztoken", demo["citizen_auth"].open(), b"\x02")
    kaztoken.activate()
    pin_file = _secret(tmp_path, "pin", PIN)
    argv = ["tokens", "renew", "--pin-file", pin_file, "--ca-url", ca.url, "--remove-old"]
    assert main(argv) == EXIT_OK
    assert capsys.readouterr().out.count("Removed the replaced key") == 2
    assert main(["tokens", "keys", "--pin-file", pin_file, "--json"]) == EXIT_OK
    keys = json.loads(capsys.readouterr().out)
    old = {f"{demo[name].open().certificate.serial_number:x}" for name in OLD_PAIR}
    assert sorted(k["identity"]["purpose"] for k in keys) == ["auth", "sign"]
    assert not old & {k["identity"]["serial"].lstrip("0") for k in keys}


def test_renew_without_an_auth_key_on_the_token_says_to_use_a_code(
    kaztoken: SoftHsm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin_file = _secret(tmp_path, "pin", PIN)
    argv = ["tokens", "renew", "--pin-file", pin_file, "--ca-url", "http://127.0.0.1:9"]
    assert main(argv) == EXIT_ERROR
    assert "PSC code" in capsys.readouterr().err
