"""Re-cut a client's large WebSocket data frames into small fragments before websockets sees them.

websockets (asyncio) unmasks and copies a whole frame in the one ``data_received`` callback that
completes it: for the ~70 MB frame of a 50 MiB signing that held the event loop ~110 ms, and every
other socket's heartbeat waited behind it. RFC 6455 §5.4 lets a message be sent as fragments, so
the byte stream is rewritten here: a large masked data frame becomes fragments of whatever has
arrived (a multiple of 4 bytes, so the client's mask key stays aligned and the payload bytes pass
through untouched), and websockets unmasks each fragment in its own small callback. Everything
else (handshake, control frames, small frames, frames above the size limit, frames with RSV bits,
which websockets must reject itself) passes unchanged.

Written by hand because websockets offers no hook for incremental unmasking; only frame headers
are parsed here, websockets still checks everything else.
"""

from __future__ import annotations

LARGE = 1 << 20  # frames smaller than this pass in one piece: one callback is cheap enough
_FIN = 0x80
_RSV = 0x70
_MASKED = 0x80
_DATA_OPCODES = (0x0, 0x1, 0x2)  # continuation, text, binary


def _header(fin: bool, opcode: int, length: int, mask: bytes) -> bytes:
    first = bytes([(_FIN if fin else 0) | opcode])
    if length < 126:
        size = bytes([_MASKED | length])
    elif length < 1 << 16:
        size = bytes([_MASKED | 126]) + length.to_bytes(2, "big")
    else:
        size = bytes([_MASKED | 127]) + length.to_bytes(8, "big")
    return first + size + mask


def _header_size(head: bytes | bytearray) -> int:
    """Bytes in the frame header starting with ``head`` (at least 2 bytes of it)."""
    code = head[1] & 0x7F
    extra = 2 if code == 126 else 8 if code == 127 else 0
    return 2 + extra + (4 if head[1] & _MASKED else 0)


class Refragmenter:
    """Turns chunks of a client's frame stream into chunks websockets parses in small steps."""

    def __init__(self, limit: int | None, large: int = LARGE) -> None:
        self.limit = limit
        self.large = large
        self._head = bytearray()
        self._left = 0  # payload bytes of the current frame not seen yet
        self._cutting = False  # the current frame is being re-cut
        self._fin = False
        self._opcode = 0
        self._mask = b""
        self._first = True
        self._carry = b""  # < 4 payload bytes waiting for the mask alignment

    def feed(self, data: bytes) -> list[bytes]:
        """The pieces to hand to websockets, in order, for the next ``data`` of the stream."""
        out: list[bytes] = []
        at = 0
        while at < len(data):
            if self._left == 0 and not self._cutting:
                at = self._read_header(data, at, out)
                continue
            take = min(self._left, len(data) - at)
            if self._cutting:
                self._cut(data[at : at + take], out)
            else:
                out.append(data[at : at + take])
                self._left -= take
            at += take
        return out

    def _read_header(self, data: bytes, at: int, out: list[bytes]) -> int:
        need = 2 if len(self._head) < 2 else _header_size(self._head)
        while len(self._head) < need and at < len(data):
            grab = need - len(self._head)
            self._head += data[at : at + grab]
            at += grab
            if len(self._head) == 2:
                need = _header_size(self._head)
        if len(self._head) < need:
            return at  # the header continues in the next chunk
        head = bytes(self._head)
        self._head.clear()
        code = head[1] & 0x7F
        length = code if code < 126 else int.from_bytes(head[2 : 4 if code == 126 else 10], "big")
        opcode = head[0] & 0x0F
        if (
            length >= self.large
            and head[1] & _MASKED
            and not head[0] & _RSV
            and opcode in _DATA_OPCODES
            and (self.limit is None or length <= self.limit)
        ):
            self._cutting, self._left, self._first = True, length, True
            self._fin, self._opcode, self._mask = bool(head[0] & _FIN), opcode, head[-4:]
            return at
        out.append(head)
        self._left = length
        return at

    def _cut(self, payload: bytes, out: list[bytes]) -> None:
        self._left -= len(payload)
        pending = self._carry + payload if self._carry else payload
        last = self._left == 0
        size = len(pending) if last else len(pending) - len(pending) % 4
        self._carry = pending[size:]
        if size or last:
            opcode = self._opcode if self._first else 0x0
            fin = self._fin and last
            out.append(_header(fin, opcode, size, self._mask) + pending[:size])
            self._first = False
        if last:
            self._cutting = False


__all__ = ["LARGE", "Refragmenter"]
