"""The per-user trust store: demo roots by default, the user's own roots added and removed,
atomic writes, and bad input refused without losing what was there."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from signer_app.crypto.errors import InvalidInput
from signer_app.service.trust_store import FILE_NAME, TrustStore, fingerprint


def make_certificate(ca: bool, name: str = "ИМПОРТ ТАМЫР TEST") -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def test_a_new_store_trusts_the_demo_roots_and_writes_nothing(tmp_path: Path) -> None:
    anchors = TrustStore(tmp_path).anchors()
    assert {a.origin for a in anchors} == {"demo"}
    assert len(anchors) == 3  # NAC (RSA), GOV CA, and NAC's GOST line
    assert any("(GOST)" in a.subject for a in anchors)
    assert not (tmp_path / FILE_NAME).exists()


def test_an_added_root_is_kept_for_the_next_start(tmp_path: Path) -> None:
    root = make_certificate(ca=True)
    added = TrustStore(tmp_path).add(root.public_bytes(Encoding.PEM), "root.pem")
    assert [a.sha256 for a in added] == [fingerprint(root)]
    again = TrustStore(tmp_path).anchors()
    assert fingerprint(root) in {a.sha256 for a in again if a.origin == "user"}
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o777 == 0o644
    assert not list(tmp_path.glob(f".{FILE_NAME}.*"))  # no temporary file left behind
    assert TrustStore(tmp_path).add(root.public_bytes(Encoding.DER)) == []  # DER, already there


def test_an_end_entity_certificate_is_refused_as_an_anchor(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    with pytest.raises(InvalidInput, match="not a CA certificate"):
        store.add(make_certificate(ca=False, name="ЖҰМАБЕКОВ").public_bytes(Encoding.PEM))
    with pytest.raises(InvalidInput, match="no readable certificate"):
        store.add(b"not a certificate", "junk.pem")
    assert len(store.anchors()) == 3  # the demo ones, unchanged


def test_a_demo_root_can_be_removed_and_added_back(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    demo = store.anchors()[0]
    removed = store.remove(demo.sha256[:12])
    assert removed.sha256 == demo.sha256
    assert demo.sha256 not in {a.sha256 for a in TrustStore(tmp_path).anchors()}
    store.add(demo.certificate.public_bytes(Encoding.PEM))
    assert demo.sha256 in {a.sha256 for a in TrustStore(tmp_path).anchors()}


def test_remove_wants_a_prefix_naming_exactly_one_anchor(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    for bad in ("abc", "zzzzzzzzzz", "00000000000000"):
        with pytest.raises(InvalidInput):
            store.remove(bad)
    assert len(store.anchors()) == 3  # the demo ones, unchanged


def test_a_damaged_store_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_text("{ not json")
    with pytest.raises(InvalidInput, match="damaged"):
        TrustStore(tmp_path).anchors()
    with pytest.raises(InvalidInput):
        TrustStore(tmp_path).add(make_certificate(ca=True).public_bytes(Encoding.PEM))
    assert path.read_text() == "{ not json"
    path.write_text(json.dumps({"version": 1, "user": [{"pem": "x", "added": "y"}], "removed": []}))
    with pytest.raises(InvalidInput, match="unreadable certificate"):
        TrustStore(tmp_path).anchors()


def test_the_demo_issuing_cas_help_only_while_their_root_is_trusted(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    assert len(store.intermediates()) == 3
    nac_root = next(a for a in store.anchors() if a.subject == "НЕГІЗГІ КО (RSA) TEST")
    store.remove(nac_root.sha256)
    assert len(store.intermediates()) == 2
