"""Large frames are parsed in steps, and the result is exactly what json.loads gives."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signer_app.api import frames


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every frame takes the stepwise path, every string of 8+ characters is cut out."""
    monkeypatch.setattr(frames, "LARGE_FRAME", 0)
    monkeypatch.setattr(frames, "LONG_LITERAL", 8)
    monkeypatch.setattr(frames, "_DECODE_PIECE", 5)  # pieces split multi-byte characters


def parse(frame: bytes | str) -> Any:
    return asyncio.run(frames.parse(frame))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_any_document_parses_exactly_as_json_loads_does(value: Any, ascii_only: bool) -> None:
    frame = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    assert parse(frame) == json.loads(frame)


def test_a_signing_request_with_a_long_base64_string() -> None:
    data = "QUJD" * 5000
    frame = json.dumps({"module": "m", "method": "sign", "args": {"data": [data, data]}})
    assert parse(frame.encode()) == json.loads(frame)


def test_long_strings_with_escapes_and_long_keys() -> None:
    value = {'key "with" quotes \\ and more': 'value \\" ends with a backslash \\', "é" * 40: 1}
    frame = json.dumps(value, ensure_ascii=False).encode("utf-8")
    assert parse(frame) == value


@pytest.mark.parametrize(
    "frame",
    [
        b'{"data": "unterminated string',
        b'{"data": "' + "é".encode() * 10 + b'\xff"}',  # not UTF-8 inside a long literal
        b'{"data": "long enough but" trailing garbage}',
        b"\xff\xfe not even text",
        b'{"a": "\\ud800 lone surrogate escape", "b": 1',
    ],
)
def test_bad_frames_are_a_frame_error(frame: bytes) -> None:
    with pytest.raises(frames.FrameError):
        parse(frame)


def test_a_frame_that_already_holds_the_placeholder_text_is_parsed_the_plain_way() -> None:
    value = {"x": "\ue000qalam-literal-0\ue000", "y": "a long string here"}
    assert parse(json.dumps(value).encode()) == value
