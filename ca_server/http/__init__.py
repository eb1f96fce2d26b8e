"""The CA's HTTP front door (FastAPI): thin routers over authority, enrollment, registry and the
responders. `create_app(instance)` builds it; `qalam-ca serve` runs it with uvicorn."""

from ca_server.http.app import app_from_env, create_app
from ca_server.http.service import HttpSettings

__all__ = ["HttpSettings", "app_from_env", "create_app"]
