"""The request log behind the Sites page: bounded, atomic, and free of documents and secrets."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signer_app.service.errors import ActionCanceled
from signer_app.service.origins import OriginPolicy
from signer_app.service.prompter import ScriptedAnswer, ScriptedPrompter
from signer_app.service.request_log import FILE_NAME, LoggedRequest, RequestLog
from signer_app.service.settings import SettingsStore
from signer_app.service.signing import KeyQuery, SigningService

ORIGIN = "https://portal.example.kz"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def entry(n: int, outcome: str = "done") -> LoggedRequest:
    return LoggedRequest(T0 + timedelta(minutes=n), ORIGIN, "cms", 1, "OWNER", outcome)  # type: ignore[arg-type]


def test_entries_come_back_newest_first_and_survive_a_reload(tmp_path: Path) -> None:
    log = RequestLog(tmp_path)
    for n in range(3):
        log.record(entry(n))
    again = RequestLog(tmp_path).entries()
    assert [e.time for e in again] == [T0 + timedelta(minutes=n) for n in (2, 1, 0)]
    assert again[0] == entry(2)


def test_the_log_keeps_only_the_newest(tmp_path: Path) -> None:
    log = RequestLog(tmp_path, limit=5)
    for n in range(12):
        log.record(entry(n))
    kept = log.entries()
    assert len(kept) == 5
    assert kept[-1].time == T0 + timedelta(minutes=7)


def test_a_damaged_file_is_set_aside_and_the_log_starts_again(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("{not json", encoding="utf-8")
    log = RequestLog(tmp_path)
    assert log.entries() == []
    assert (tmp_path / (FILE_NAME + ".bad")).exists()
    log.record(entry(1))
    assert log.entries() == [entry(1)]


def test_malformed_items_are_skipped(tmp_path: Path) -> None:
    good = entry(1).to_json()
    bad = [{"time": "yesterday"}, {**good, "outcome": "maybe"}, 7, {**good, "count": "1"}]
    (tmp_path / FILE_NAME).write_text(json.dumps({"requests": [*bad, good]}), encoding="utf-8")
    assert RequestLog(tmp_path).entries() == [entry(1)]


def test_api_requests_are_logged_without_document_or_password(demo, tmp_path: Path) -> None:
    key = demo["citizen_sign"]
    store = SettingsStore(tmp_path)
    origins = OriginPolicy(store)
    answers = [
        ScriptedAnswer(key=key.path, password=key.password),
        ScriptedAnswer(key=key.path, password=key.password, decision="cancel", block_origin=True),
    ]
    service = SigningService(ScriptedPrompter(answers), origins=origins)
    service.request_log = RequestLog(tmp_path)
    secret_document = b"TOP-SECRET-CONTRACT-TEXT"

    async def scenario() -> None:
        await service.sign_cms(KeyQuery(ORIGIN), [secret_document, b"two"])
        with pytest.raises(ActionCanceled):
            await service.sign_cms(KeyQuery(ORIGIN), [secret_document])
        with pytest.raises(ActionCanceled):  # blocked now: refused before any dialog
            await service.sign_cms(KeyQuery(ORIGIN), [secret_document])
        with pytest.raises(ActionCanceled):  # the script is used up
            await service.get_key_info(KeyQuery("https://other.kz"))

    asyncio.run(scenario())
    newest_first = service.request_log.entries()
    assert [(e.origin, e.kind, e.count, e.outcome) for e in newest_first] == [
        ("https://other.kz", "key_info", 0, "refused"),
        (ORIGIN, "cms", 1, "blocked"),  # before any dialog
        (ORIGIN, "cms", 1, "blocked"),  # "no, and always block this site"
        (ORIGIN, "cms", 2, "done"),
    ]
    text = (tmp_path / FILE_NAME).read_text(encoding="utf-8")
    assert "TOP-SECRET" not in text
    assert key.password not in text
    assert key.name.split()[0] in newest_first[-1].key_owner  # type: ignore[operator]
