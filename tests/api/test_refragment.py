"""Large client frames are re-cut into fragments; websockets reads the same messages from them."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Frame, Opcode
from websockets.protocol import SERVER, Protocol

from signer_app.api.refragment import Refragmenter

LARGE = 16  # frames of 16+ payload bytes are re-cut in these tests


def client_frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=True)


def feed(stream: bytes, cuts: list[int], limit: int | None = None) -> tuple[Protocol, list[Frame]]:
    """``stream`` in chunks ending at ``cuts``, through the re-cutter into a server protocol."""
    protocol = Protocol(SERVER, max_size=limit)
    cutter = Refragmenter(limit, large=LARGE)
    start = 0
    for end in [*sorted(set(cuts)), len(stream)]:
        for piece in cutter.feed(stream[start:end]):
            protocol.receive_data(piece)
        start = max(start, end)
    return protocol, [e for e in protocol.events_received() if isinstance(e, Frame)]


def messages(frames: list[Frame]) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    opcode, parts = 0, b""
    for frame in frames:
        if frame.opcode is Opcode.PING:
            out.append((frame.opcode.value, bytes(frame.data)))
            continue
        if frame.opcode is not Opcode.CONT:
            opcode, parts = frame.opcode.value, b""
        parts += bytes(frame.data)
        if frame.fin:
            out.append((opcode, parts))
    return out


payloads = st.lists(
    st.tuples(st.sampled_from([Opcode.TEXT, Opcode.BINARY, Opcode.PING]), st.binary(max_size=300)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(payloads, st.lists(st.integers(min_value=0, max_value=3000), max_size=40), st.booleans())
def test_any_stream_in_any_chunks_gives_the_same_messages(
    sent: list[tuple[Opcode, bytes]], cuts: list[int], split_by_client: bool
) -> None:
    stream = b""
    expected = []
    for opcode, data in sent:
        if opcode is Opcode.PING:
            data = data[:125]
            stream += client_frame(Opcode.PING, data)
        elif split_by_client and len(data) > 1:
            half = len(data) // 2
            stream += client_frame(opcode, data[:half], fin=False)
            stream += client_frame(Opcode.CONT, data[half:])
        else:
            stream += client_frame(opcode, data)
        expected.append((opcode.value, data))
    protocol, frames = feed(stream, cuts)
    assert protocol.parser_exc is None
    assert messages(frames) == expected


def test_a_large_frame_reaches_websockets_as_fragments_of_what_arrived() -> None:
    data = os.urandom(1000)
    stream = client_frame(Opcode.TEXT, data)
    _, frames = feed(stream, list(range(0, len(stream), 100)))
    assert len(frames) > 5
    assert all(len(f.data) <= 100 for f in frames)
    assert [f.fin for f in frames] == [False] * (len(frames) - 1) + [True]
    assert frames[0].opcode is Opcode.TEXT
    assert {f.opcode for f in frames[1:]} == {Opcode.CONT}
    assert b"".join(bytes(f.data) for f in frames) == data


def test_a_frame_above_the_limit_is_refused_by_websockets_as_before() -> None:
    protocol, frames = feed(client_frame(Opcode.TEXT, b"x" * 100), [3, 50], limit=64)
    assert frames == []
    assert isinstance(protocol.parser_exc, PayloadTooBig)


def test_a_frame_with_rsv_bits_passes_unchanged_and_is_refused() -> None:
    frame = bytearray(client_frame(Opcode.TEXT, b"x" * 100))
    frame[0] |= 0x40  # RSV1: no extension was negotiated
    protocol, _ = feed(bytes(frame), [10])
    assert isinstance(protocol.parser_exc, ProtocolError)
