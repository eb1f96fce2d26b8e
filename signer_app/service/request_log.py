"""The recent request log shown on the *Sites* page: who asked for what, when, and how it ended.

A bounded list (the newest ``limit`` requests) in ``<data-dir>/requests.json``, rewritten
atomically on every record. It holds no document, no digest, no password and no certificate:
only the origin, the kind of request, how many documents, the key owner's name, the outcome
(and an error code), and the time. A damaged file is set aside and the log starts empty.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ..crypto.atomicfile import atomic_write

FILE_NAME = "requests.json"
DEFAULT_LIMIT = 200

Outcome = Literal["done", "refused", "blocked", "failed"]
OUTCOMES: tuple[str, ...] = ("done", "refused", "blocked", "failed")

log = logging.getLogger("qalam.requests")


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the log keeps it."""

    time: datetime
    origin: str | None
    kind: str
    count: int
    key_owner: str | None
    outcome: Outcome
    error_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON object (the time in ISO 8601, UTC)."""
        data = asdict(self)
        data["time"] = self.time.astimezone(UTC).isoformat()
        return data

    @classmethod
    def from_json(cls, data: object) -> LoggedRequest | None:
        """The entry, or None for anything malformed (skipped, not fatal)."""
        if not isinstance(data, dict):
            return None
        try:
            moment = datetime.fromisoformat(str(data["time"]))
            outcome = data["outcome"]
            count = data["count"]
            if outcome not in OUTCOMES or not isinstance(count, int) or moment.tzinfo is None:
                return None
            return cls(
                time=moment,
                origin=_optional_text(data.get("origin")),
                kind=str(data["kind"])[:32],
                count=count,
                key_owner=_optional_text(data.get("key_owner")),
                outcome=outcome,
                error_code=_optional_text(data.get("error_code")),
            )
        except (KeyError, ValueError, TypeError):
            return None


def _optional_text(value: object) -> str | None:
    return str(value)[:256] if value is not None else None


class RequestLog:
    """The newest ``limit`` requests, kept in the data dir."""

    def __init__(self, data_dir: Path, limit: int = DEFAULT_LIMIT) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.limit = limit
        self._lock = threading.Lock()

    def entries(self) -> list[LoggedRequest]:
        """Every kept request, newest first."""
        with self._lock:
            return list(reversed(self._load()))

    def _load(self) -> list[LoggedRequest]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
            log.warning("request log %s unreadable (%s); starting a new one", self.path, exc)
            self._set_aside()
            return []
        items = data.get("requests") if isinstance(data, dict) else None
        if not isinstance(items, list):
            self._set_aside()
            return []
        return [e for e in (LoggedRequest.from_json(item) for item in items) if e is not None]

    def _set_aside(self) -> None:
        with contextlib.suppress(OSError):
            os.replace(self.path, self.path.with_name(FILE_NAME + ".bad"))

    def _save(self, entries: list[LoggedRequest]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = {"version": 1, "requests": [e.to_json() for e in entries[-self.limit :]]}
        text = json.dumps(body, ensure_ascii=False, indent=1)
        atomic_write(self.path, (text + "\n").encode("utf-8"), mode=0o600)

    def record(self, entry: LoggedRequest) -> None:
        """Append one request (the oldest beyond ``limit`` fall off)."""
        with self._lock:
            entries = self._load()
            entries.append(entry)
            self._save(entries)

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._save([])


__all__ = ["DEFAULT_LIMIT", "FILE_NAME", "OUTCOMES", "LoggedRequest", "Outcome", "RequestLog"]
