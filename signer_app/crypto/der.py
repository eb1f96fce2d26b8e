"""Hand-built DER for the hot paths of CMS: tag-length-value writers and a small TLV reader.

Why by hand: signing must cost little more than the private-key operation itself, and building a
SignedData out of asn1crypto objects costs several times an RSA-2048 signature (object
construction, validation and re-serialisation dominate). Every CMS we write is a few fixed
fragments (cached per key) plus three that change per signature, so concatenating bytes is both
simpler and about ten times faster. The reader is the mirror image for verification: it only
finds where each element starts and stops, copies nothing it does not have to, and accepts BER
(indefinite lengths, constructed strings) as NCALayer and ``openssl cms -stream`` write it.

Everything here is generic ASN.1; what the elements mean belongs to cms.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

# Universal tags used by CMS (X.690 §8): the identifier octet as written on the wire.
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31
CONSTRUCTED = 0x20

# Deeper nesting than this is not a CMS a person made; it is an attempt to exhaust the stack.
MAX_DEPTH = 64


class DerError(ValueError):
    """Bytes that are not well-formed BER/DER (truncated, bad length, wrong tag).

    The readers index the buffer directly for speed: bytes ending in the middle of a header may
    also raise IndexError, which callers treat the same way.
    """


# -- writing ---------------------------------------------------------------------------------


def header(tag: int, length: int) -> bytes:
    """The identifier and definite-length octets of an element whose value has ``length`` bytes."""
    if length < 0x80:
        return bytes((tag, length))
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big")


def tlv(tag: int, value: bytes) -> bytes:
    """One element: tag, definite length, value."""
    return header(tag, len(value)) + value


def sequence(*parts: bytes) -> bytes:
    """A SEQUENCE of already-encoded elements, in the order given."""
    body = b"".join(parts)
    return header(SEQUENCE, len(body)) + body


def set_of(*parts: bytes) -> bytes:
    """A SET OF already-encoded elements, sorted as DER requires (X.690 §11.6)."""
    body = b"".join(sorted(parts))
    return header(SET, len(body)) + body


def integer(value: int) -> bytes:
    """An INTEGER in minimal two's complement."""
    size = ((value + (value < 0)).bit_length() + 8) // 8
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def octet_string(value: bytes) -> bytes:
    """An OCTET STRING (primitive)."""
    return header(OCTET_STRING, len(value)) + value


def null() -> bytes:
    """The NULL element."""
    return b"\x05\x00"


