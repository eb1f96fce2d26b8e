"""GOST 34.311-95, the hash of NCA's GOST 34.310-2004 signatures: GOST R 34.11-94 with the
*test* S-box (the one the standard's own appendix uses; RFC 5831 §7.3.1's examples).

Why by hand: no maintained library computes it. OpenSSL's gost provider offers GOST R 34.11-94
only as ``md_gost94`` with the CryptoPro S-box of RFC 4357, and NCA's hash is not that one:
checked on NCA's real test time-stamp token (its messageDigest equals this hash of the TSTInfo,
not md_gost94's) and on its GOST 2004 OCSP response and TSA signatures, which verify over this
hash and over no other (tests/crypto/test_gost34311.py). ``gostcrypto`` has only Streebog.

Pure Python and verify-only here (NCA has issued no GOST 2004 key since 2024), so speed is a
non-goal: about 1 ms per 32-byte block, enough for the few kilobytes of an OCSP answer, a
certificate or a CMS's signed attributes. The same code with the CryptoPro S-box gives
OpenSSL's md_gost94 byte for byte, which the tests use to check the construction itself.

Byte order: a message and every 256-bit value are little-endian byte strings (the first byte is
the least significant), as the standard's examples and OpenSSL print them.
"""

from __future__ import annotations

SBox = tuple[tuple[int, ...], ...]

# GOST R 34.11-94 appendix A test parameters (RFC 5831 §7.3.1); row i serves nibble i from the
# least significant end of the 32-bit word.
TEST_SBOX: SBox = (
    (4, 10, 9, 2, 13, 8, 0, 14, 6, 11, 1, 12, 7, 15, 5, 3),
    (14, 11, 4, 12, 6, 13, 15, 10, 2, 3, 8, 1, 0, 7, 5, 9),
    (5, 8, 1, 13, 10, 3, 4, 2, 14, 15, 12, 7, 6, 0, 9, 11),
    (7, 13, 10, 1, 0, 8, 9, 15, 14, 4, 6, 12, 11, 2, 5, 3),
    (6, 12, 7, 1, 5, 15, 13, 8, 4, 10, 9, 14, 0, 3, 11, 2),
    (4, 11, 10, 0, 7, 2, 1, 13, 3, 6, 8, 5, 9, 12, 15, 14),
    (13, 11, 4, 1, 3, 15, 5, 9, 0, 10, 14, 7, 6, 8, 2, 12),
    (1, 15, 13, 0, 5, 7, 10, 4, 9, 2, 3, 14, 6, 11, 8, 12),
)
# id-GostR3411-94-CryptoProParamSet (RFC 4357 §11.2): OpenSSL's md_gost94, for the tests.
CRYPTOPRO_SBOX: SBox = (
    (10, 4, 5, 6, 8, 1, 3, 7, 13, 12, 14, 0, 9, 2, 11, 15),
    (5, 15, 4, 0, 2, 13, 11, 9, 1, 7, 6, 3, 12, 14, 10, 8),
    (7, 15, 12, 14, 9, 4, 1, 0, 3, 11, 5, 2, 6, 10, 8, 13),
    (4, 10, 7, 12, 0, 15, 2, 8, 14, 1, 6, 5, 13, 11, 9, 3),
    (7, 6, 4, 11, 9, 12, 2, 10, 1, 8, 0, 14, 15, 13, 3, 5),
    (7, 6, 2, 4, 13, 9, 15, 0, 10, 1, 5, 11, 8, 14, 12, 3),
    (13, 14, 4, 1, 7, 0, 5, 10, 3, 12, 8, 15, 6, 2, 9, 11),
    (1, 3, 10, 9, 5, 11, 4, 15, 8, 6, 7, 14, 13, 0, 2, 12),
)

