"""Which key files *My keys* lists: preselected ones, recent ones, and those in key folders.

Pure file-system work (runs in a pool thread): a folder that has gone away (an unplugged USB
stick) or cannot be read is reported, never raised, so the page shows a message and the rest.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

KEY_SUFFIXES = (".p12", ".pfx")
# A folder of photos picked by mistake must not make the scan crawl the whole disk.
MAX_FILES_PER_FOLDER = 500
MAX_DEPTH = 2

Source = Literal["preselected", "recent", "folder"]


@dataclass(frozen=True)
class KeyFile:
    """One key file found, and why it is listed."""

    path: Path
    source: Source
    exists: bool = True


@dataclass(frozen=True)
class ScanResult:
    """Key files in listing order, and the folders that could not be searched."""

    files: tuple[KeyFile, ...]
    missing_folders: tuple[str, ...] = ()
    unreadable_folders: tuple[str, ...] = field(default=())


def _in_folder(folder: Path) -> list[Path]:
    found: list[Path] = []
    base_depth = len(folder.parts)

    def refuse(error: OSError) -> None:
        raise error

    for root, dirs, names in os.walk(folder, onerror=refuse):
        if len(Path(root).parts) - base_depth >= MAX_DEPTH:
            dirs.clear()
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.lower().endswith(KEY_SUFFIXES):
                found.append(Path(root) / name)
                if len(found) >= MAX_FILES_PER_FOLDER:
                    return found
    return found


def scan(preselected: Sequence[Path], recent: Sequence[str], folders: Sequence[str]) -> ScanResult:
    """Every key file to list, each once, preselected first, then recent, then folders."""
    seen: set[Path] = set()
    files: list[KeyFile] = []

    def add(path: Path, source: Source) -> None:
        key = path.expanduser().absolute()
        if key in seen:
            return
        seen.add(key)
        files.append(KeyFile(key, source, key.is_file()))

    for path in preselected:
        add(Path(path), "preselected")
    for name in recent:
        add(Path(name), "recent")
    missing: list[str] = []
    unreadable: list[str] = []
    for name in folders:
        folder = Path(name).expanduser()
        if not folder.is_dir():
            missing.append(name)
            continue
        try:
            paths = _in_folder(folder)
        except OSError:
            unreadable.append(name)
            continue
        for path in paths:
            add(path, "folder")
    return ScanResult(tuple(files), tuple(missing), tuple(unreadable))


__all__ = ["KEY_SUFFIXES", "KeyFile", "ScanResult", "scan"]
