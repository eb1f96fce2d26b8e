"""Per-origin permission (PROTOCOL.md §15): "ask" (the default) or "deny" (always block).

There is deliberately no "always allow": a sign request from any origin still needs the
person's decision in a dialog (ARCHITECTURE rule 3). ``allow`` only records "ask" for a site
(it lifts a block and keeps the site listed); ``forget`` removes the entry.

Origins are normalised to ``scheme://host[:port]`` in lower case, the default port dropped, so
``https://Portal.kz:443/`` and ``https://portal.kz`` are one site. A request without an Origin
header (a local program) has no origin to block and is always asked about.

The decisions live in settings.json (service/settings.py); the policy re-reads the file when it
changes on disk, so ``qalam origins block X`` takes effect in a running ``qalam serve``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import urlsplit

from ..crypto.errors import InvalidInput
from .settings import OriginDecision, Settings, SettingsStore

DEFAULT_PORTS = {"http": 80, "https": 443}

audit = logging.getLogger("qalam.audit")


def normalise_origin(origin: str) -> str:
    """``scheme://host[:port]``, lower case, default port dropped; InvalidInput if not one."""
    text = origin.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInput(origin[:100], reason=f"not a web origin: {origin[:100]!r}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        reason = f"not a web origin (expected https://host[:port]): {origin[:100]!r}"
        raise InvalidInput(origin[:100], reason=reason)
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def _key(origin: str) -> str:
    """The stored key of a request's Origin header (an unparsable one is kept as sent)."""
    try:
        return normalise_origin(origin)
    except InvalidInput:
        return origin.strip()[:256]


class OriginPolicy:
    """Reads and changes the per-origin decisions kept in settings."""

    def __init__(self, store: SettingsStore) -> None:
        self.store = store
        self._stamp: tuple[int, int] | None = None
        self._settings: Settings | None = None

    def _current(self) -> Settings:
        stamp = self.store.stamp()
        if self._settings is None or stamp != self._stamp:
            self._settings = self.store.load()
            self._stamp = self.store.stamp()
        return self._settings

    def decision(self, origin: str | None) -> OriginDecision:
        """What to do with a request from ``origin``: "deny" only for a blocked site."""
        if not origin:
            return "ask"
        return self._current().origins.get(_key(origin), "ask")

    def entries(self) -> dict[str, OriginDecision]:
        """Every listed origin and its decision."""
        return dict(sorted(self._current().origins.items()))

    def _set(self, origin: str, decision: OriginDecision | None) -> str:
        key = normalise_origin(origin)

        def change(settings: Settings) -> Settings:
            origins = dict(settings.origins)
            if decision is None:
                origins.pop(key, None)
            else:
                origins[key] = decision
            return replace(settings, origins=origins)

        self._settings = self.store.update(change)
        self._stamp = self.store.stamp()
        return key

    def block(self, origin: str) -> str:
        """Always refuse this site, before any dialog; returns the stored key."""
        key = self._set(origin, "deny")
        audit.warning("origin=%s blocked: its requests are refused from now on", key)
        return key

    def allow(self, origin: str) -> str:
        """Lift a block: the site may ask again (every request still needs a decision)."""
        key = self._set(origin, "ask")
        audit.info("origin=%s set to ask: each request needs the person's decision", key)
        return key

    def forget(self, origin: str) -> str:
        """Remove the site from the list (the default, ask, applies)."""
        key = self._set(origin, None)
        audit.info("origin=%s forgotten", key)
        return key


__all__ = ["OriginPolicy", "normalise_origin"]
