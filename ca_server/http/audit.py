"""The audit log, read through the API by an admin or an auditor (the reading is logged too)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from ca_server import operators_auth
from ca_server.http.deps import Caller, Operator, Service, error_responses
from ca_server.http.models import AuditEntryOut

__all__ = ["router"]

router = APIRouter(tags=["audit"])


@router.get(
    "/audit",
    response_model=list[AuditEntryOut],
    responses=error_responses("unauthenticated", "session_expired", "forbidden"),
    summary="Audit rows in the order written: from `since`, else the newest `limit` (admin, "
    "auditor)",
)
def read_audit(
    service: Service,
    who: Operator,
    caller: Caller,
    since: Annotated[dt.datetime | None, Query(description="ISO 8601 time")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: Annotated[str | None, Query(max_length=256)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AuditEntryOut]:
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    entries = operators_auth.read_audit(
        service.db,
        who,
        since=since,
        actor=actor,
        action=action,
        limit=limit,
        remote_addr=caller.remote_addr,
        request=caller.request,
    )
    return [AuditEntryOut.of(entry) for entry in entries]
