"""The append-only audit log: who did what to what, when, from where, with which outcome.

Every issuance, revocation, code creation and redemption writes its row in the same transaction
as the change itself, so the log and the state cannot disagree. A refused request writes one row
in a transaction of its own (outcome = the error code), and nothing else.

This module only inserts and reads: there is no update or delete path, and the database refuses
both (triggers from the migration). ``details`` and ``target`` never hold a secret: no one-time
code, password or key; a request is recorded by its SHA-256 only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ca_server.db import AuditEntry, Database, utcnow
from ca_server.errors import CaError

__all__ = ["OK", "Entry", "read", "record", "record_refusal"]

OK = "ok"
MAX_READ = 10_000


@dataclass(frozen=True)
class Entry:
    """One audit row as read back."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    remote_addr: str | None
    request_sha256: str | None
    outcome: str
    details: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "remote_addr": self.remote_addr,
            "request_sha256": self.request_sha256,
            "outcome": self.outcome,
            "details": dict(self.details),
        }


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None,
    outcome: str = OK,
    *,
    remote_addr: str | None = None,
    request: bytes = b"",
    details: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Add one row to the log inside the caller's transaction."""
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor=actor,
            action=action,
            target=target,
            remote_addr=remote_addr,
            request_sha256=hashlib.sha256(request).hexdigest() if request else None,
            outcome=outcome,
            details=dict(details or {}),
        )
    )


def record_refusal(
    db: Database,
    actor: str,
    action: str,
    target: str | None,
    error: CaError,
    *,
    remote_addr: str | None = None,
    request: bytes = b"",
    details: Mapping[str, Any] | None = None,
) -> None:
    """Log a refused request in a transaction of its own (the refused change was rolled back).

    Nothing is logged when the refusal is that the database cannot be reached.
    """
    if error.code == "database_error":
        return
    extra = dict(details or {})
    if error.detail:
        extra["detail"] = error.detail
    with db.transaction() as session:
        record(
            session,
            actor,
            action,
            target,
            error.code,
            remote_addr=remote_addr,
            request=request,
            details=extra,
        )


def read(
    db: Database,
    since: dt.datetime | None = None,
    actor: str | None = None,
    *,
    action: str | None = None,
    target: str | None = None,
    limit: int = 100,
) -> Sequence[Entry]:
    """Rows in the order they were written, oldest first, filtered; at most `limit` of them.

    With `since`, the first `limit` rows from that time; without it, the newest `limit` rows.
    """
    if not 0 < limit <= MAX_READ:
        raise CaError("invalid_input", f"limit must be 1..{MAX_READ}")
    query = select(AuditEntry)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    newest_first = since is None
    query = query.order_by(AuditEntry.id.desc() if newest_first else AuditEntry.id).limit(limit)
    with db.reading() as session:
        rows = list(session.scalars(query))
    if newest_first:
        rows.reverse()
    return [
        Entry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            target=row.target,
            remote_addr=row.remote_addr,
            request_sha256=row.request_sha256,
            outcome=row.outcome,
            details=row.details,
        )
        for row in rows
    ]
