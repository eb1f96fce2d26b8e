"""PDF verification (service/verification.validate_file -> service/pdf_verification.py): the
level reached, changes made after signing, and bad PDFs, through the same entry point the CLI
and the desktop Verify page use."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pades_helpers import encrypted_pdf_bytes, pdf_bytes, with_page_text_changed, write_pdf
from pyhanko.pdf_utils.reader import PdfFileReader
from validation_helpers import CERTIFIED_BASE, RunningCa

from signer_app.cli import EXIT_INVALID, EXIT_OK, main
from signer_app.crypto import pades
from signer_app.crypto.errors import EncryptedPdf, MalformedPdf
from signer_app.crypto.keystores import KeyEntry, SoftwareKey
from signer_app.crypto.validation import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.pdf_signing import tsa_stamp
from signer_app.service.trust_store import TrustStore
from signer_app.service.verification import validate_file
from signer_app.ui.pages.verify_model import VerifySettings, verify_file

LEVELS = {"b-b": "B", "b-t": "T", "b-lt": "LT", "b-lta": "LTA"}


@pytest.fixture(scope="module")
def signed(bundled_ca: RunningCa, tmp_path_factory, demo) -> dict[str, Path]:
    """The same 10-page PDF signed by the citizen at each level (once for the module)."""
    folder = tmp_path_factory.mktemp("pades")
    source = write_pdf(folder)
    entry = demo["citizen_sign"].open()
    revocation = pades.Revocation(
        HttpTransport(timeout=5),
        TrustStore(folder / "home").certificates(),
        rewrites=bundled_ca.rewrites,
    )
    return {
        level: pades.sign_pdf(
            source,
            entry,
            folder / f"{level}.pdf",
            level=level,  # type: ignore[arg-type]
            stamp=tsa_stamp(bundled_ca.tsa_url),
            revocation=revocation,
        )
        for level in LEVELS
    }


def _validate(blob: bytes, ca: RunningCa, home: Path, **options):
    return validate_file(blob, data_dir=home, rewrites=ca.rewrites, **options)


@pytest.mark.parametrize(("level", "reached"), LEVELS.items())
def test_each_level_is_valid_and_reported_as_reached(
    signed, bundled_ca, tmp_path, level: str, reached: str
) -> None:
    report = _validate(signed[level].read_bytes(), bundled_ca, tmp_path)
    assert (report.indication, report.format) == (TOTAL_PASSED, "pdf")
    (signer,) = report.signers
    assert signer.level == reached
    assert signer.identity is not None
    assert signer.identity.iin == "850101300124"
    assert signer.revocation is not None
    assert signer.revocation.status == "good"
    if reached != "B":
        assert signer.signing_time_source == "timestamp"


def test_a_page_changed_after_signing_fails(signed, bundled_ca, tmp_path) -> None:
    changed = with_page_text_changed(signed["b-t"].read_bytes())
    report = _validate(changed, bundled_ca, tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    assert any("changed after signing" in w for w in report.signers[0].warnings)


def test_a_byte_changed_inside_the_signed_range_fails(signed, bundled_ca, tmp_path) -> None:
    blob = bytearray(signed["b-b"].read_bytes())
    at = blob.index(b"page 3")
    blob[at : at + 6] = b"page 8"
    report = _validate(bytes(blob), bundled_ca, tmp_path)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")


def test_a_second_signature_is_an_allowed_update_and_both_pass(
    signed, bundled_ca, tmp_path, demo
) -> None:
    cosigned = pades.sign_pdf(signed["b-b"], demo["ceo_sign"].open(), tmp_path / "two.pdf")
    report = _validate(cosigned.read_bytes(), bundled_ca, tmp_path)
    assert report.indication == TOTAL_PASSED
    assert [s.identity.iin for s in report.signers] == ["850101300124", "750315300018"]


def test_a_revoked_signer_does_not_pass(bundled_ca, tmp_path, demo) -> None:
    out = pades.sign_pdf(write_pdf(tmp_path), demo["revoked_sign"].open())
    report = _validate(out.read_bytes(), bundled_ca, tmp_path)
    assert report.indication != TOTAL_PASSED
    assert report.signers[0].revocation.status == "revoked"


def _self_made_entry() -> KeyEntry:
    """A signing key under a root nobody trusts, with that root in its chain: made here, since
    the point is a CA that is not in the demo PKI."""
    now = dt.datetime.now(dt.UTC)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Self-made test root")])

    def certificate(subject: x509.Name, public: Any, ca: bool) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(root_name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256())
        )

    root = certificate(root_name, root_key.public_key(), ca=True)
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ӨЗІМ ЖАСАДЫМ")])
    leaf = certificate(leaf_name, key.public_key(), ca=False)
    return KeyEntry(alias="self-made", certificate=leaf, key=SoftwareKey(key), chain=(root,))


def test_a_root_the_pdf_carries_is_not_trusted(bundled_ca, tmp_path) -> None:
    """Signed PDFs carry their root (pades.py: embed_roots); one nobody trusts stays untrusted."""
    entry = _self_made_entry()
    out = pades.sign_pdf(write_pdf(tmp_path), entry)
    reader = PdfFileReader(io.BytesIO(out.read_bytes()))
    carried = reader.embedded_regular_signatures[0].signed_data["certificates"]
    assert entry.chain[0].serial_number in {c.chosen.serial_number for c in carried}
    report = _validate(out.read_bytes(), bundled_ca, tmp_path / "home")
    assert (report.indication, report.sub_indication) == (
        INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )


def test_offline_a_b_t_signature_cannot_be_confirmed(signed, tmp_path) -> None:
    report = validate_file(signed["b-t"].read_bytes(), data_dir=tmp_path, offline=True)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "TRY_LATER")
    assert report.signers[0].level == "T"


@pytest.mark.parametrize(("level", "reached"), [("b-lt", "LT"), ("b-lta", "LTA")])
def test_offline_long_term_signatures_pass_on_the_revocation_data_they_carry(
    signed, tmp_path, level: str, reached: str
) -> None:
    report = validate_file(signed[level].read_bytes(), data_dir=tmp_path, offline=True)
    assert report.indication == TOTAL_PASSED
    (signer,) = report.signers
    assert signer.level == reached
    assert signer.revocation is not None
    assert signer.revocation.status == "good"
    assert "DSS" in signer.revocation.detail
    assert signer.revocation.checked_at == signer.signing_time


def test_an_unsigned_pdf_is_a_format_failure(tmp_path) -> None:
    report = validate_file(pdf_bytes(2), data_dir=tmp_path, offline=True)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "FORMAT_FAILURE")
    assert report.signers == ()


@pytest.mark.parametrize(
    ("blob", "error"),
    [(pdf_bytes(10)[:700], MalformedPdf), (encrypted_pdf_bytes(), EncryptedPdf)],
    ids=["truncated", "encrypted"],
)
def test_bad_pdfs_get_a_clear_error(tmp_path, blob: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        validate_file(blob, data_dir=tmp_path, offline=True)


def test_qalam_verify_json_on_a_pdf(signed, bundled_ca, tmp_path, capsys) -> None:
    online = ["--url-map", f"{CERTIFIED_BASE}={bundled_ca.url}", "--data-dir", str(tmp_path)]
    assert main(["verify", str(signed["b-lt"]), "--json", *online]) == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert shown["format"] == "pdf"
    assert shown["indication"] == TOTAL_PASSED
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(with_page_text_changed(signed["b-lt"].read_bytes()))
    assert main(["verify", str(changed), *online]) == EXIT_INVALID


def test_the_desktop_verify_page_shows_a_pdf_without_changes(signed, bundled_ca, tmp_path) -> None:
    settings = VerifySettings(data_dir=tmp_path, rewrites=bundled_ca.rewrites)
    shown = verify_file(signed["b-lta"], settings=settings)
    assert shown.verdict == "valid"
    assert shown.signers[0].level == "LTA"
    assert shown.signers[0].iin == "850101300124"
