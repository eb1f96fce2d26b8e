"""The demo PKI's GOST 2015 line (certs/nac-gost, the citizen's GOST512_*.p12): keys that open,
a chain of GOST signatures, GOST-signed CRLs, and an additive step that changes nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from ca_server import demo_pki
from signer_app.crypto import gost, gost_pkcs8
from signer_app.crypto.identity import CentreKind, identity_of
from signer_app.crypto.keystores import open_pkcs12

CERTS = Path(__file__).resolve().parents[2] / "certs"
GOST_DIR = CERTS / "nac-gost"


def _rows() -> list[dict[str, Any]]:
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    return [row for row in rows if row["algorithm"] == "GOST2015"]


def _ca(which: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((GOST_DIR / f"{which}.pem").read_bytes())


def test_the_citizen_has_a_gost_auth_and_sign_key_named_as_nca_names_them() -> None:
    rows = {row["id"]: row for row in _rows()}
    assert sorted(rows) == ["citizen_gost_auth", "citizen_gost_sign"]
    assert (
        rows["citizen_gost_sign"]["path"] == f"demo/GOST512_{rows['citizen_gost_sign']['ski']}.p12"
    )
    assert rows["citizen_gost_auth"]["path"].startswith("demo/AUTH_GOST512_")
    for row in rows.values():
        assert (row["ca"], row["issuer"], row["key_size"]) == ("nac", "nac-gost", 512)


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["id"])
def test_gost_demo_keys_open_and_chain_to_the_gost_root(row: dict[str, Any]) -> None:
    entry = open_pkcs12(CERTS / row["path"], row["password"]).entry
    assert isinstance(entry.key, gost.GostPrivateKey)
    assert entry.alias == row["ski"]
    certificate = entry.certificate
    assert f"{certificate.serial_number:040x}" == row["serial"]
    assert entry.chain == (_ca("ca"), _ca("root"))
    assert gost.certificate_signed_by(certificate, _ca("ca"))
    assert gost.certificate_signed_by(_ca("ca"), _ca("root"))
    assert gost.certificate_signed_by(_ca("root"), _ca("root"))
    who = identity_of(certificate)
    assert (who.iin, who.purpose.value, who.centre) == (row["iin"], row["purpose"], CentreKind.NAC)


@pytest.mark.parametrize(("name", "which"), [("crl", "ca"), ("root-crl", "root")])
def test_gost_crls_are_signed_by_their_ca(name: str, which: str) -> None:
    crl = x509.load_der_x509_crl((GOST_DIR / f"{name}.der").read_bytes())
    assert crl.issuer == _ca(which).subject
    public = gost.public_key_from_certificate(_ca(which))
    assert public is not None
    assert public.verify(crl.signature, crl.tbs_certlist_bytes)


@pytest.mark.parametrize("which", ["root", "ca"])
def test_gost_ca_keys_open_with_the_documented_passphrase_only(which: str) -> None:
    data = (GOST_DIR / f"{which}.key.pem").read_bytes()
    key = gost_pkcs8.decrypt_private_key(data, demo_pki.CA_KEY_PASSPHRASE.encode())
    public = gost.public_key_from_certificate(_ca(which))
    assert public is not None
    assert (key.public_key.x, key.public_key.y) == (public.x, public.y)
    with pytest.raises(ValueError, match="wrong passphrase"):
        gost_pkcs8.decrypt_private_key(data, b"not-the-passphrase")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_add_gost_adds_only_what_is_missing_and_changes_no_other_file(tmp_path: Path) -> None:
    work = tmp_path / "certs"
    shutil.copytree(CERTS, work)
    index = work / "demo" / "index.json"
    rows = json.loads(index.read_text(encoding="utf-8"))
    sign = next(r for r in rows if r["id"] == "citizen_gost_sign")
    (work / sign["path"]).unlink()
    index.write_text(
        json.dumps([r for r in rows if r is not sign], ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    before = _snapshot(work)

    added = demo_pki.add_gost(work)

    after = _snapshot(work)
    assert len(added) == 2
    assert "demo/index.json" in added
    new_key = next(name for name in added if name != "demo/index.json")
    assert new_key.startswith("demo/GOST512_")
    assert {k: v for k, v in after.items() if k not in added} == {
        k: v for k, v in before.items() if k != "demo/index.json"
    }
    fresh = json.loads(index.read_text(encoding="utf-8"))
    assert [r["id"] for r in fresh] == [r["id"] for r in rows]
    assert demo_pki.add_gost(work) == []
    assert _snapshot(work) == after


@pytest.mark.parametrize("purpose", ["auth", "sign"])
def test_the_gost_citizen_keys_last_as_long_as_the_rsa_citizens(purpose: str) -> None:
    """Demo keys last ten years whatever the algorithm (demo_pki._LEAF_DAYS: the committed
    files stay usable; NCA's one year is what the CA itself issues, see test_gost_issuance)."""
    rows = {row["id"]: row for row in json.loads((CERTS / "demo" / "index.json").read_bytes())}

    def lifetime(row_id: str) -> object:
        row = rows[row_id]
        certificate = open_pkcs12(CERTS / row["path"], row["password"]).entry.certificate
        return certificate.not_valid_after_utc - certificate.not_valid_before_utc

    assert lifetime(f"citizen_gost_{purpose}") == lifetime(f"citizen_{purpose}")
