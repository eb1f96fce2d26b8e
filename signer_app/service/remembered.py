"""Key passwords kept in the OS keyring, only when the person turned it on (ARCHITECTURE rule 5).

Entries live under the service name "qalam", one per key file path. keyring cannot list a
service's entries on every backend, so the paths remembered are kept in one more entry (the
index, no secret in it), which is what "forget all remembered passwords" walks.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import keyring
from keyring.errors import KeyringError, PasswordDeleteError

SERVICE = "qalam"
INDEX = "__remembered_key_files__"


def _index() -> list[str]:
    text = keyring.get_password(SERVICE, INDEX)
    if not text:
        return []
    try:
        items = json.loads(text)
    except ValueError:
        return []
    return [i for i in items if isinstance(i, str)] if isinstance(items, list) else []


def _save_index(paths: list[str]) -> None:
    if paths:
        keyring.set_password(SERVICE, INDEX, json.dumps(sorted(set(paths))))
    else:
        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(SERVICE, INDEX)


def remember(path: Path, password: str) -> None:
    """Keep ``password`` for the key file ``path``."""
    keyring.set_password(SERVICE, str(path), password)
    _save_index([*_index(), str(path)])


def recall(path: Path) -> str | None:
    """The remembered password of ``path``, or None."""
    try:
        return keyring.get_password(SERVICE, str(path))
    except KeyringError:
        return None


def forget(path: Path) -> None:
    """Delete the remembered password of ``path`` (one that no longer opens it); no error
    when there is none."""
    with contextlib.suppress(PasswordDeleteError):
        keyring.delete_password(SERVICE, str(path))
    _save_index([p for p in _index() if p != str(path)])


def remembered() -> list[str]:
    """The key files whose password is remembered."""
    return _index()


def forget_all() -> int:
    """Delete every remembered password; returns how many were deleted."""
    count = 0
    for name in _index():
        try:
            keyring.delete_password(SERVICE, name)
            count += 1
        except PasswordDeleteError:
            pass
    _save_index([])
    return count


__all__ = ["SERVICE", "forget", "forget_all", "recall", "remember", "remembered"]