_MASK32 = 0xFFFFFFFF
_BLOCK = 32
_ZERO = bytes(_BLOCK)
# The key-generation constant C3 (C2 = C4 = 0), as a little-endian byte string.
_C3 = (0xFF00FFFF000000FFFF0000FF00FFFF0000FF00FF00FF00FFFF00FF00FF00FF00).to_bytes(
    _BLOCK, "little"
)
_PERMUTATION = tuple(8 * (t % 4) + t // 4 for t in range(_BLOCK))  # P: φ(i + 1 + 4(k-1)) = 8i + k


def _byte_tables(sbox: SBox) -> tuple[tuple[int, ...], ...]:
    """Four 256-entry tables, each substituting a whole byte (two S-box rows) at once."""
    return tuple(
        tuple(sbox[2 * j][b & 15] | sbox[2 * j + 1][b >> 4] << 4 for b in range(256))
        for j in range(4)
    )


def _encrypt(tables: tuple[tuple[int, ...], ...], key: bytes, block: bytes) -> bytes:
    """GOST 28147-89 in simple-substitution mode: one 64-bit block, 32 rounds."""
    words = [int.from_bytes(key[4 * i : 4 * i + 4], "little") for i in range(8)]
    n1 = int.from_bytes(block[:4], "little")
    n2 = int.from_bytes(block[4:], "little")
    t0, t1, t2, t3 = tables
    for k in (*words, *words, *words, *reversed(words)):
        x = (n1 + k) & _MASK32
        y = t0[x & 255] | t1[x >> 8 & 255] << 8 | t2[x >> 16 & 255] << 16 | t3[x >> 24] << 24
        n1, n2 = n2 ^ ((y << 11 | y >> 21) & _MASK32), n1
    return n2.to_bytes(4, "little") + n1.to_bytes(4, "little")


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(_BLOCK, "little")


def _a(y: bytes) -> bytes:
    """A(y4‖y3‖y2‖y1) = (y1 ⊕ y2)‖y4‖y3‖y2, over 64-bit words."""
    return y[8:] + bytes(p ^ q for p, q in zip(y[:8], y[8:16], strict=True))


def _p(y: bytes) -> bytes:
    return bytes(y[i] for i in _PERMUTATION)


def _psi(y: bytes) -> bytes:
    """ψ(y16‖…‖y1) = (y1 ⊕ y2 ⊕ y3 ⊕ y4 ⊕ y13 ⊕ y16)‖y16‖…‖y2, over 16-bit words."""
    top = (
        int.from_bytes(y[0:2], "little")
        ^ int.from_bytes(y[2:4], "little")
        ^ int.from_bytes(y[4:6], "little")
        ^ int.from_bytes(y[6:8], "little")
        ^ int.from_bytes(y[24:26], "little")
        ^ int.from_bytes(y[30:32], "little")
    )
    return y[2:] + top.to_bytes(2, "little")


def _step(tables: tuple[tuple[int, ...], ...], h: bytes, m: bytes) -> bytes:
    """The step function χ(M, H) of GOST R 34.11-94 §7."""
    u, v = h, m
    keys = [_p(_xor(u, v))]
    for constant in (_ZERO, _C3, _ZERO):
        u = _xor(_a(u), constant)
        v = _a(_a(v))
        keys.append(_p(_xor(u, v)))
    s = b"".join(_encrypt(tables, keys[i], h[8 * i : 8 * i + 8]) for i in range(4))
    for _ in range(12):
        s = _psi(s)
    s = _xor(h, _psi(_xor(m, s)))
    for _ in range(61):
        s = _psi(s)
    return s


def gost_r_34_11_94(data: bytes, sbox: SBox = TEST_SBOX) -> bytes:
    """The 32-byte GOST R 34.11-94 hash of ``data`` with ``sbox`` (start vector zero).

    An empty message is hashed as one zero block, as the standard (and OpenSSL) do.
    """
    tables = _byte_tables(sbox)
    h, checksum, n = _ZERO, 0, len(data)
    whole = n - n % _BLOCK
    blocks = [data[i : i + _BLOCK] for i in range(0, whole, _BLOCK)]
    if n % _BLOCK or n == 0:
        blocks.append(data[whole:].ljust(_BLOCK, b"\x00"))
    for block in blocks:
        h = _step(tables, h, block)
        checksum += int.from_bytes(block, "little")
    h = _step(tables, h, (8 * n).to_bytes(_BLOCK, "little"))
    return _step(tables, h, (checksum % (1 << 256)).to_bytes(_BLOCK, "little"))


def gost34311(data: bytes) -> bytes:
    """NCA's GOST 34.311-95 hash (OID 1.2.398.3.10.1.3.1) of ``data``."""
    return gost_r_34_11_94(data, TEST_SBOX)


class Gost34311:
    """A hashlib-like GOST 34.311-95 object for the streaming interfaces (algorithms.py).

    It keeps what it is given and hashes at ``digest()``: only signed attributes, certificates
    and small documents are ever verified with this verify-only family.
    """

    name = "gost34311"
    digest_size = 32

    def __init__(self, data: bytes = b"") -> None:
        self._parts = [bytes(data)]

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Add ``data``."""
        self._parts.append(bytes(data))

    def digest(self) -> bytes:
        """The hash of everything given so far."""
        return gost34311(b"".join(self._parts))


__all__ = ["CRYPTOPRO_SBOX", "TEST_SBOX", "Gost34311", "gost34311", "gost_r_34_11_94"]
