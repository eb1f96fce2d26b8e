"""A CA instance: adopting the demo PKI (every demo certificate known, with its status), keys kept
encrypted and private, refusing to overwrite, `--fresh` hierarchies, and loading it again."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import func, select

from ca_server import authority, ca_keys, registry
from ca_server import instance as instance_module
from ca_server.db import CertificateRecord, Operator, Person
from ca_server.errors import CaError
from ca_server.instance import (
    DEMO_CA_PASSPHRASE,
    Instance,
    default_data_dir,
    init_instance,
    load_instance,
)
from signer_app.crypto import gost_pkcs8

ROOT = Path(__file__).resolve().parents[2]
CERTS = ROOT / "certs"
PASSPHRASE = b"test-instance-passphrase"


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        str(path.relative_to(folder)): (
            path.read_bytes(),
            path.stat().st_mtime_ns,
            path.stat().st_mode,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# -- adopting the demo PKI ---------------------------------------------------------------------


def test_every_demo_certificate_is_known_with_its_status(
    instance: Instance, demo_rows: dict[str, Any]
) -> None:
    now = dt.datetime.now(dt.UTC)
    for row in demo_rows.values():
        found = authority.status(instance.db, row["serial"])
        expected = "revoked" if row["status"] == "revoked" else "good"
        assert (found.status, found.ca, found.iin, found.role, found.purpose) == (
            expected,
            row.get("issuer", row["ca"]),  # the GOST line's issuing CA is "nac-gost"
            row["iin"],
            row["role"],
            row["purpose"],
        ), row["id"]
        assert found.expired is (row["status"] == "expired"), row["id"]
        assert found.not_after > now or row["status"] == "expired"


def test_the_revoked_demo_certificates_are_revoked_as_the_demo_crl_says(
    instance: Instance, demo_rows: dict[str, Any]
) -> None:
    crl = x509.load_der_x509_crl((CERTS / "nac" / "crl.der").read_bytes())
    for row_id in ("revoked_auth", "revoked_sign"):
        serial = demo_rows[row_id]["serial"]
        entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
        assert entry is not None
        found = authority.status(instance.db, serial)
        assert (found.reason, found.revoked_at) == ("keyCompromise", entry.revocation_date_utc)


def test_the_demo_crl_is_served_as_it_is_until_something_is_revoked(instance: Instance) -> None:
    for ca in ("nac", "gov"):
        served = authority.current_crl(instance.db, instance.authority(ca))
        assert served == (CERTS / ca / "crl.der").read_bytes()


def test_the_adopted_registry_has_the_demo_people_and_the_psc_operator(
    instance: Instance, demo_rows: dict[str, Any]
) -> None:
    people = {row["iin"] for row in demo_rows.values()}
    with instance.db.reading() as session:
        assert set(session.scalars(select(Person.iin))) == people
        operator = session.scalars(select(Operator)).one()
    assert (operator.iin, operator.role) == (demo_rows["psc_operator_auth"]["iin"], "operator")
    assert operator.certificate_serial == demo_rows["psc_operator_auth"]["serial"]
    assert operator.ski == demo_rows["psc_operator_auth"]["ski"]


def test_each_ca_gets_a_delegated_ocsp_responder_and_a_tsa(instance: Instance) -> None:
    for ca in ("nac", "gov"):
        issuer = instance.authority(ca).certificate
        responder = instance.ocsp_signer(ca).certificate
        tsa = instance.tsa_signer(ca).certificate
        for cert in (responder, tsa):
            cert.verify_directly_issued_by(issuer)
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
            assert usage.critical
            assert usage.value.digital_signature
            assert not usage.value.key_cert_sign
            assert authority.status(instance.db, cert.serial_number).status == "good"
        eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert list(eku.value) == [ExtendedKeyUsageOID.OCSP_SIGNING]
        responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
        eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert eku.critical
        assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
        assert "TIME-STAMPING AUTHORITY" in tsa.subject.rfc4514_string()


def test_the_database_is_the_one_the_instance_names(instance: Instance) -> None:
    if instance.db.dialect == "postgresql":
        assert instance.config.database is not None
        assert instance.config.database.startswith("postgresql+psycopg://")
    else:
        assert instance.config.database is None
        assert (instance.data_dir / "qalam-ca.sqlite").is_file()


# -- keys and files ---------------------------------------------------------------------------


def test_ca_keys_are_encrypted_with_the_instance_passphrase_and_owner_only(
    sqlite_instance: Instance,
) -> None:
    data_dir = sqlite_instance.data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    keys = sorted(data_dir.rglob("*.key.pem"))
    # root, issuing, OCSP, TSA per RSA CA; root and issuing of the GOST line
    assert len(keys) == 8 + 2
    for path in keys:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        if path.parent.name == "nac-gost":
            gost_pkcs8.decrypt_private_key(path.read_bytes(), PASSPHRASE)
            with pytest.raises(ValueError, match="wrong passphrase"):
                gost_pkcs8.decrypt_private_key(path.read_bytes(), DEMO_CA_PASSPHRASE)
            continue
        ca_keys.read_key(path, PASSPHRASE)
        with pytest.raises(CaError) as caught:
            ca_keys.read_key(path, DEMO_CA_PASSPHRASE)  # re-encrypted, not copied
        assert caught.value.code == "ca_key_locked"
    config = (data_dir / "ca.json").read_bytes()
    assert PASSPHRASE not in config


def test_the_passphrase_comes_from_the_environment_when_not_given(
    sqlite_instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = sqlite_instance.data_dir
    monkeypatch.setenv(ca_keys.PASSPHRASE_ENV, PASSPHRASE.decode())
    again = load_instance(data_dir)
    assert again.authority("gov").id == "gov"
    again.close()
    monkeypatch.delenv(ca_keys.PASSPHRASE_ENV)
    missing = load_instance(data_dir)
    with pytest.raises(CaError) as caught:
        missing.authority("nac")
    assert caught.value.code == "passphrase_missing"
    missing.close()
    wrong = load_instance(data_dir, passphrase=b"wrong")
    with pytest.raises(CaError) as caught:
        wrong.authority("nac")
    assert caught.value.code == "ca_key_locked"
    assert "wrong" not in str(caught.value)
    wrong.close()


def test_the_passphrase_order_is_argument_file_environment_fallback(tmp_path: Path) -> None:
    given = tmp_path / "given"
    given.write_bytes(b"from-file\n")
    fallback = tmp_path / "fallback"
    fallback.write_bytes(b"from-fallback\n")
    env = {ca_keys.PASSPHRASE_ENV: "from-env"}
    resolve = ca_keys.resolve_passphrase
    assert resolve(passphrase=b"arg", passphrase_file=given, env=env) == b"arg"
    assert resolve(passphrase_file=given, env=env, fallback_file=fallback) == b"from-file"
    assert resolve(env=env, fallback_file=fallback) == b"from-env"
    assert resolve(env={}, fallback_file=fallback) == b"from-fallback"
    assert resolve(env={}) is None


# -- init refuses, init is all or nothing ------------------------------------------------------


def test_init_on_an_existing_instance_says_so_and_changes_nothing(
    sqlite_instance: Instance,
) -> None:
    data_dir = sqlite_instance.data_dir
    sqlite_instance.close()
    before = _snapshot(data_dir)
    for fresh in (False, True):
        with pytest.raises(CaError) as caught:
            init_instance(data_dir, fresh=fresh, passphrase=b"other")
        assert caught.value.code == "instance_exists"
    assert _snapshot(data_dir) == before


def test_init_refuses_a_directory_that_holds_something_else(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CaError) as caught:
        init_instance(tmp_path, passphrase=b"x")
    assert caught.value.code == "data_dir_not_empty"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_init_that_fails_half_way_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(url: str, **_: Any) -> None:
        raise CaError("database_error", "OperationalError")

    monkeypatch.setattr(instance_module, "_demo_certificates", lambda certs_dir: [])
    monkeypatch.setattr(instance_module, "open_database", unreachable)
    with pytest.raises(CaError) as caught:
        init_instance(tmp_path / "ca", passphrase=b"x")
    assert caught.value.code == "database_error"
    assert list(tmp_path.iterdir()) == []


def test_loading_a_directory_without_an_instance_is_instance_missing(tmp_path: Path) -> None:
    with pytest.raises(CaError) as caught:
        load_instance(tmp_path / "nothing")
    assert caught.value.code == "instance_missing"


def test_the_default_data_directory_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("QALAM_CA_HOME", str(tmp_path / "ca"))
    assert default_data_dir() == tmp_path / "ca"
    monkeypatch.delenv("QALAM_CA_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "qalam-ca"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "qalam-ca"


# -- fresh hierarchies --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_fresh_instance_has_new_roots_and_issuing_cas_and_an_empty_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ca_keys.PASSPHRASE_ENV, raising=False)
    result = init_instance(tmp_path / "ca", fresh=True)
    assert result.generated_passphrase_file == tmp_path / "ca" / "passphrase"
    assert stat.S_IMODE(result.generated_passphrase_file.stat().st_mode) == 0o600
    fresh = load_instance(tmp_path / "ca")  # the passphrase file is found through ca.json
    try:
        for ca in ("nac", "gov"):
            demo_root = x509.load_pem_x509_certificate((CERTS / ca / "root.pem").read_bytes())
            root, issuing = fresh.root_certificate(ca), fresh.authority(ca).certificate
            assert root != demo_root
            root_key = root.public_key()
            assert isinstance(root_key, rsa.RSAPublicKey)
            assert root_key.key_size == 4096
            issuing_key = issuing.public_key()
            assert isinstance(issuing_key, rsa.RSAPublicKey)
            assert issuing_key.key_size == 2048
            issuing.verify_directly_issued_by(root)
            root_crl = x509.load_der_x509_crl(fresh.root_crl(ca))
            assert root_crl.is_signature_valid(root_key)
            crl = x509.load_der_x509_crl(authority.current_crl(fresh.db, fresh.authority(ca)))
            assert crl.is_signature_valid(issuing_key)
            assert len(crl) == 0
        with fresh.db.reading() as session:
            assert session.scalar(select(func.count()).select_from(Person)) == 0
            assert session.scalar(select(func.count()).select_from(CertificateRecord)) == 4
        with pytest.raises(CaError) as caught:
            registry.get_person(fresh.db, "850101300124")
        assert caught.value.code == "unknown_person"
        pem = fresh.authority("nac").signer.private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        assert pem not in (tmp_path / "ca" / "nac" / "ca.key.pem").read_bytes()
    finally:
        fresh.close()
