"""The key files this computer has opened, with their certificates: who, until when, where.

A PKCS#12 file usually encrypts its certificate under the key's password too (NCA's files do),
so without this list Qalam could not say whose a key file is, or that it expires soon, without
asking for the password. After a key opens, its certificate (public data) is remembered here
with the file's path; nothing secret is ever stored. ``expiring`` drives the 30-day reminder.

``<data dir>/known-keys.json``: written atomically (0600), newest first, at most
``MAX_KNOWN`` entries; an unreadable file is set aside and the list starts empty (it is a
cache: every key file is still on disk).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..crypto.atomicfile import atomic_write
from ..crypto.identity import Identity, identity_of

FILE_NAME = "known-keys.json"
MAX_KNOWN = 50
REMIND_BEFORE = timedelta(days=30)
FORMAT_VERSION = 1

log = logging.getLogger("qalam.known_keys")


@dataclass(frozen=True)
class KnownKey:
    """A key file and the certificate it held when it was last opened."""

    path: Path
    alias: str
    certificate: x509.Certificate
    last_used: datetime

    @property
    def identity(self) -> Identity:
        """Whose key it is."""
        return identity_of(self.certificate)

    def days_left(self, now: datetime) -> int:
        """Whole days until the certificate expires (negative once it has)."""
        return (self.certificate.not_valid_after_utc - now).days


class KnownKeys:
    """The list in ``<data dir>/known-keys.json``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME

    def entries(self) -> list[KnownKey]:
        """Every known key, most recently used first (an unreadable file reads as empty)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if raw.get("version") != FORMAT_VERSION:
                raise ValueError("version")
            return [_from_json(item) for item in raw["keys"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s is unreadable (%s); starting an empty list", self.path, exc)
            self._set_aside()
            return []

    def remember(
        self,
        path: Path,
        certificate: x509.Certificate,
        alias: str = "",
        now: datetime | None = None,
    ) -> None:
        """Record that ``path`` opened and holds ``certificate`` (moves it to the front)."""
        moment = now or datetime.now(UTC)
        resolved = Path(path).resolve()
        kept = [k for k in self.entries() if not (k.path == resolved and k.alias == alias)]
        self._save([KnownKey(resolved, alias, certificate, moment), *kept][:MAX_KNOWN])

    def forget(self, path: Path) -> None:
        """Drop every entry of ``path`` (the person removed the file from the list)."""
        resolved = Path(path).resolve()
        self._save([k for k in self.entries() if k.path != resolved])

    def expiring(
        self, now: datetime | None = None, within: timedelta = REMIND_BEFORE
    ) -> list[KnownKey]:
        """Keys whose certificate ends within ``within`` (or has ended), files still present,
        soonest first: what the reminder names."""
        moment = now or datetime.now(UTC)
        due = [
            k
            for k in self.entries()
            if k.certificate.not_valid_after_utc - moment <= within and k.path.exists()
        ]
        return sorted(due, key=lambda k: k.certificate.not_valid_after_utc)

    def _save(self, keys: list[KnownKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        document = {"version": FORMAT_VERSION, "keys": [_to_json(k) for k in keys]}
        atomic_write(self.path, json.dumps(document, indent=1).encode("utf-8"), mode=0o600)

    def _set_aside(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        try:
            os.replace(self.path, self.path.with_name(f"{FILE_NAME}.bad-{stamp}"))
        except OSError as exc:
            log.warning("cannot set %s aside (%s)", self.path, exc)


def _to_json(key: KnownKey) -> dict[str, str]:
    pem = key.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return {
        "path": str(key.path),
        "alias": key.alias,
        "certificate": pem,
        "last_used": key.last_used.isoformat(),
    }


def _from_json(item: dict[str, str]) -> KnownKey:
    return KnownKey(
        path=Path(item["path"]),
        alias=str(item.get("alias", "")),
        certificate=x509.load_pem_x509_certificate(item["certificate"].encode("ascii")),
        last_used=datetime.fromisoformat(item["last_used"]),
    )


__all__ = ["MAX_KNOWN", "REMIND_BEFORE", "KnownKey", "KnownKeys"]
