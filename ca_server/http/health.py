"""Is this worker able to serve: the database answers and the CA keys are open."""

from __future__ import annotations

from fastapi import APIRouter

from ca_server.errors import CaError
from ca_server.http.deps import Service, error_responses
from ca_server.http.models import Health

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses=error_responses("database_error"),
    summary="Liveness and readiness: 200 when the database answers",
)
def health(service: Service) -> Health:
    if not service.database_ok():
        raise CaError("database_error", "SELECT 1 failed")
    return Health(
        status="ok",
        database="ok",
        authorities=sorted(service.authorities),
        origin=service.instance.config.origin,
    )
