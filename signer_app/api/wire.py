"""Small codecs of the wire: Java's base64 decoder, PEM armour, org.json's lenient booleans.

Where a client depends on NCALayer's Java text (PROTOCOL.md §6, §7: "Illegal base64 character
2d"), the text is reproduced here, in one place.
"""

from __future__ import annotations

import asyncio
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pybase64

from ..crypto.errors import InvalidInput

_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_WHITESPACE = b" \t\r\n"
_ALPHABET_BYTES = bytes(sorted(_ALPHABET))


class Base64Error(InvalidInput):
    """Bad base64; ``java`` holds the text java.util.Base64 would have thrown."""

    def __init__(self, java: str) -> None:
        self.java = f"java.lang.IllegalArgumentException: {java}"
        super().__init__(java, reason=f"the data is not valid base64 ({java})")


def decode_base64(text: str) -> bytes:
    """Decode like java.util.Base64's basic decoder, tolerating line breaks (PEM-style wrapping
    that some clients send): padding optional, any other character refused with Java's text."""
    if len(text) % 4 == 0:
        # The common case (one padded line) through pybase64's SIMD decoder: ~10x faster than
        # binascii, which matters because a 50 MiB document is decoded on the event loop.
        # Anything it refuses takes the careful path below, which names the culprit as Java.
        try:
            return pybase64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            pass
    raw = text.encode("utf-8", "surrogatepass").translate(None, _WHITESPACE)
    body = raw.rstrip(b"=")
    padding = len(raw) - len(body)
    if body.translate(None, _ALPHABET_BYTES):  # C speed; the loop only finds the first culprit
        for byte in body:
            if byte not in _ALPHABET:
                raise Base64Error(f"Illegal base64 character {byte:x}")
    if padding > 2 or (padding and len(raw) % 4):
        raise Base64Error(f"Input byte array has incorrect ending byte at {len(body)}")
    if len(body) % 4 == 1:
        raise Base64Error("Last unit does not have enough valid bits")
    try:
        return pybase64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except binascii.Error as exc:  # pragma: no cover - the checks above leave nothing for it
        raise Base64Error(str(exc)) from None


LARGE_BASE64 = 1 << 20


async def decode_base64_off_loop(text: str) -> bytes:
    """``decode_base64``, in a worker thread for large text so other sockets keep their turns.

    pybase64 releases the GIL while it decodes (measured: a 70 MB decode takes ~40 ms and a
    ticking thread never waits more than 5 ms), so the thread really runs beside the loop.
    """
    if len(text) < LARGE_BASE64:
        return decode_base64(text)
    return await asyncio.to_thread(decode_base64, text)


# Binary data whose base64 is LARGE_BASE64 long: encoded in a worker thread from here on.
LARGE_BINARY = LARGE_BASE64 * 3 // 4


def encode_base64(data: bytes) -> str:
    """One line of standard base64 (commonUtils' responseObject)."""
    # Straight into a str: b64encode(...).decode("ascii") copied the text once more, holding
    # the GIL (~0.1 s for a 50 MiB CMS), which no worker thread can hide.
    return pybase64.b64encode_as_string(data)


async def encode_base64_off_loop(data: bytes) -> str:
    """``encode_base64``, in a worker thread for large data (a 50 MiB attached CMS).

    pybase64 releases the GIL while it encodes into the string (measured: a 50 MiB encode
    takes ~0.1 s and a ticking thread never waits more than 6 ms), so the loop keeps serving."""
    if len(data) < LARGE_BINARY:
        return encode_base64(data)
    return await asyncio.to_thread(encode_base64, data)


def pem(label: str, der: bytes, newline: str = "\n") -> str:
    """PEM armour with 64-character lines and a final line break (basics' CMS, KeyInfo.pem)."""
    body = encode_base64(der)
    lines = [f"-----BEGIN {label}-----", *(body[i : i + 64] for i in range(0, len(body), 64))]
    return newline.join([*lines, f"-----END {label}-----", ""])


