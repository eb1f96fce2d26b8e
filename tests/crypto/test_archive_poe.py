"""Archive timestamps as proof of existence (ETSI EN 319 102-1, the LTA validation): a valid
archive timestamp proves the signature existed at its time, so a signer that no signature
timestamp proves is judged at the oldest valid one; an archive timestamp that does not hold
proves nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography import x509
from validation_helpers import CERTS, RunningCa, demo_anchors, running_ca

from signer_app.crypto import cades_lt, cms
from signer_app.crypto.keystores import KeyEntry
from signer_app.crypto.validation import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    TimestampReport,
    ValidationReport,
    ValidationRun,
    validate_cms,
)
from signer_app.service.tsa_client import HttpTsa


def demo_chain() -> list[x509.Certificate]:
    return list(x509.load_pem_x509_certificates((CERTS / "trust" / "demo-chain.pem").read_bytes()))


DOCUMENT = "Мұрағат — архив — archive\n".encode()


@pytest.fixture(scope="module")
def poe_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCa]:
    """A CA of this module's own: the revocations here show nowhere else."""
    with running_ca(tmp_path_factory.mktemp("poe-ca")) as ca:
        yield ca


def long_term_b(ca: RunningCa, entry: KeyEntry, signing_time: dt.datetime | None = None) -> bytes:
    """A CAdES-B (no signature timestamp) with its chain's evidence embedded, not stamped."""
    signed = cms.sign(DOCUMENT, entry, signing_time=signing_time)
    data = cades_lt.collect_validation_data(signed, anchors=demo_anchors(), fetching=ca.fetching())
    return cades_lt.add_validation_data(signed, data)


def validated(signature: bytes, ca: RunningCa) -> tuple[ValidationReport, ValidationReport]:
    """(validate_cms's report, the same with the long-term levels and archive timestamps)."""
    fetching = ca.fetching()
    report = validate_cms(signature, anchors=demo_anchors(), fetching=fetching)
    long_term = cades_lt.with_long_term_levels(
        report, signature, anchors=demo_anchors(), fetching=fetching
    )
    return report, long_term


def test_revoked_after_the_archive_time_passes_with_a_warning(poe_ca, demo) -> None:
    entry = demo["citizen_sign"].open()
    lta = cades_lt.add_archive_timestamp(long_term_b(poe_ca, entry), HttpTsa(poe_ca.tsa_url).stamp)
    # Times are whole seconds: revoked two seconds on, strictly after the archive stamp.
    poe_ca.revoke(entry.certificate, later=dt.timedelta(seconds=2))
    plain, report = validated(lta, poe_ca)
    # Without the archive timestamp nothing proves the signature older than the revocation.
    assert (plain.indication, plain.sub_indication) == (INDETERMINATE, "REVOKED_NO_POE")
    assert (report.indication, report.sub_indication) == (TOTAL_PASSED, None)
    signer = report.signers[0]
    (archive,) = signer.timestamps
    assert (archive.kind, archive.valid) == ("archive", True)
    assert (signer.signing_time, signer.signing_time_source) == (archive.time, "archive_timestamp")
    assert signer.revocation is not None
    assert signer.revocation.status == "revoked"
    assert signer.revocation.revoked_at > archive.time
    assert any("after the time an archive timestamp proves" in w for w in signer.warnings)
    assert any("an archive timestamp proves the signature existed" in w for w in signer.warnings)
    assert signer.level == "B"  # no signature timestamp: not a T, so not an LTA


def test_revoked_before_the_archive_time_without_earlier_proof_fails(poe_ca, demo) -> None:
    entry = demo["employee_sign"].open()
    now = dt.datetime.now(dt.UTC)
    signature = long_term_b(poe_ca, entry, signing_time=now - dt.timedelta(minutes=10))
    poe_ca.revoke(entry.certificate, later=-dt.timedelta(minutes=5))
    lta = cades_lt.add_archive_timestamp(
        long_term_b(poe_ca, entry, signing_time=now - dt.timedelta(minutes=10)),
        HttpTsa(poe_ca.tsa_url).stamp,
    )
    plain, _ = validated(signature, poe_ca)
    # The claimed signing time is before the revocation, but claims prove nothing.
    assert (plain.indication, plain.sub_indication) == (INDETERMINATE, "REVOKED_NO_POE")
    _, report = validated(lta, poe_ca)
    # The oldest proof of existence is the archive time, after the revocation: REVOKED.
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "REVOKED")
    assert report.signers[0].signing_time_source == "archive_timestamp"


