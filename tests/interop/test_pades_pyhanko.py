"""pyHanko, a validator nobody here wrote, on our PDFs; and our verifier on PDFs pyHanko signs.

* its CLI (`pyhanko sign validate`, demo roots as the only trust) judges our B-B, B-T, B-LT and
  B-LTA signatures intact and trusted, with a trusted signature timestamp from B-T up;
* its API, offline and with revocation made mandatory, finds in our B-LT/B-LTA DSS all the
  revocation data the chain needs, and judges our B-LTA document timestamp valid;
* its AdES validator (`pyhanko sign adesverify`, ETSI EN 319 102-1), offline, judges our B-LT and
  B-LTA signatures valid on the DSS alone, and rejects them once tampered with;
* on PDFs `pyhanko sign addsig` makes, our verdict agrees with its own (its API, to spare a
  CLI start of seconds per file), intact or changed.

Why `adesverify` runs with `--validation-time`: at the current time its policy
(RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH) fetches revocation data online, and
pyhanko_certvalidator's RevinfoManager asks the OCSP responder *before* the OCSP responses it
was given: a fetch that fails raises OCSPFetchError and the DSS's responses are never looked at
(CRLs likewise). Offline, every B-LT PDF is then "untrusted", pyHanko's own included. A
validation time makes it a point-in-time validation, for which no fetcher is provisioned: the
DSS is then the only source, which is what "offline" means. The time must fall before the DSS
OCSP responses' nextUpdate (the bundled CA: one hour), as its freshness rule
(MAX_DIFF_REVOCATION_VALIDATION) requires; "now", right after signing, does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pades_helpers import DEMO_ROOTS, pem_files, with_page_text_changed, write_pdf
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate, AdESPassed
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    FreshnessReqType,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
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


def pyhanko_adesverify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`pyhanko sign adesverify`, demo roots as the only trust, offline (see the module text)."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    command = [
        *PYHANKO, "sign", "adesverify", "--trust", str(DEMO_ROOTS), "--trust-replace",
        "--validation-time", now, *extra, str(path),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def summary_fields(done: subprocess.CompletedProcess[str]) -> list[str]:
    """FIELD:FINGERPRINT:A:B,C,... (one signature) -> [A, B, C, ...]."""
    (line,) = done.stdout.strip().splitlines()
    _, _, fields = line.split(":", 2)
    return fields.replace(":", ",").split(",")


@pytest.mark.parametrize("level", ["b-lt", "b-lta"])
def test_pyhanko_adesverify_judges_our_long_term_pdf_valid_offline(ours, level: str) -> None:
    done = pyhanko_adesverify(ours[level])
    assert done.returncode == 0, done.stdout + done.stderr
    # Trusted on the DSS, with a trusted signature timestamp (T and up), later revisions being
    # only signature maintenance (the DSS; for B-LTA also the document timestamp).
    assert summary_fields(done) == [
        "INTACT", "TRUSTED", "TIMESTAMP_TOKEN<INTACT", "TRUSTED>",
        "EXTENDED_WITH_LTA_UPDATES", "ACCEPTABLE_MODIFICATIONS",
    ]  # fmt: skip


def ades_offline(blob: bytes, *, point_in_time: bool) -> Any:
    """pyHanko's AdES-LTA validation with `adesverify`'s policy and no fetcher at all: at a
    validation time of "now" (as the CLI's --validation-time), or at the current time with
    online fetching switched off (LOCAL_ONLY, which only the API offers)."""
    reader = PdfFileReader(io.BytesIO(blob))
    roots = list(load_certs_from_pemder([str(DEMO_ROOTS)]))
    revinfo = CertRevTrustPolicy(
        REQUIRE_REVINFO,
        freshness=None,
        freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
    )
    spec = SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=roots), revinfo_policy=revinfo
        ),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
        ),
    )
    now = dt.datetime.now(dt.UTC)
    timing = ValidationTimingInfo(now, now, point_in_time_validation=point_in_time)
    pdf_spec = PdfSignatureValidationSpec(spec, diff_policy=DEFAULT_DIFF_POLICY)
    signature = reader.embedded_regular_signatures[0]
    return asyncio.run(ades_lta_validation(signature, pdf_spec, timing_info=timing))


@pytest.mark.parametrize("level", ["b-lt", "b-lta"])
def test_pyhanko_ades_reports_our_level_offline(ours, level: str) -> None:
    result = ades_offline(ours[level].read_bytes(), point_in_time=True)
    # What `adesverify` prints: intact, trusted, judged valid.
    assert result.api_status.bottom_line
    assert result.api_status.trusted
    # T: the signature's proof of existence is its own timestamp, a trusted one.
    stamp = result.signature_timestamp_status
    assert stamp is not None
    assert stamp.ades_subindic == AdESPassed.OK
    assert result.best_signature_time == stamp.api_status.timestamp
    if level == "b-lta":
        # LTA: the document timestamp is the evidence record; the AdES indication is PASSED.
        assert result.oldest_evidence_record_timestamp is not None
        assert result.ades_subindic == AdESPassed.OK, result.failure_msg
    else:
        # LT: no evidence record, so nothing proves the DSS existed before "now", and pyHanko's
        # past validation ends INDETERMINATE/NO_POE: it says the same of a B-LT PDF its own
        # signer makes (checked by hand: `pyhanko sign addsig --with-validation-info`).
        assert result.oldest_evidence_record_timestamp is None
        assert result.ades_subindic == AdESIndeterminate.NO_POE


def test_pyhanko_ades_judges_our_b_lta_at_the_current_time_on_its_dss(ours) -> None:
    """The document timestamp gives the DSS (the root included) its proof of existence, so past
    validation can use the root's CRL for the issuing CA: without the root, NO_POE."""
    result = ades_offline(ours["b-lta"].read_bytes(), point_in_time=False)
    assert result.ades_subindic == AdESPassed.OK, result.failure_msg
    assert result.oldest_evidence_record_timestamp is not None


def with_signed_byte_changed(signed: bytes) -> bytes:
    """``signed`` with one letter of page 5's text changed inside the signed byte range."""
    at = signed.index(b"page 5)")
    return signed[:at] + b"P" + signed[at + 1 :]


@pytest.mark.parametrize(
    ("tamper", "verdict"),
    [(with_page_text_changed, "ILLEGAL_MODIFICATIONS"), (with_signed_byte_changed, "INVALID")],
)
@pytest.mark.parametrize("level", ["b-lt", "b-lta"])
def test_pyhanko_adesverify_rejects_our_tampered_long_term_pdf(
    ours, tmp_path, level: str, tamper, verdict: str
) -> None:
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(tamper(ours[level].read_bytes()))
    done = pyhanko_adesverify(changed)
    assert done.returncode != 0
    assert verdict in done.stdout, done.stdout + done.stderr


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
