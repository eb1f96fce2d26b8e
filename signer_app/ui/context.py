"""What every window, page and dialog of the desktop app shares, built once at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..service.origins import OriginPolicy
from ..service.settings import Settings, SettingsStore
from .i18n import Translator
from .widgets.token_watch import TokenWatch


@dataclass
class AppContext:
    """The app's shared state: data dir, settings, language, site permissions.

    ``preselected_keys`` are key files offered first in the key chooser and *My keys* (the
    README's run command passes the demo citizen's); they are never opened without a password.
    """

    data_dir: Path
    settings_store: SettingsStore
    translator: Translator
    origins: OriginPolicy
    preselected_keys: tuple[Path, ...] = field(default=())
    # Tokens plugged in and pulled out; the app starts and stops it (None: no token list).
    token_watch: TokenWatch | None = None

    @classmethod
    def create(cls, data_dir: Path, preselected_keys: tuple[Path, ...] = ()) -> AppContext:
        """A context over ``data_dir``, in the language the settings name."""
        store = SettingsStore(data_dir)
        settings = store.load()
        return cls(
            data_dir=data_dir,
            settings_store=store,
            translator=Translator(settings.locale),
            origins=OriginPolicy(store),
            preselected_keys=preselected_keys,
        )

    @property
    def settings(self) -> Settings:
        """The settings as they are on disk now."""
        return self.settings_store.load()

    def remember_key(self, path: Path) -> None:
        """Put a key file first among the recent ones."""
        self.settings_store.update(lambda s: s.with_recent_key(str(path)))