def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER element from its dotted form."""
    return tlv(OID, oid_content(dotted))


def oid_content(dotted: str) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (what the reader returns for comparison)."""
    try:
        arcs = [int(arc) for arc in dotted.split(".")]
    except ValueError:
        raise DerError(f"not an OID: {dotted!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise DerError(f"not an OID: {dotted!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def time(moment: datetime) -> bytes:
    """UTCTime for 1950-2049 and GeneralizedTime otherwise (RFC 5280/5652), whole seconds, Z."""
    utc = moment.astimezone(UTC)
    stamp = f"{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}{utc.second:02d}Z"
    if 1950 <= utc.year < 2050:
        return bytes((UTC_TIME, 13)) + f"{utc.year % 100:02d}{stamp}".encode("ascii")
    return bytes((GENERALIZED_TIME, 15)) + f"{utc.year:04d}{stamp}".encode("ascii")


# -- reading ---------------------------------------------------------------------------------


def read(buf: bytes, pos: int, end: int) -> tuple[int, int, int, int]:
    """The element at ``pos``: (first identifier octet, value start, value stop, next position).

    For an indefinite length the value stops at its end-of-contents octets and the next element
    starts after them. High tag numbers are skipped over; the identifier returned is then the
    first octet (0x1F in its low bits), which never equals a low tag number.
    """
    # Fast path (most elements of a CMS): low tag number, short definite length. An element
    # running past ``end`` fails the bounds check whatever the bytes beyond it are.
    tag = buf[pos]
    n = buf[pos + 1]
    if tag & 0x1F != 0x1F:
        if n < 0x80:
            start = pos + 2
            stop = start + n
        elif n == 0x81:
            start = pos + 3
            stop = start + buf[pos + 2]
        elif n == 0x82:
            start = pos + 4
            stop = start + (buf[pos + 2] << 8 | buf[pos + 3])
        else:
            return _read_long(buf, pos, end)
        if stop > end:
            raise DerError("truncated value")
        return tag, start, stop, stop
    return _read_long(buf, pos, end)


def _read_long(buf: bytes, pos: int, end: int) -> tuple[int, int, int, int]:
    if pos + 2 > end:
        raise DerError("truncated element")
    tag = buf[pos]
    p = pos + 1
    if tag & 0x1F == 0x1F:
        while p < end and buf[p] & 0x80:
            p += 1
        p += 1
        if p >= end:
            raise DerError("truncated tag")
    n = buf[p]
    p += 1
    if n < 0x80:
        stop = p + n
    elif n == 0x80:
        if not tag & CONSTRUCTED:
            raise DerError("indefinite length on a primitive element")
        stop = _end_of_contents(buf, p, end, 1)
        return tag, p, stop, stop + 2
    else:
        size = n & 0x7F
        if size > 8 or p + size > end:
            raise DerError("bad length")
        stop = p + size + int.from_bytes(buf[p : p + size], "big")
        p += size
    if stop > end:
        raise DerError("truncated value")
    return tag, p, stop, stop


def _end_of_contents(buf: bytes, pos: int, end: int, depth: int) -> int:
    """Where the end-of-contents octets of an indefinite-length value starting at ``pos`` are."""
    if depth > MAX_DEPTH:
        raise DerError("nested too deeply")
    while True:
        if pos + 2 > end:
            raise DerError("missing end-of-contents")
        if buf[pos] == 0 and buf[pos + 1] == 0:
            return pos
        tag = buf[pos]
        p = pos + 1
        if tag & 0x1F == 0x1F:
            while p < end and buf[p] & 0x80:
                p += 1
            p += 1
        if p >= end:
            raise DerError("truncated element")
        n = buf[p]
        if n == 0x80:
            if not tag & CONSTRUCTED:
                raise DerError("indefinite length on a primitive element")
            pos = _end_of_contents(buf, p + 1, end, depth + 1) + 2
        else:
            _, _, _, pos = read(buf, pos, end)


def items(buf: bytes, start: int, stop: int) -> list[tuple[int, int, int, int, int]]:
    """The elements inside a constructed value: (tag, head, value start, value stop, next).

    ``buf[head:next]`` is the element's whole encoding, as it was received.
    """
    out = []
    pos = start
    while pos < stop:
        tag = buf[pos]
        n = buf[pos + 1]
        if n < 0x80 and tag & 0x1F != 0x1F:  # the fast paths of read(), inlined
            nxt = pos + 2 + n
            if nxt > stop:
                raise DerError("truncated value")
            out.append((tag, pos, pos + 2, nxt, nxt))
        elif n == 0x82 and tag & 0x1F != 0x1F:
            nxt = pos + 4 + (buf[pos + 2] << 8 | buf[pos + 3])
            if nxt > stop:
                raise DerError("truncated value")
            out.append((tag, pos, pos + 4, nxt, nxt))
        elif n == 0x81 and tag & 0x1F != 0x1F:
            nxt = pos + 3 + buf[pos + 2]
            if nxt > stop:
                raise DerError("truncated value")
            out.append((tag, pos, pos + 3, nxt, nxt))
        else:
            tag, s, e, nxt = read(buf, pos, stop)
            out.append((tag, pos, s, e, nxt))
        pos = nxt
    return out


def expect(buf: bytes, pos: int, end: int, tag: int) -> tuple[int, int, int]:
    """Read the element at ``pos`` and insist on its tag: (value start, value stop, next)."""
    got, start, stop, nxt = read(buf, pos, end)
    if got != tag:
        raise DerError(f"expected tag {tag:#04x}, found {got:#04x}")
    return start, stop, nxt


def octets(buf: bytes, tag: int, start: int, stop: int, depth: int = 0) -> bytes:
    """The bytes of an OCTET STRING-like value, primitive or BER-constructed from segments."""
    if not tag & CONSTRUCTED:
        return buf[start:stop]
    if depth > MAX_DEPTH:
        raise DerError("nested too deeply")
    return b"".join(
        octets(buf, sub, s, e, depth + 1) for sub, _, s, e, _ in items(buf, start, stop)
    )


@lru_cache(maxsize=64)
def leading_oid(encoded: bytes) -> bytes:
    """The content octets of the OID that opens a SEQUENCE: an AlgorithmIdentifier's algorithm
    (its parameters are not looked at). Cached: the same few algorithms come again and again."""
    start, stop, _ = expect(encoded, 0, len(encoded), SEQUENCE)
    oid_start, oid_stop, _ = expect(encoded, start, stop, OID)
    return encoded[oid_start:oid_stop]


def integer_value(content: bytes) -> int:
    """The value of INTEGER content octets."""
    if not content:
        raise DerError("empty INTEGER")
    return int.from_bytes(content, "big", signed=True)


def oid_dotted(content: bytes) -> str:
    """The dotted form of OBJECT IDENTIFIER content octets."""
    if not content or content[-1] & 0x80:
        raise DerError("bad OID")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])


