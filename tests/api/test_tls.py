"""The local TLS identity: per-machine root, 127.0.0.1/localhost leaf, renewal, file modes."""

from __future__ import annotations

import ipaddress
import stat
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from signer_app.api.tls import ensure_tls


def _leaf(files):
    return x509.load_pem_x509_certificates(files.server_pem.read_bytes())[0]


def test_first_start_makes_root_and_leaf_with_private_keys_0600(tmp_path):
    files = ensure_tls(tmp_path)
    for key in (files.root_key, files.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    root = x509.load_pem_x509_certificate(files.root_pem.read_bytes())
    leaf = _leaf(files)
    leaf.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= timedelta(days=398)


def test_second_start_keeps_everything_and_each_machine_gets_its_own_root(tmp_path):
    files = ensure_tls(tmp_path / "a")
    before = files.server_pem.read_bytes(), files.root_pem.read_bytes()
    ensure_tls(tmp_path / "a")
    assert (files.server_pem.read_bytes(), files.root_pem.read_bytes()) == before
    other = ensure_tls(tmp_path / "b")
    assert other.root_key.read_bytes() != files.root_key.read_bytes()


def test_leaf_renewed_when_less_than_30_days_left_root_kept(tmp_path):
    files = ensure_tls(tmp_path)
    root_before = files.root_pem.read_bytes()
    serial = _leaf(files).serial_number
    ensure_tls(tmp_path, now=datetime.now(UTC) + timedelta(days=340))
    assert _leaf(files).serial_number != serial
    assert files.root_pem.read_bytes() == root_before


def test_damaged_leaf_is_remade(tmp_path):
    files = ensure_tls(tmp_path)
    files.server_key.write_bytes(b"garbage")
    ensure_tls(tmp_path)
    assert b"PRIVATE KEY" in files.server_key.read_bytes()