def test_an_archive_timestamp_that_does_not_hold_proves_nothing(poe_ca, demo) -> None:
    entry = demo["signer_sign"].open()
    stamped = cades_lt.add_archive_timestamp_v2(
        long_term_b(poe_ca, entry), HttpTsa(poe_ca.tsa_url).stamp
    )
    at = len(stamped) - 10  # inside the archive token's TSA signature, the last attribute
    broken = stamped[:at] + bytes([stamped[at] ^ 0x01]) + stamped[at + 1 :]
    poe_ca.revoke(entry.certificate, later=dt.timedelta(seconds=2))
    _, report = validated(broken, poe_ca)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "REVOKED_NO_POE")
    signer = report.signers[0]
    assert signer.signing_time_source == "claimed"
    assert [(t.kind, t.valid) for t in signer.timestamps] == [("archive", False)]
    assert any("an archive timestamp is not valid" in w for w in signer.warnings)
    # The same stamp untouched (our earlier releases' kind, over a signature with no other
    # unsigned attribute) holds, and is the proof.
    _, intact = validated(stamped, poe_ca)
    assert (intact.indication, intact.signers[0].signing_time_source) == (
        TOTAL_PASSED,
        "archive_timestamp",
    )


def test_only_a_valid_archive_timestamp_earlier_than_the_own_proof_rejudges(poe_ca, demo) -> None:
    entry = demo["ceo_sign"].open()
    signature = cms.add_signature_timestamp(
        cms.sign(DOCUMENT, entry), HttpTsa(poe_ca.tsa_url).stamp
    )
    run = ValidationRun(demo_anchors(), fetching=poe_ca.fetching())
    report = validate_cms(signature, anchors=demo_anchors(), fetching=poe_ca.fetching())
    signer = report.signers[0]
    assert signer.signing_time_source == "timestamp"
    assert signer.signing_time is not None
    later = signer.signing_time + dt.timedelta(hours=1)
    earlier = signer.signing_time - dt.timedelta(hours=1)
    invalid = TimestampReport(earlier, False, "TSA", problem="broken", kind="archive")
    valid_later = TimestampReport(later, True, "TSA", kind="archive")
    assert run.at_archive_time(signer, [invalid]) is signer
    assert run.at_archive_time(signer, [valid_later]) is signer
    assert run.at_archive_time(signer, []) is signer


def test_expired_since_the_archive_time_passes_offline_from_the_embedded_evidence(
    poe_ca, demo
) -> None:
    entry = demo["civil_servant_sign"].open()
    lta = cades_lt.add_archive_timestamp(long_term_b(poe_ca, entry), HttpTsa(poe_ca.tsa_url).stamp)
    data = cades_lt.embedded_validation_data(lta)
    # Checked a day after the signer's certificate expired, offline, from what it carries.
    later = entry.certificate.not_valid_after_utc + dt.timedelta(days=1)
    plain = validate_cms(
        lta,
        anchors=demo_anchors(),
        now=later,
        ocsp_responses=data.ocsp_responses,
        crls=data.crls,
    )
    assert (plain.indication, plain.sub_indication) == (INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")
    # A CAdES-B carries no TSA's path (no signature timestamp when its evidence was
    # collected): the archive TSA's CA comes from the verifier.
    report = cades_lt.with_long_term_levels(
        plain, lta, anchors=demo_anchors(), intermediates=demo_chain()
    )
    assert (report.indication, report.sub_indication) == (TOTAL_PASSED, None)
    signer = report.signers[0]
    assert signer.signing_time_source == "archive_timestamp"
    assert signer.revocation is not None
    assert (signer.revocation.status, signer.revocation.source) == ("good", "embedded")
    assert any("an archive timestamp proves the signature existed" in w for w in signer.warnings)
