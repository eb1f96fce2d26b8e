"""Large base64 is decoded, and large replies encoded, in a worker thread with exactly the answers
of the loop-side codec."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading

import pytest

from signer_app.api import wire

LARGE = "A" * wire.LARGE_BASE64  # a valid prefix that sends the text to the worker thread


@pytest.mark.parametrize("prefix", ["", LARGE])
def test_valid_text_decodes_the_same_on_either_side_of_the_threshold(prefix: str) -> None:
    text = prefix + base64.b64encode(os.urandom(3001)).decode()
    assert asyncio.run(wire.decode_base64_off_loop(text)) == wire.decode_base64(text)


@pytest.mark.parametrize("prefix", ["", LARGE])
@pytest.mark.parametrize(
    ("tail", "java"),
    [
        ("MT*K", "Illegal base64 character 2a"),
        ("MTEKM", "Last unit does not have enough valid bits"),
        ("MTE===", "incorrect ending byte"),
    ],
)
def test_bad_text_gets_javas_message_on_either_side_of_the_threshold(
    prefix: str, tail: str, java: str
) -> None:
    with pytest.raises(wire.Base64Error) as failure:
        asyncio.run(wire.decode_base64_off_loop(prefix + tail))
    assert java in failure.value.java


@pytest.mark.parametrize("size", [100, wire.LARGE_BINARY])
def test_encoding_is_the_same_on_either_side_of_the_threshold(size: int) -> None:
    data = os.urandom(size)
    assert asyncio.run(wire.encode_base64_off_loop(data)) == base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("size", "off_loop"), [(wire.LARGE_BINARY - 1, False), (wire.LARGE_BINARY, True)]
)
def test_large_data_is_encoded_in_a_worker_thread(monkeypatch, size: int, off_loop: bool) -> None:
    threads: list[threading.Thread] = []
    encode = wire.encode_base64

    def recording(data: bytes) -> str:
        threads.append(threading.current_thread())
        return encode(data)

    monkeypatch.setattr(wire, "encode_base64", recording)
    asyncio.run(wire.encode_base64_off_loop(bytes(size)))
    asyncio.run(wire.base64_json(bytes(size)))
    asyncio.run(wire.pem_json("CMS", bytes(size)))
    assert [t is not threading.main_thread() for t in threads] == [off_loop] * 3


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("size", [0, 100, wire.LARGE_BINARY, 3 * wire.LARGE_BINARY + 5])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_spliced_pem_reply_is_byte_for_byte_what_json_dumps_writes(
    size: int, newline: str
) -> None:
    der = os.urandom(size)
    spliced = asyncio.run(wire.pem_json("CMS", der, newline))
    text = wire.pem("CMS", der, newline)
    assert spliced.text == text
    assert max(map(len, spliced.pieces)) < 2 << 20  # never one string of the whole CMS
    envelope = {"status": True, "body": {"result": [spliced, spliced]}, "uuid": 'ü"\\\x00'}
    plain = {"status": True, "body": {"result": [text, text]}, "uuid": 'ü"\\\x00'}
    assert wire.compact(envelope) == _dumps(plain)
    assert "".join(wire.compact_pieces(envelope)) == _dumps(plain)


@pytest.mark.parametrize("size", [0, 100, wire.LARGE_BINARY])
def test_a_spliced_base64_reply_is_byte_for_byte_what_json_dumps_writes(size: int) -> None:
    data = os.urandom(size)
    spliced = asyncio.run(wire.base64_json(data))
    text = base64.b64encode(data).decode()
    envelope = {"code": "200", "responseObject": spliced, "uuid": "Қ-1", "n": [1, 2.5, None]}
    plain = {"code": "200", "responseObject": text, "uuid": "Қ-1", "n": [1, 2.5, None]}
    assert wire.compact(envelope) == _dumps(plain)


def test_a_reply_without_spliced_strings_is_plain_json_dumps() -> None:
    reply = {"status": False, "errorCode": "ӘҒ\n", "details": ["\u2028", {"x": (1, True)}]}
    assert wire.compact(reply) == _dumps(reply)


def test_a_label_or_line_break_that_needs_escaping_is_escaped_like_json_dumps() -> None:
    spliced = asyncio.run(wire.pem_json('A"\\B', b"\x01" * 100, "\t\n"))
    assert wire.compact([spliced]) == _dumps([wire.pem('A"\\B', b"\x01" * 100, "\t\n")])
