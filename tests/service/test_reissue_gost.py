"""GOST 34.10-2015 keys from the bundled CA: enrolment, re-issue with a PSC code, renewal.

A person who got keys this year holds GOST 2015 keys (NCA issues nothing else since 2024), so a
re-issue must be able to make GOST keys, and a renewal keeps the family of the key it renews.
Every test runs the real CA HTTP app (tests/ca_live.py) over a fresh copy of the demo PKI.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ca_live import LiveCa, ca_fixture, issue_code  # noqa: F401 - ca is a fixture
from cryptography import x509

from signer_app.cli import main
from signer_app.crypto import cms, csr, gost
from signer_app.crypto.algorithms import KeyAlgorithm
from signer_app.crypto.errors import InvalidInput, WrongPassword
from signer_app.crypto.identity import identity_of
from signer_app.crypto.keystores import open_pkcs12
from signer_app.service import reissue
from signer_app.service.ca_client import CaClient, Issued
from signer_app.service.errors import CaUnavailable

CITIZEN = "850101300124"
NEW_PASSWORD = "New-Gost-Passw0rd"
ROOT = Path(__file__).resolve().parents[2]
NAC_GOST = ROOT / "certs" / "nac-gost"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "qalam-home"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "new-keys"
    folder.mkdir()
    return folder


def gost_ca() -> tuple[x509.Certificate, x509.Certificate]:
    """The demo GOST line: (issuing CA, root)."""
    return (
        x509.load_pem_x509_certificate((NAC_GOST / "ca.pem").read_bytes()),
        x509.load_pem_x509_certificate((NAC_GOST / "root.pem").read_bytes()),
    )


def assert_gost_key_file(path: Path, purpose: str) -> None:
    """An NCA-named GOST 2015 key file that opens with the new password and chains to
    certs/nac-gost."""
    issuing, root = gost_ca()
    entry = open_pkcs12(path, NEW_PASSWORD).entry
    assert entry.key.algorithm is KeyAlgorithm.GOST2015
    who = identity_of(entry.certificate)
    assert (who.iin, who.purpose.value) == (CITIZEN, purpose)
    assert entry.certificate.issuer == issuing.subject
    assert gost.certificate_signed_by(entry.certificate, issuing)
    assert gost.certificate_signed_by(issuing, root)
    assert path.stat().st_mode & 0o077 == 0


def test_gost_requests_enrol_over_http_and_the_gost_ca_signs_them(
    ca: LiveCa, demo: dict[str, Any]
) -> None:
    auth, sign = gost.generate_private_key(), gost.generate_private_key()
    requests = [
        csr.build_csr(key.public_key.subject_public_key_info(), key) for key in (auth, sign)
    ]
    issued = CaClient(ca.url).enroll(CITIZEN, *requests, code=issue_code(ca, demo))
    issuer = issued.chain[0]
    assert "GOST" in issuer.subject.rfc4514_string()
    for certificate, purpose in ((issued.auth, "auth"), (issued.sign, "sign")):
        assert gost.certificate_signed_by(certificate, issuer)
        who = identity_of(certificate)
        assert who.iin == CITIZEN
        assert who.purpose.value == purpose


def test_a_psc_code_with_kind_gost_gives_gost_key_files_named_like_ncas(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    done = reissue.with_code(
        CaClient(ca.url), data_dir, CITIZEN, issue_code(ca, demo), NEW_PASSWORD, out_dir,
        kind="gost",
    )  # fmt: skip
    assert done.auth_path.name.startswith("AUTH_GOST512_")
    assert done.sign_path.name.startswith("GOST512_")
    assert_gost_key_file(done.auth_path, "auth")
    assert_gost_key_file(done.sign_path, "sign")
    assert reissue.pending_files(data_dir) == []
    # The person's RSA keys are replaced too: one valid set per person, whatever its family.
    old = demo["citizen_sign"].open().certificate
    status = CaClient(ca.url).certificate_status(f"{old.serial_number:040x}")
    assert status["status"] == "revoked"
    # ...and the RSA line's CRL, not only the GOST one's, is made again to say so.
    with urllib.request.urlopen(f"{ca.url}/crl/nac.crl", timeout=10) as answer:  # noqa: S310
        crl = x509.load_der_x509_crl(answer.read())
    assert crl.get_revoked_certificate_by_serial_number(old.serial_number) is not None


def test_qalam_reissue_kind_gost_on_the_command_line(
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QALAM_NEW_PASSWORD", NEW_PASSWORD)
    status = main(["reissue", "--kind", "gost", "--iin", CITIZEN, "--code", issue_code(ca, demo),
                   "--out", str(out_dir), "--ca-url", ca.url,
                   "--data-dir", str(tmp_path / "home")])  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0, err
    auth, sign = sorted(out_dir.iterdir())
    assert auth.name.startswith("AUTH_GOST512_")
    assert sign.name.startswith("GOST512_")
    assert_gost_key_file(sign, "sign")
    assert str(sign) in out


def test_a_cms_signed_with_the_new_gost_sign_key_verifies(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    done = reissue.with_code(
        CaClient(ca.url), data_dir, CITIZEN, issue_code(ca, demo), NEW_PASSWORD, out_dir,
        kind="gost",
    )  # fmt: skip
    entry = open_pkcs12(done.sign_path, NEW_PASSWORD).entry
    document = "Өтініш: жаңа кілттермен қол қойылды".encode()
    checked = cms.verify(cms.sign(document, entry))
    assert checked.valid
    (signer,) = checked.signers
    assert signer.certificate == done.sign
    assert checked.content == document


def test_a_lost_gost_answer_is_recovered_from_the_pending_keys(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    class LostAnswer(CaClient):
        def enroll(self, *args: Any, **kwargs: Any) -> Issued:
            super().enroll(*args, **kwargs)
            raise CaUnavailable("connection reset", url=self.base_url)

    with pytest.raises(CaUnavailable):
        reissue.with_code(
            LostAnswer(ca.url), data_dir, CITIZEN, issue_code(ca, demo), NEW_PASSWORD, out_dir,
            kind="gost",
        )  # fmt: skip
    assert list(out_dir.iterdir()) == []
    (pending,) = reissue.pending_files(data_dir)
    assert NEW_PASSWORD not in pending.read_text()
    with pytest.raises(WrongPassword):
        reissue.resume(CaClient(ca.url), pending, "not-the-password")
    done = reissue.resume(CaClient(ca.url), pending, NEW_PASSWORD)
    assert done.sign_path.name.startswith("GOST512_")
    assert_gost_key_file(done.sign_path, "sign")
    assert not pending.exists()


def test_renewing_a_gost_auth_key_makes_gost_keys(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    client = CaClient(ca.url)
    current = demo["citizen_gost_auth"].open()
    done = reissue.renew(client, data_dir, current, CITIZEN, NEW_PASSWORD, out_dir)
    assert done.auth_path.name.startswith("AUTH_GOST512_")
    assert_gost_key_file(done.auth_path, "auth")
    assert_gost_key_file(done.sign_path, "sign")
    old_serial = f"{current.certificate.serial_number:040x}"
    assert client.certificate_status(old_serial)["status"] == "revoked"


def test_renewing_an_rsa_auth_key_stays_rsa(demo: dict[str, Any]) -> None:
    assert reissue.renewal_kind(demo["citizen_auth"].open()) == "rsa"
    assert reissue.renewal_kind(demo["citizen_gost_auth"].open()) == "gost"


def test_an_unknown_key_kind_is_refused_before_any_key_is_made(
    ca: LiveCa, data_dir: Path, out_dir: Path
) -> None:
    with pytest.raises(InvalidInput):
        reissue.with_code(
            CaClient(ca.url), data_dir, CITIZEN, "ABCD-EFGH", NEW_PASSWORD, out_dir, kind="dsa"
        )
    assert reissue.pending_files(data_dir) == []
