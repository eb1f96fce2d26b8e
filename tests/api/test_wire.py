"""Large base64 is decoded, and large replies encoded, in a worker thread with exactly the answers
of the loop-side codec."""

from __future__ import annotations

import asyncio
import base64
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
    assert asyncio.run(wire.pem_off_loop("CMS", data)) == wire.pem("CMS", data)


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
    asyncio.run(wire.pem_off_loop("CMS", bytes(size)))
    assert [t is not threading.main_thread() for t in threads] == [off_loop, off_loop]