def time_value(tag: int, content: bytes) -> datetime:
    """A UTCTime or GeneralizedTime value as an aware datetime in UTC.

    Accepts the DER forms and the common BER variants: without seconds, with fractional
    seconds, with a +hhmm/-hhmm offset instead of Z.
    """
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError:
        raise DerError("time is not ASCII") from None
    if tag == UTC_TIME:
        if len(text) < 10 or not text[:2].isdigit():
            raise DerError("bad UTCTime")
        yy = int(text[:2])
        text = f"{1900 + yy if yy >= 50 else 2000 + yy}{text[2:]}"
    elif tag != GENERALIZED_TIME:
        raise DerError("not a time")
    offset: timedelta | None = None
    if text.endswith("Z"):
        text = text[:-1]
    elif len(text) > 5 and text[-5] in "+-":
        sign = 1 if text[-5] == "+" else -1
        if not text[-4:].isdigit():
            raise DerError("bad time offset")
        offset = sign * timedelta(hours=int(text[-4:-2]), minutes=int(text[-2:]))
        text = text[:-5]
    fraction = 0
    if "." in text or "," in text:
        text, _, frac = text.replace(",", ".").partition(".")
        if not frac.isdigit():
            raise DerError("bad fractional seconds")
        fraction = int(frac[:6].ljust(6, "0"))
    if not text.isdigit() or len(text) not in (12, 14):
        raise DerError("bad time")
    try:
        moment = datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14] or 0),
            fraction,
            tzinfo=UTC if offset is None else timezone(offset),
        )
    except ValueError:
        raise DerError("time out of range") from None
    return moment if offset is None else moment.astimezone(UTC)


__all__ = [
    "CONSTRUCTED",
    "GENERALIZED_TIME",
    "INTEGER",
    "MAX_DEPTH",
    "NULL",
    "OCTET_STRING",
    "OID",
    "SEQUENCE",
    "SET",
    "UTC_TIME",
    "DerError",
    "expect",
    "header",
    "integer",
    "integer_value",
    "items",
    "leading_oid",
    "null",
    "octet_string",
    "octets",
    "oid",
    "oid_content",
    "oid_dotted",
    "read",
    "sequence",
    "set_of",
    "time",
    "time_value",
]
