"""qalam-ca on the command line: init, issue test keys, revoke, status, registry, codes, audit."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.x509.oid import NameOID

from ca_server import cli, registry
from ca_server.ca_keys import PASSPHRASE_ENV
from ca_server.enrollment import OneTimeCode, enroll
from ca_server.instance import Instance, load_instance
from signer_app.crypto.keystores import open_pkcs12

PASSPHRASE = "test-instance-passphrase"
CITIZEN = "850101300124"
CEO = "750315300018"
COMPANY = "940140000385"


@pytest.fixture
def data_dir(sqlite_instance: Instance, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A demo instance's directory, its passphrase in the environment, no database open."""
    sqlite_instance.close()
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    return sqlite_instance.data_dir


def run(
    capsys: pytest.CaptureFixture[str], data_dir: Path | None, *argv: str
) -> tuple[int, str, str]:
    """Run qalam-ca in this process; (exit status, stdout, stderr)."""
    place = ["--data-dir", str(data_dir)] if data_dir is not None else []
    status = cli.main([*argv, *place])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_init_creates_an_instance_and_tells_where_the_new_passphrase_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    target = tmp_path / "ca"
    status, out, _ = run(capsys, target, "init")
    assert status == 0
    assert "adopted the demo PKI: 24 certificates, 8 persons" in out  # GOST line included
    assert f"{target / 'passphrase'} (mode 0600)" in out
    assert stat.S_IMODE((target / "passphrase").stat().st_mode) == 0o600
    status, _, err = run(capsys, target, "init")
    assert status == 1
    assert "[instance_exists]" in err
    assert "nothing was changed" in err


