"""JSON frames in, Python objects out, without freezing the event loop on a 70 MB frame.

A portal signing a 50 MiB file sends one frame of ~70 MB, almost all of it one base64 string.
``json.loads`` holds the GIL for the whole parse (~85 ms here) after the UTF-8 decode (~45 ms),
and every other socket's heartbeat waits behind them. So a large frame is parsed in two steps:

1. a scan (``bytes.find``: memchr speed) cuts out every long string literal and leaves a small
   skeleton with placeholders, which ``json.loads`` parses in microseconds;
2. each long literal becomes a ``str`` by itself: an escape-free literal is plain UTF-8 (ASCII
   for base64, decoded at memory speed); one with escapes goes through ``json.loads``.
The event loop gets a turn between the steps and between literals.

Written by hand because no maintained JSON library parses without holding the GIL or hands
back long strings lazily. The result equals ``json.loads`` of the same frame
(tests/api/test_frames.py checks that with generated documents); anything the scan does not
understand falls back to ``json.loads``, so the scan can only be faster, never different.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from typing import Any

LARGE_FRAME = 1 << 20  # below this, plain json.loads is faster than any cleverness
LONG_LITERAL = 64 << 10  # string literals at least this long are cut out of the skeleton
_DECODE_PIECE = 2 << 20  # ~5 ms of decoding and page faults per turn
_BACKSLASH = 0x5C
_PLACEHOLDER = "\ue000qalam-literal-{}\ue000"  # private-use code points: never in a real frame
_MARK = b"qalam-literal-"  # a frame that already holds it is parsed the plain way


class FrameError(ValueError):
    """The frame is not UTF-8 JSON."""


def _literal_end(frame: bytes | bytearray, start: int) -> int:
    """Index of the quote closing the string literal whose opening quote is at ``start``."""
    at = start
    while True:
        at = frame.find(b'"', at + 1)
        if at < 0:
            raise FrameError("an unterminated string")
        backslashes = 0
        while frame[at - 1 - backslashes] == _BACKSLASH:
            backslashes += 1
        if backslashes % 2 == 0:
            return at


def _cut(frame: bytes | bytearray) -> tuple[bytes, list[tuple[int, int]]]:
    """The skeleton (long literals replaced by numbered placeholders) and the literals' spans."""
    pieces: list[bytes | bytearray] = []
    spans: list[tuple[int, int]] = []
    done = 0
    at = frame.find(b'"')
    while at >= 0:
        end = _literal_end(frame, at)
        if end - at - 1 >= LONG_LITERAL:
            pieces.append(frame[done:at])
            pieces.append(json.dumps(_PLACEHOLDER.format(len(spans))).encode("ascii"))
            spans.append((at + 1, end))
            done = end + 1
        at = frame.find(b'"', end + 1)
    pieces.append(frame[done:])
    return b"".join(pieces), spans


async def _literal(frame: bytes | bytearray, start: int, end: int) -> str:
    if frame.find(b"\\", start, end) >= 0:
        try:
            value = json.loads(frame[start - 1 : end + 1])
        except (ValueError, RecursionError):
            raise FrameError("a malformed string") from None
        if not isinstance(value, str):  # pragma: no cover - a quoted literal is a string
            raise FrameError("a malformed string")
        return value
    # Escape-free: the literal is its UTF-8 bytes. Decoded straight from the frame's buffer in
    # pieces (no 70 MB slice copy), with a turn for the event loop after each piece.
    # The string grows by ``+=``: CPython resizes a str nobody else references in place (realloc,
    # so no copy of what is there), where a final "".join of 70 MB would copy and page-fault
    # for ~45 ms in one call.
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(frame)
    text = ""
    try:
        for at in range(start, end, _DECODE_PIECE):
            text += decoder.decode(view[at : min(at + _DECODE_PIECE, end)])
            await asyncio.sleep(0)
        text += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FrameError("not UTF-8") from None
    finally:
        view.release()
    return text


def _replace(node: Any, literals: dict[str, str]) -> Any:
    if isinstance(node, str):
        return literals.get(node, node)
    if isinstance(node, list):
        return [_replace(item, literals) for item in node]
    if isinstance(node, dict):
        return {literals.get(k, k): _replace(v, literals) for k, v in node.items()}
    return node


def _loads(frame: bytes | bytearray | str) -> Any:
    try:
        return json.loads(frame)
    except (ValueError, RecursionError) as exc:
        raise FrameError(str(exc)) from None


async def parse(frame: bytes | bytearray | str) -> Any:
    """The JSON value of a frame (``FrameError`` if it is not UTF-8 JSON)."""
    if len(frame) < LARGE_FRAME or isinstance(frame, str) or _MARK in frame:
        return _loads(frame)
    try:
        skeleton, spans = _cut(frame)
    except FrameError:
        return _loads(frame)  # let json name the problem
    if not spans:
        return _loads(frame)
    tree = _loads(skeleton)
    await asyncio.sleep(0)
    literals: dict[str, str] = {}
    for number, (start, end) in enumerate(spans):
        literals[_PLACEHOLDER.format(number)] = await _literal(frame, start, end)
    return _replace(tree, literals)


__all__ = ["LARGE_FRAME", "LONG_LITERAL", "FrameError", "parse"]
