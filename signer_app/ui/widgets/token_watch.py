"""The token watcher of the desktop app: service/tokens.TokenWatcher, its news on the UI thread.

The watcher polls the drivers in its own thread; on a change that thread also reads which tokens
are present (label, serial, PIN state), so the UI thread never calls a driver. The result
crosses to the UI thread as a Qt signal: ``TokenWatch`` lives on the UI thread, and a signal
emitted from another thread is queued to the receiver's thread by Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from ...service.tokens import (
    ALL_STORAGES,
    PresentToken,
    TokenChange,
    TokenRegistry,
    TokenWatcher,
    present_tokens,
)


@dataclass(frozen=True)
class TokenSnapshot:
    """The tokens present after a poll that changed something."""

    tokens: tuple[PresentToken, ...]


class TokenWatch(QObject):
    """Starts and stops the polling; ``changed`` carries a TokenSnapshot to the UI thread."""

    changed = Signal(object)
    # The registry was replaced (a module chosen): the signing service should use it too.
    registry_changed = Signal(object)

    def __init__(
        self,
        registry: TokenRegistry,
        *,
        interval: float = 2.0,
        storages: Sequence[str] = ALL_STORAGES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.interval = interval
        self.storages = tuple(storages)
        self.registry = registry
        self.snapshot = TokenSnapshot(())
        self.changed.connect(self._keep)
        self._watcher = self._make_watcher()

    def _make_watcher(self) -> TokenWatcher:
        return TokenWatcher(
            self.registry, self._on_change, interval=self.interval, storages=self.storages
        )

    def _on_change(self, change: TokenChange) -> None:
        # The watcher's thread (or the caller of poll): read the tokens here, not on the UI.
        self.changed.emit(TokenSnapshot(tuple(present_tokens(self.registry, change.active))))

    def _keep(self, snapshot: TokenSnapshot) -> None:
        self.snapshot = snapshot

    @property
    def running(self) -> bool:
        """True while the worker thread polls."""
        return self._watcher.running

    def poll(self) -> None:
        """One poll in the calling thread (tests; the worker thread does the same)."""
        self._watcher.poll()

    def start(self) -> None:
        """Start polling in the worker thread (returns at once)."""
        self._watcher.start()

    def stop(self) -> None:
        """Stop polling (waits at most for the driver call in progress)."""
        self._watcher.stop()

    def set_registry(self, registry: TokenRegistry) -> None:
        """Watch through a new registry (a module path changed in settings)."""
        running = self.running
        self._watcher.stop()
        self.registry = registry
        self._watcher = self._make_watcher()
        self.registry_changed.emit(registry)
        # The new watcher starts from nothing and reports what it finds as added: the tokens
        # of the old registry are dropped first, so none that went with it stays listed.
        self.changed.emit(TokenSnapshot(()))
        if running:
            self._watcher.start()
        else:
            # Nobody polls on their own: the page still has to see the new module's tokens.
            self._watcher.poll()


__all__ = ["TokenSnapshot", "TokenWatch"]