def test_issue_writes_two_key_files_that_open_with_the_printed_passwords(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "keys"
    status, out, _ = run(
        capsys, data_dir, "issue", "--iin", CEO, "--bin", COMPANY, "--role", "head",
        "--out", str(out_dir), "--json",
    )  # fmt: skip
    assert status == 0
    files = json.loads(out)
    assert [f["purpose"] for f in files] == ["auth", "sign"]
    names = sorted(Path(f["path"]).name for f in files)
    assert re.fullmatch(r"AUTH_RSA256_[0-9a-f]{40}\.p12", names[0])
    assert re.fullmatch(r"RSA256_[0-9a-f]{40}\.p12", names[1])
    for item in files:
        path = Path(item["path"])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        entry = open_pkcs12(path, item["password"]).entry
        assert f"{entry.certificate.serial_number:040x}" == item["serial"]
        assert path.name.endswith(f"_{entry.alias}.p12")  # the alias is the SKI, as NCA does it
        cn = entry.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert cn == "ӘБДІҒАЛИЕВ ҚАНАТ"
        assert len(entry.chain) == 2  # issuing CA and root
    assert files[0]["password"] != files[1]["password"]
    status, out, _ = run(capsys, data_dir, "status", files[0]["serial"])
    assert status == 0
    assert "status:   good" in out


def test_issue_prints_files_and_passwords_in_plain_text(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(
        capsys, data_dir, "issue", "--iin", CITIZEN, "--role", "individual",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert status == 0
    assert "issued AUTH and SIGN certificates by nac" in out
    assert len(re.findall(r"password: \S{16}", out)) == 2
    assert len(list(tmp_path.glob("*.p12"))) == 2


def test_issue_for_someone_the_registry_does_not_know_fails_with_the_code(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(
        capsys, data_dir, "issue", "--iin", "980102200348", "--role", "individual",
        "--out", str(tmp_path / "keys"),
    )  # fmt: skip
    assert status == 1
    assert "[unknown_person]" in err
    assert not (tmp_path / "keys").exists()
    status, _, err = run(
        capsys, data_dir, "issue", "--iin", "850101300125", "--role", "individual",
        "--out", str(tmp_path / "keys"),
    )  # fmt: skip
    assert status == 1
    assert "check digit should be 4" in err


def test_revoke_then_status_then_revoke_again(
    data_dir: Path, demo_rows: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    serial = demo_rows["employee_sign"]["serial"]
    status, out, _ = run(capsys, data_dir, "revoke", serial, "--reason", "affiliationChanged")
    assert (status, f"revoked {serial} (affiliationChanged)" in out) == (0, True)
    status, out, _ = run(capsys, data_dir, "status", serial, "--json")
    assert status == 0
    assert json.loads(out)["status"] == "revoked"
    status, _, err = run(capsys, data_dir, "revoke", serial, "--reason", "keyCompromise")
    assert status == 1
    assert "[already_revoked]" in err
    status, _, err = run(capsys, data_dir, "revoke", serial, "--reason", "because")
    assert (status, "[invalid_reason]" in err) == (1, True)
    status, _, err = run(capsys, data_dir, "status", "7f" * 20)
    assert (status, "[not_found]" in err) == (1, True)


def test_registry_add_person_and_role_then_show(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iin = "980102200348"
    status, out, _ = run(
        capsys, data_dir, "registry", "add-person", "--iin", iin, "--surname", "Ахметова",
        "--given-name", "Дина", "--patronymic", "Маратқызы", "--birth-date", "1998-01-02",
        "--document", "012345678",
    )  # fmt: skip
    assert (status, f"registered Ахметова Дина (IIN {iin})" in out) == (0, True)
    status, _, _ = run(
        capsys, data_dir, "registry", "add-role", "--bin", COMPANY, "--iin", iin,
        "--role", "employee",
    )  # fmt: skip
    assert status == 0
    status, out, _ = run(capsys, data_dir, "registry", "show", iin, "--json")
    shown = json.loads(out)
    assert shown["person"]["id_document_number"] == "012345678"
    assert {"role": "employee", "bin": COMPANY, "ca": "nac"} in shown["may_get"]
    status, out, _ = run(capsys, data_dir, "registry", "show", CITIZEN)
    assert "ЖҰМАБЕКОВ АСХАТ НҰРЛАНҰЛЫ (IIN 850101300124)" in out
    assert out.count("AUTH") == 2  # the citizen's RSA and GOST 2015 AUTH keys


def test_a_ticket_code_printed_by_the_cli_enrols_once(
    data_dir: Path, capsys: pytest.CaptureFixture[str], make_csr: Any
) -> None:
    status, out, _ = run(capsys, data_dir, "ticket", "--iin", CITIZEN, "--ttl", "2h")
    assert status == 0
    code = re.search(r"code for IIN \d+: (\S+)", out)
    assert code is not None
    opened = load_instance(data_dir)
    try:
        pair = enroll(
            opened.db,
            opened.authorities,
            OneTimeCode(code.group(1)),
            CITIZEN,
            {"auth": make_csr(CITIZEN)[1], "sign": make_csr(CITIZEN)[1]},
        )
        assert pair.auth.iin == CITIZEN
        assert registry.hash_code(code.group(1)) is not None
    finally:
        opened.close()


def test_crl_writes_the_current_crl(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "gov.crl"
    status, _, _ = run(capsys, data_dir, "crl", "gov", "--out", str(out_file))
    assert status == 0
    assert out_file.read_bytes()[:1] == b"\x30"
    status, _, err = run(capsys, data_dir, "crl", "xyz", "--out", str(out_file))
    assert (status, "[unknown_ca]" in err) == (1, True)


def test_audit_shows_who_did_what(
    data_dir: Path, demo_rows: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, data_dir, "revoke", demo_rows["signer_auth"]["serial"], "--reason", "1")
    run(capsys, data_dir, "revoke", demo_rows["signer_auth"]["serial"], "--reason", "1")
    status, out, _ = run(capsys, data_dir, "audit", "--since", "1h", "--json")
    assert status == 0
    entries = json.loads(out)
    actions = [(e["action"], e["outcome"]) for e in entries]
    assert actions[-2:] == [("certificate.revoke", "ok"), ("certificate.revoke", "already_revoked")]
    assert entries[-1]["actor"].startswith("cli:")
    status, out, _ = run(capsys, data_dir, "audit", "--limit", "1")
    assert status == 0
    assert "certificate.revoke" in out
    assert "already_revoked" in out


def test_a_wrong_passphrase_or_a_missing_instance_is_a_plain_error(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(PASSPHRASE_ENV, "not-it")
    status, _, err = run(capsys, data_dir, "crl", "nac", "--out", str(tmp_path / "x.crl"))
    assert (status, "[ca_key_locked]" in err, "not-it" in err) == (1, True, False)
    status, _, err = run(capsys, tmp_path / "none", "status", "01")
    assert (status, "[instance_missing]" in err) == (1, True)


def test_the_demo_pki_command_is_still_there() -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["demo-pki", "--help"])
    assert done.value.code == 0
