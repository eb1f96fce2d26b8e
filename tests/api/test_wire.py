"""Large base64 is decoded in a worker thread with exactly the answers of the loop-side decoder."""

from __future__ import annotations

import asyncio
import base64
import os

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
