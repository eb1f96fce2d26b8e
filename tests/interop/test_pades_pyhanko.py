"""pyHanko, a validator nobody here wrote, on our PDFs; and our verifier on PDFs pyHanko signs.

* its CLI (`pyhanko sign validate`, demo roots as the only trust) judges our B-B, B-T, B-LT and
  B-LTA signatures intact and trusted, with a trusted signature timestamp from B-T up;
* its API, offline and with revocation made mandatory, finds in our B-LT/B-LTA DSS all the
  revocation data the chain needs, and judges our B-LTA document timestamp valid;
* on PDFs `pyhanko sign addsig` makes, our verdict agrees with its own (its API, to spare a
  CLI start of seconds per file), intact or changed.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from pades_helpers import DEMO_ROOTS, pem_files, with_page_text_changed, write_pdf
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from validation_helpers import RunningCa

from signer_app.crypto import pades
from signer_app.crypto.validation import TOTAL_FAILED, TOTAL_PASSED
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.pdf_signing import tsa_stamp
from signer_app.service.trust_store import TrustStore
from signer_app.service.verification import validate_file

pytestmark = pytest.mark.interop

PYHANKO = [sys.executable, "-m", "pyhanko"]
LEVELS = ("b-b", "b-t", "b-lt", "b-lta")
NO_CHECK = CertRevTrustPolicy(
    RevocationCheckingPolicy(RevocationCheckingRule.NO_CHECK, RevocationCheckingRule.NO_CHECK)
)


def pyhanko_validate(path: Path) -> subprocess.CompletedProcess[str]:
    """`pyhanko sign validate` trusting only the demo roots (revocation: see the module text)."""
    command = [
        *PYHANKO, "sign", "validate", "--trust", str(DEMO_ROOTS), "--trust-replace",
        "--no-revocation-check", "--pretty-print", str(path),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def ours(bundled_ca: RunningCa, tmp_path_factory, demo) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pades-interop")
    source = write_pdf(folder)
    revocation = pades.Revocation(
        HttpTransport(timeout=5),
        TrustStore(folder / "home").certificates(),
        rewrites=bundled_ca.rewrites,
    )
    return {
        level: pades.sign_pdf(
            source,
            demo["citizen_sign"].open(),
            folder / f"{level}.pdf",
            level=level,  # type: ignore[arg-type]
            stamp=tsa_stamp(bundled_ca.tsa_url),
            revocation=revocation,
        )
        for level in LEVELS
    }


@pytest.mark.parametrize("level", LEVELS)
def test_pyhanko_cli_judges_our_pdf_intact_and_trusted(ours, level: str) -> None:
    done = pyhanko_validate(ours[level])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The signature is cryptographically sound." in done.stdout
    assert "The signer's certificate is trusted." in done.stdout
    assert "The signature is judged VALID." in done.stdout
    if level != "b-b":
        assert "The timestamp token is cryptographically sound." in done.stdout
        assert "The TSA certificate is trusted." in done.stdout


@pytest.mark.parametrize("level", ["b-lt", "b-lta"])
def test_pyhanko_finds_all_revocation_data_in_our_dss_offline(ours, level: str) -> None:
    reader = PdfFileReader(io.BytesIO(ours[level].read_bytes()))
    roots = list(load_certs_from_pemder([str(DEMO_ROOTS)]))
    context = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"}
    )
    status = validate_pdf_signature(reader.embedded_regular_signatures[0], context)
    assert status.bottom_line
    assert status.trusted
    assert not status.revoked


def test_pyhanko_judges_our_document_timestamp_valid(ours) -> None:
    reader = PdfFileReader(io.BytesIO(ours["b-lta"].read_bytes()))
    roots = list(load_certs_from_pemder([str(DEMO_ROOTS)]))
    (stamp,) = reader.embedded_timestamp_signatures
    status = validate_pdf_timestamp(
        stamp, ValidationContext(trust_roots=roots, allow_fetching=False)
    )
    assert status.intact
    assert status.valid
    assert status.trusted


def test_pyhanko_cli_rejects_our_pdf_changed_after_signing(ours, tmp_path) -> None:
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(with_page_text_changed(ours["b-t"].read_bytes()))
    done = pyhanko_validate(changed)
    assert done.returncode != 0
    assert "judged VALID" not in done.stdout


@pytest.fixture(scope="module")
def theirs(bundled_ca: RunningCa, tmp_path_factory, demo) -> dict[str, Path]:
    """The citizen's key signing through `pyhanko sign addsig pemder`: B-B, and B-T with our
    CA's TSA."""
    folder = tmp_path_factory.mktemp("pyhanko-signed")
    source = write_pdf(folder)
    key, cert, chain = pem_files(demo["citizen_sign"].open(), folder)
    out: dict[str, Path] = {}
    for name, extra in (("b-b", []), ("b-t", ["--timestamp-url", bundled_ca.tsa_url])):
        target = folder / f"pyhanko-{name}.pdf"
        command = [
            *PYHANKO, "sign", "addsig", "--field", "Sig1", "--use-pades", *extra,
            "pemder", "--key", str(key), "--cert", str(cert), "--chain", str(chain),
            "--no-pass", str(source), str(target),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        out[name] = target
    return out


def pyhanko_verdict(blob: bytes) -> bool:
    """pyHanko's bottom line on a PDF's first signature: demo roots, revocation not asked."""
    reader = PdfFileReader(io.BytesIO(blob))
    roots = list(load_certs_from_pemder([str(DEMO_ROOTS)]))
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revinfo_policy=NO_CHECK)
    return bool(validate_pdf_signature(reader.embedded_regular_signatures[0], context).bottom_line)


@pytest.mark.parametrize(("name", "level"), [("b-b", "B"), ("b-t", "T")])
def test_we_agree_with_pyhanko_on_pdfs_it_signs(
    theirs, bundled_ca, tmp_path, name: str, level: str
) -> None:
    assert pyhanko_verdict(theirs[name].read_bytes())
    report = validate_file(
        theirs[name].read_bytes(), data_dir=tmp_path, rewrites=bundled_ca.rewrites
    )
    assert report.indication == TOTAL_PASSED
    assert report.signers[0].level == level


def test_we_agree_with_pyhanko_when_its_pdf_is_changed(theirs, bundled_ca, tmp_path) -> None:
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(with_page_text_changed(theirs["b-t"].read_bytes()))
    assert not pyhanko_verdict(changed.read_bytes())
    report = validate_file(changed.read_bytes(), data_dir=tmp_path, rewrites=bundled_ca.rewrites)
    assert report.indication == TOTAL_FAILED
