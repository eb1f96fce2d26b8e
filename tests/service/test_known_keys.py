"""The keys this computer has opened: remembered with their public certificate only, newest
first, and the ones expiring within 30 days named for the reminder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from signer_app.service.known_keys import MAX_KNOWN, KnownKeys


def test_an_opened_key_is_remembered_with_its_certificate_and_nothing_secret(
    tmp_path: Path, demo: dict[str, Any]
) -> None:
    key = demo["citizen_sign"]
    known = KnownKeys(tmp_path)
    known.remember(key.path, key.open().certificate)
    (entry,) = known.entries()
    assert entry.path == key.path.resolve()
    assert entry.identity.iin == key.iin
    stored = (tmp_path / "known-keys.json").read_text()
    assert key.password not in stored
    assert "PRIVATE" not in stored
    assert (tmp_path / "known-keys.json").stat().st_mode & 0o077 == 0


def test_the_most_recently_used_comes_first_without_repeats(
    tmp_path: Path, demo: dict[str, Any]
) -> None:
    known = KnownKeys(tmp_path)
    for name in ("citizen_sign", "citizen_auth", "citizen_sign"):
        known.remember(demo[name].path, demo[name].open().certificate)
    assert [k.path.name for k in known.entries()] == [
        demo["citizen_sign"].path.name,
        demo["citizen_auth"].path.name,
    ]


def test_the_list_is_bounded(tmp_path: Path, demo: dict[str, Any]) -> None:
    known = KnownKeys(tmp_path)
    certificate = demo["citizen_sign"].open().certificate
    for n in range(MAX_KNOWN + 5):
        known.remember(tmp_path / f"k{n}.p12", certificate)
    assert len(known.entries()) == MAX_KNOWN


def test_keys_expiring_within_30_days_are_named_soonest_first(
    tmp_path: Path, demo: dict[str, Any]
) -> None:
    known = KnownKeys(tmp_path)
    for name in ("citizen_sign", "expired_sign", "ceo_sign"):
        known.remember(demo[name].path, demo[name].open().certificate)
    citizen_end = demo["citizen_sign"].open().certificate.not_valid_after_utc
    in_25_days = citizen_end - timedelta(days=25)
    due = known.expiring(now=in_25_days)
    names = [k.path.name for k in due]
    assert names[0] == demo["expired_sign"].path.name  # already over: first
    assert demo["citizen_sign"].path.name in names
    assert due[-1].days_left(in_25_days) <= 30
    assert known.expiring(now=datetime(2000, 1, 1, tzinfo=UTC)) == []


def test_a_key_file_that_is_gone_is_not_a_reminder(tmp_path: Path, demo: dict[str, Any]) -> None:
    known = KnownKeys(tmp_path)
    known.remember(tmp_path / "deleted.p12", demo["expired_sign"].open().certificate)
    assert known.expiring() == []
    known.forget(tmp_path / "deleted.p12")
    assert known.entries() == []


def test_a_damaged_list_is_set_aside_and_starts_empty(tmp_path: Path) -> None:
    (tmp_path / "known-keys.json").write_text("{not json")
    assert KnownKeys(tmp_path).entries() == []
    assert list(tmp_path.glob("known-keys.json.bad-*"))