def lenient_bool(value: object, default: bool) -> bool:
    """org.json's optBoolean: a JSON boolean, or the strings "true"/"false" in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


# json.dumps(obj, ensure_ascii=False, separators=(",", ":")) without rebuilding the encoder.
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class JsonString:
    """A reply string already escaped for JSON (no quotes), in pieces of about a mebibyte:
    ``compact_pieces`` splices them in as they are.

    A 50 MiB attached CMS is ~68 MiB of base64 or PEM; ``json.dumps`` would scan it again with
    the GIL held (0.3-0.45 s on the event loop), and even one join of it into a single string
    holds the GIL ~70 ms. Made by ``base64_json``/``pem_json`` in a worker thread for large
    data; base64 needs no escaping at all, PEM only its line breaks."""

    pieces: tuple[str, ...]

    @property
    def escaped(self) -> str:
        """The escaped text in one string."""
        return "".join(self.pieces)

    @property
    def text(self) -> str:
        """The string it stands for (for tests and logs; a reply never needs it)."""
        text: str = json.loads(f'"{self.escaped}"')
        return text


def json_escaped(text: str) -> str:
    """``text`` as ``json.dumps`` (ensure_ascii=False) writes it between the quotes."""
    return _DUMPS(text)[1:-1]


async def base64_json(data: bytes) -> JsonString:
    """``encode_base64`` for a reply, off the loop for large data: the alphabet needs no escape."""
    return JsonString((await encode_base64_off_loop(data),))


# PEM lines per piece of a large pem_json: 16384 lines of 64 characters, about a mebibyte.
_PEM_LINES_PER_PIECE = 1 << 14


def _pem_pieces(label: str, der: bytes, newline: str) -> tuple[str, ...]:
    """``pem(label, der, newline)`` cut after whole lines into pieces of about a mebibyte: each
    piece is joined by itself, so no call holds the GIL for the whole text."""
    body = encode_base64(der)
    step = 64 * _PEM_LINES_PER_PIECE
    pieces = [f"-----BEGIN {label}-----{newline}"]
    for start in range(0, len(body), step):
        block = body[start : start + step]
        lines = [block[i : i + 64] for i in range(0, len(block), 64)]
        pieces.append(newline.join([*lines, ""]))
    pieces.append(f"-----END {label}-----{newline}")
    return tuple(pieces)


async def pem_json(label: str, der: bytes, newline: str = "\n") -> JsonString:
    """``pem`` for a reply, off the loop for large data, its line breaks escaped as JSON writes
    them (escaping is character by character, so escaping the pieces escapes the whole)."""
    label, newline = json_escaped(label), json_escaped(newline)
    if len(der) < LARGE_BINARY:
        return JsonString((pem(label, der, newline),))
    return JsonString(await asyncio.to_thread(_pem_pieces, label, der, newline))


def compact(obj: Any) -> str:
    """One JSON text without spaces, non-ASCII kept (NCALayer writes UTF-8 as is)."""
    pieces = compact_pieces(obj)
    return pieces[0] if len(pieces) == 1 else "".join(pieces)


def compact_pieces(obj: Any) -> list[str]:
    """``compact(obj)`` in pieces: each ``JsonString`` inside is spliced in as it is, byte for
    byte what ``json.dumps`` of its text gives, and never joined into one string here."""
    if not _holds_spliced(obj):
        return [_DUMPS(obj)]
    parts: list[str] = []
    _encode(obj, parts)
    return parts


def _holds_spliced(obj: Any) -> bool:
    if isinstance(obj, JsonString):
        return True
    if isinstance(obj, Mapping):
        return any(_holds_spliced(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_holds_spliced(v) for v in obj)
    return False


def _encode(obj: Any, parts: list[str]) -> None:
    # The envelope around the spliced strings is small: json.dumps does every other value, and
    # the commas and colons are those of separators=(",", ":").
    if isinstance(obj, JsonString):
        parts += ('"', *obj.pieces, '"')
    elif isinstance(obj, Mapping):
        parts.append("{")
        for index, (key, value) in enumerate(obj.items()):
            if not isinstance(key, str):
                raise TypeError(f"a reply's keys are strings, not {type(key).__name__}")
            parts += ("," if index else "", _DUMPS(key), ":")
            _encode(value, parts)
        parts.append("}")
    elif isinstance(obj, (list, tuple)):
        parts.append("[")
        for index, value in enumerate(obj):
            if index:
                parts.append(",")
            _encode(value, parts)
        parts.append("]")
    else:
        parts.append(_DUMPS(obj))


__all__ = [
    "Base64Error",
    "JsonString",
    "base64_json",
    "compact",
    "compact_pieces",
    "decode_base64",
    "decode_base64_off_loop",
    "encode_base64",
    "encode_base64_off_loop",
    "json_escaped",
    "lenient_bool",
    "pem",
    "pem_json",
]
