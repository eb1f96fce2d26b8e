"""`qalam trust`: the local root into ~/.pki/nssdb and Firefox profiles, with the real certutil.

HOME points at a temporary folder holding a fake Firefox profile (its own NSS database made
with `certutil -N`); a missing certutil fails the test (CI installs libnss3-tools)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from signer_app.api import trust
from signer_app.api.tls import ensure_tls
from signer_app.cli import main


@pytest.fixture
def certutil() -> str:
    path = shutil.which("certutil")
    if path is None:
        pytest.fail("certutil is not installed: run scripts/setup.sh (CI installs libnss3-tools)")
    return path


@pytest.fixture
def home(tmp_path, monkeypatch, certutil) -> Path:
    home = tmp_path / "home"
    profile = home / ".mozilla" / "firefox" / "abcd1234.default-release"
    profile.mkdir(parents=True)
    subprocess.run([certutil, "-N", "-d", f"sql:{profile}", "--empty-password"], check=True)
    (home / ".mozilla" / "firefox" / "not-a-profile").mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def listing(certutil: str, folder: Path) -> str:
    done = subprocess.run(
        [certutil, "-L", "-d", f"sql:{folder}"], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_install_status_remove(home, tmp_path, certutil):
    files = ensure_tls(tmp_path / "data")
    dbs = trust.nss_databases()
    assert [db.folder for db in dbs] == [
        home / ".pki" / "nssdb",
        home / ".mozilla" / "firefox" / "abcd1234.default-release",
    ]
    assert [s.state for s in trust.status(files.root_pem)] == ["no database", "absent"]

    done = trust.install(files.root_pem)
    assert done[0] == f"created {home / '.pki' / 'nssdb'}"
    assert sum(line.startswith("installed in") for line in done) == 2
    assert [s.state for s in trust.status(files.root_pem)] == ["trusted", "trusted"]
    for db in dbs:
        assert "Qalam local root" in listing(certutil, db.folder)
        assert "C,," in listing(certutil, db.folder)

    again = trust.install(files.root_pem)
    assert sum(line.startswith("already trusted") for line in again) == 2

    # A new root (another data dir, or a renewed one) replaces the old one under the nickname.
    other = ensure_tls(tmp_path / "other")
    assert [s.state for s in trust.status(other.root_pem)] == ["different", "different"]
    replaced = trust.install(other.root_pem)
    assert sum("replacing an older one" in line for line in replaced) == 2
    assert [s.state for s in trust.status(other.root_pem)] == ["trusted", "trusted"]
    assert [s.state for s in trust.status(files.root_pem)] == ["different", "different"]

    removed = trust.remove()
    assert all(line.startswith("removed 1 certificate(s)") for line in removed)
    assert [s.state for s in trust.status(other.root_pem)] == ["absent", "absent"]
    assert all(line.startswith("was not there") for line in trust.remove())


def test_the_trusted_root_verifies_the_servers_certificate(home, tmp_path, certutil):
    files = ensure_tls(tmp_path / "data")
    trust.install(files.root_pem)
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(
        files.server_pem.read_bytes().split(b"-----END CERTIFICATE-----")[0]
        + b"-----END CERTIFICATE-----\n"
    )
    for db in trust.nss_databases():
        subprocess.run(
            [certutil, "-A", "-d", f"sql:{db.folder}", "-n", "leaf", "-t", ",,", "-i", str(leaf)],
            check=True,
        )
        verified = subprocess.run(
            [certutil, "-V", "-d", f"sql:{db.folder}", "-n", "leaf", "-u", "V"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "certificate is valid" in verified.stdout, verified.stdout + verified.stderr


def test_cli_trust(home, tmp_path, capsys):
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["trust", "status", *data]) == 1
    out = capsys.readouterr().out
    assert "SHA-256:" in out
    assert "absent: Firefox profile abcd1234.default-release" in out
    assert main(["trust", "install", *data]) == 0
    out = capsys.readouterr().out
    assert "installed in ~/.pki/nssdb" in out
    assert main(["trust", "status", *data]) == 0
    assert capsys.readouterr().out.count("trusted: ") == 2
    assert main(["trust", "remove", *data]) == 0
    assert "removed 1 certificate(s)" in capsys.readouterr().out
    assert main(["trust", "status", *data]) == 1


def test_missing_certutil_is_a_plain_error(home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["trust", "install", "--data-dir", str(tmp_path / "data")]) == 2
    assert "libnss3-tools" in capsys.readouterr().err
