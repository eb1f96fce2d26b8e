"""Files opened with Qalam (a file manager's "Open with", `qalam app FILE…`, a second start):
which page each one goes to.

A file that carries a signature goes to *Verify*, anything else to *Sign*. Told by content where
the name says nothing: a signed PDF holds a ``/ByteRange`` (every PDF signature has one), a
signed XML the XML-DSig namespace; CMS files by their usual names (.cms, .p7s, .p7m, .sig).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SIGNATURE_SUFFIXES = (".cms", ".p7s", ".p7m", ".sig")
DETACHED_SUFFIXES = (".p7s", ".sig")
_MARKS = {
    b"%PDF-": b"/ByteRange",
    b"<": b"http://www.w3.org/2000/09/xmldsig#",
}
_CHUNK = 1 << 20
_OVERLAP = 64


def _contains(path: Path, needle: bytes) -> bool:
    """Whether ``needle`` occurs in the file, read in chunks (a large PDF is not loaded)."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if needle in tail + chunk:
                return True
            tail = chunk[-_OVERLAP:]
    return False


def carries_signature(path: Path) -> bool:
    """True for a signature file, a signed PDF or a signed XML; False for the rest (and for a
    file that cannot be read: the Sign page says why)."""
    if path.suffix.lower() in SIGNATURE_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
        for start, mark in _MARKS.items():
            if head.startswith(start):
                return _contains(path, mark)
    except OSError:
        return False
    return False


@dataclass(frozen=True)
class Routing:
    """Where opened files go: one signed file (with its original) to Verify, the rest to Sign."""

    verify: Path | None = None
    original: Path | None = None
    sign: tuple[Path, ...] = field(default=())


def route(paths: Sequence[Path]) -> Routing:
    """Split opened files between the Verify page (the first signed one, and the document a
    detached signature names) and the Sign page (the others)."""
    signed = [p for p in paths if carries_signature(p)]
    others = [p for p in paths if p not in signed]
    if not signed:
        return Routing(sign=tuple(others))
    first = signed[0]
    original = None
    if first.suffix.lower() in DETACHED_SUFFIXES:
        original = next((p for p in others if p.name == first.stem), None)
    rest = tuple(p for p in others if p != original)
    return Routing(first, original, rest)


__all__ = ["Routing", "carries_signature", "route"]
