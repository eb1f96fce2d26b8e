"""The text and JSON renderings of a validation report tell a signature timestamp from an
archive one, and say when the signing time rests on an archive timestamp."""

from __future__ import annotations

import datetime as dt

from signer_app.crypto.validation import (
    TOTAL_PASSED,
    SignerReport,
    TimestampReport,
    ValidationPolicy,
    ValidationReport,
)
from signer_app.render import report_json, report_lines

MOMENT = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def report() -> ValidationReport:
    signer = SignerReport(
        indication=TOTAL_PASSED,
        sub_indication=None,
        certificate=None,
        identity=None,
        signing_time=MOMENT,
        signing_time_source="archive_timestamp",
        claimed_signing_time=None,
        chain=(),
        revocation=None,
        timestamps=(
            TimestampReport(MOMENT, False, "TSA one", problem="broken"),
            TimestampReport(MOMENT, True, "TSA two", kind="archive"),
        ),
        level="B",
        problems=(),
        warnings=(),
    )
    return ValidationReport(TOTAL_PASSED, None, "cms", False, MOMENT, ValidationPolicy(), (signer,))


def test_the_json_names_each_timestamps_kind_and_the_time_source() -> None:
    (signer,) = report_json(report())["signers"]
    assert [t["kind"] for t in signer["timestamps"]] == ["signature", "archive"]
    assert signer["signing_time_source"] == "archive_timestamp"
    # timestamp_time is a signature timestamp's: none of them holds here.
    assert signer["timestamp_time"] is None


def test_the_text_names_each_timestamps_kind_and_the_time_source() -> None:
    lines = report_lines(report())
    assert any(line.startswith("  Timestamp:") and "TSA one" in line for line in lines)
    assert any(line.startswith("  Archive stamp:") and "TSA two" in line for line in lines)
    assert any("proved by an archive timestamp" in line for line in lines)
