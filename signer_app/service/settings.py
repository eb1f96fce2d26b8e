"""User settings: one typed, declarative model kept as JSON in the data dir.

``Settings`` is a frozen dataclass; each field declares its own check in its metadata, so the
loader needs no per-field code. ``SettingsStore`` reads and writes ``<data-dir>/settings.json``:

* writes are atomic (crypto.atomicfile: temp file, fsync, rename), mode 0600;
* a missing file means defaults (nothing is written until something changes);
* a file that is not JSON, not an object, or of a newer format version is moved aside to
  ``settings.json.bad-<UTC time>`` and defaults are used;
* a field of the wrong type or value, or a field this version does not know, is dropped
  (default used) and the original file is copied to the same kind of backup first.

Nothing here ever raises on a bad file: the app starts with defaults and says so in the log.
No secret is kept here (passwords live in the OS keyring, ARCHITECTURE rule 5).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from ..crypto.atomicfile import atomic_write
from .tokens import is_module_map
from .tsa_client import DEFAULT_TSA_URL

FORMAT_VERSION = 1
FILE_NAME = "settings.json"
DEFAULT_CA_URL = "http://127.0.0.1:8080"
MAX_RECENT_KEYS = 10

LOCALES = ("kk", "ru", "en")

OriginDecision = Literal["ask", "deny"]
ORIGIN_DECISIONS: tuple[str, ...] = ("ask", "deny")

log = logging.getLogger("qalam.settings")


def _is_locale(value: object) -> bool:
    return value in LOCALES


def _is_url_or_empty(value: object) -> bool:
    if not isinstance(value, str):
        return False
    return value == "" or value.startswith(("http://", "https://"))


def _is_origin_map(value: object) -> bool:
    if not isinstance(value, dict):
        return False
    return all(isinstance(k, str) and k and v in ORIGIN_DECISIONS for k, v in value.items())


def _is_path_list(value: object) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _meta(check: Callable[[object], bool], doc: str) -> dict[str, Any]:
    return {"check": check, "doc": doc}


@dataclass(frozen=True)
class Settings:
    """Everything a person can set; NCALayer 1.4 behaviour where it matters."""

    locale: str = field(
        default="kk", metadata=_meta(_is_locale, "language of dialogs and messages: kk, ru, en")
    )
    tsa_url: str = field(
        default=DEFAULT_TSA_URL,
        metadata=_meta(_is_url_or_empty, "RFC 3161 TSA for timestamps ('' for none)"),
    )
    origins: dict[str, OriginDecision] = field(
        default_factory=dict,
        metadata=_meta(_is_origin_map, "per-origin decision: ask (the default) or deny"),
    )
    max_frame_mib: int = field(
        default=64, metadata=_meta(_is_positive_int, "largest WebSocket frame, MiB")
    )
    max_connections: int = field(
        default=64, metadata=_meta(_is_positive_int, "open sockets at most")
    )
    ca_url: str = field(
        default=DEFAULT_CA_URL,
        metadata=_meta(_is_url_or_empty, "the CA service for status, re-issue ('' for none)"),
    )
    key_folders: tuple[str, ...] = field(
        default=(), metadata=_meta(_is_path_list, "folders searched for key files")
    )
    recent_keys: tuple[str, ...] = field(
        default=(), metadata=_meta(_is_path_list, "key files used lately, newest first")
    )
    start_on_login: bool = field(
        default=False, metadata=_meta(_is_bool, "start the app when the person logs in")
    )
    remember_passwords: bool = field(
        default=False,
        metadata=_meta(_is_bool, "offer to keep key passwords in the OS keyring"),
    )
    pkcs11_modules: dict[str, str] = field(
        default_factory=dict,
        metadata=_meta(
            is_module_map, "token storage -> PKCS#11 module path, over the built-in defaults"
        ),
    )

    def with_recent_key(self, path: str) -> Settings:
        """These settings with ``path`` first among the recent key files (at most ten)."""
        rest = tuple(p for p in self.recent_keys if p != path)
        return replace(self, recent_keys=(path, *rest)[:MAX_RECENT_KEYS])

    def to_json(self) -> dict[str, Any]:
        """The file's content: the format version and every field."""
        return {"version": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> tuple[Settings, list[str]]:
        """Settings from a parsed object, and the problems found (fields dropped)."""
        problems: list[str] = []
        values: dict[str, Any] = {}
        known = {f.name: f for f in fields(cls)}
        for name, value in data.items():
            if name == "version":
                continue
            spec = known.get(name)
            if spec is None:
                problems.append(f"unknown setting {name!r} dropped")
            elif not spec.metadata["check"](value):
                problems.append(f"setting {name!r} has an invalid value; the default is used")
            else:
                if isinstance(value, dict):
                    value = dict(value)
                elif isinstance(value, list):
                    value = tuple(value)
                values[name] = value
        return cls(**values), problems


class SettingsStore:
    """``<data-dir>/settings.json``: load with recovery, save atomically."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / FILE_NAME
        self.backups: list[Path] = []

    def _backup(self, move: bool) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path.with_name(f"{FILE_NAME}.bad-{stamp}")
        if move:
            os.replace(self.path, target)
        else:
            shutil.copy2(self.path, target)
        self.backups.append(target)
        return target

    def stamp(self) -> tuple[int, int] | None:
        """(mtime ns, size) of the file, None when absent: a cheap "has it changed" check."""
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def load(self) -> Settings:
        """The stored settings; defaults (and a backup of the bad file) on any problem."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings()
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("cannot read %s (%s); using defaults", self.path, exc)
            return self._set_aside()
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            log.warning("%s is not JSON; using defaults", self.path)
            return self._set_aside()
        if not isinstance(data, dict):
            log.warning("%s is not a JSON object; using defaults", self.path)
            return self._set_aside()
        version = data.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            log.warning("%s has format version %r; using defaults", self.path, version)
            return self._set_aside()
        settings, problems = Settings.from_json(cast(dict[str, Any], data))
        if problems:
            backup = self._backup(move=False)
            for problem in problems:
                log.warning("%s: %s (original kept as %s)", self.path, problem, backup)
        return settings

    def _set_aside(self) -> Settings:
        try:
            backup = self._backup(move=True)
        except OSError as exc:
            log.warning("cannot move %s aside (%s)", self.path, exc)
        else:
            log.warning("the unreadable settings file was kept as %s", backup)
        return Settings()

    def save(self, settings: Settings) -> None:
        """Write atomically (0600); creates the data dir (0700) when needed."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(settings.to_json(), ensure_ascii=False, indent=2, sort_keys=True)
        atomic_write(self.path, (text + "\n").encode("utf-8"), mode=0o600)

    def update(self, change: Callable[[Settings], Settings]) -> Settings:
        """Load, change, save; returns what was saved."""
        new = change(self.load())
        self.save(new)
        return new


__all__ = [
    "DEFAULT_CA_URL",
    "DEFAULT_TSA_URL",
    "FILE_NAME",
    "FORMAT_VERSION",
    "LOCALES",
    "ORIGIN_DECISIONS",
    "OriginDecision",
    "Settings",
    "SettingsStore",
]
