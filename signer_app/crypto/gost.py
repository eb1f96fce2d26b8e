"""GOST keys as NCA RK issues them: GOST 34.10-2015 (512) to sign and verify, GOST 34.310-2004
(256) to verify only; Streebog hashing; reading GOST key bags and public keys.

Libraries, and why these:
* Streebog (GOST 34.11-2015 = GOST R 34.11-2012) comes from ``gostcrypto``: the only GOST
  library on PyPI that implements it and the 34.10-2012 curve parameters, with its own
  known-answer tests (pure Python, so slow: see bench/bench_gost.py).
* The curve arithmetic comes from ``ecdsa`` (python-ecdsa, maintained by the tlsfuzzer project,
  Jacobian coordinates with a precomputed generator table, GMP through ``gmpy2`` when present).
  ``gostcrypto``'s own signer does affine double-and-add with a recursive inverse per step and
  is some 50-100 times slower; we use its curve tables, not its arithmetic.
* GOST 34.311-95, the hash of the 2004 family, is gost34311.py's (by hand: GOST R 34.11-94 with
  the test S-box, which no maintained library offers; OpenSSL's md_gost94 is the CryptoPro one).

Written by hand, because they are NCA's own conventions and no library knows them
(shared/KZ_PKI_NOTES.md §2.5, §2.8, verified on NCA's real test files and certificates):
* the private key is a little-endian scalar (64 bytes in an OCTET STRING for 2015; an INTEGER
  for 2004);
* the public key is little-endian x‖y inside an OCTET STRING inside the BIT STRING;
* the digest is read as a little-endian integer;
* the signature value is r‖s, each little-endian (the byte reversal of the s‖r of RFC 7091);
* the algorithm OIDs live under 1.2.398.3.10.
The GOST formulas themselves (r = (kG).x mod q, s = rd + ke mod q; verification with
z1 = s/e, z2 = -r/e) are the few lines of GOST R 34.10-2012 §6 on top of the library's points.

Not constant-time: python-ecdsa says so of itself. That is the same exposure as any pure-Python
signer on a person's own machine; a token (PKCS#11) is the answer where it matters.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography import x509
from ecdsa import ellipticcurve
from gostcrypto import gosthash
from gostcrypto.gostsignature import CURVES_R_1323565_1_024_2019

from . import der
from .algorithms import DigestAlgorithm, KeyAlgorithm
from .der import DerError
from .errors import CorruptKeyStore, UnsupportedAlgorithm

# -- NCA object identifiers (shared/KZ_PKI_NOTES.md §2.5) ------------------------------------

GOST2015_512_KEY_OID = "1.2.398.3.10.1.1.2.2"
GOST2015_512_PARAMS_OID = "1.2.398.3.10.1.1.2.2.1"
GOST2015_256_KEY_OID = "1.2.398.3.10.1.1.2.1"
GOST2004_KEY_OID = "1.2.398.3.10.1.1.1.1"
GOST2015_512_SIGNATURE_OID = "1.2.398.3.10.1.1.2.3.2"
GOST2004_SIGNATURE_OID = "1.2.398.3.10.1.1.1.2"
STREEBOG512_OID = "1.2.398.3.10.1.3.3"


# -- Streebog --------------------------------------------------------------------------------


# Streebog at C speed comes from OpenSSL with the gost-engine project's provider (Debian's
# libengine-gost-openssl: gostprov.so), reached through hashlib once the provider is loaded into
# the libcrypto hashlib uses; about 60 MB/s here against 0.2 MB/s for gostcrypto, which stays the
# fallback where the provider is absent (Windows, macOS). OpenSSL calls the hash md_gost12_*.
_OPENSSL_NAMES = {"streebog512": "md_gost12_512", "streebog256": "md_gost12_256"}
_PROBE = b"qalam streebog backend probe"


def _load_openssl_gost_provider() -> None:
    # ctypes, because Python has no binding for OSSL_PROVIDER_load. "default" is loaded
    # explicitly first: once any provider is loaded by hand, OpenSSL no longer loads it alone.
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("crypto")
    if name is None:
        return
    library = ctypes.CDLL(name)
    library.OSSL_PROVIDER_load.restype = ctypes.c_void_p
    library.OSSL_PROVIDER_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    if library.OSSL_PROVIDER_load(None, b"default"):
        library.OSSL_PROVIDER_load(None, b"gostprov")


def _openssl_streebog_works() -> bool:
    """True when hashlib computes Streebog through OpenSSL and agrees with gostcrypto."""
    for attempt in range(2):
        try:
            for ours, theirs in _OPENSSL_NAMES.items():
                expected = bytes(gosthash.new(ours, data=_PROBE).digest())
                if hashlib.new(theirs, _PROBE).digest() != expected:
                    return False
            return True
        except ValueError:  # unsupported hash type: the provider is not loaded (yet)
            if attempt:
                return False
            try:
                _load_openssl_gost_provider()
            except (OSError, AttributeError):
                return False
    return False  # pragma: no cover - the loop returns


BACKEND = "openssl" if _openssl_streebog_works() else "gostcrypto"


class Streebog:
    """A hashlib-like Streebog object (update/digest): OpenSSL's when available (``BACKEND``),
    else ``gostcrypto``'s."""

    def __init__(self, name: str = "streebog512", data: bytes = b"") -> None:
        if name not in _OPENSSL_NAMES:
            raise ValueError(f"unknown Streebog variant {name!r}")
        self.name = name
        self._hasher: Any = (
            hashlib.new(_OPENSSL_NAMES[name]) if BACKEND == "openssl" else gosthash.new(name)
        )
        if data:
            self.update(data)

    @property
    def digest_size(self) -> int:
        """64 for Streebog-512, 32 for Streebog-256."""
        return 64 if self.name == "streebog512" else 32

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Hash more bytes (gostcrypto takes bytes or bytearray only)."""
        self._hasher.update(data if isinstance(data, bytes | bytearray) else bytes(data))

    def digest(self) -> bytes:
        """The digest so far, in the byte order of GOST R 34.11-2012's examples and OpenSSL."""
        return bytes(self._hasher.digest())


def streebog512(data: bytes) -> bytes:
    """Streebog-512 of ``data`` in one call."""
    return Streebog("streebog512", data).digest()


# -- curves ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GostCurve:
    """A GOST R 34.10 curve in short Weierstrass form, with python-ecdsa points over it."""

    name: str
    p: int
    a: int
    b: int
    q: int
    x: int
    y: int
    size: int  # bytes of a coordinate, a scalar and a digest

    @cached_property
    def _curve(self) -> ellipticcurve.CurveFp:
        return ellipticcurve.CurveFp(self.p, self.a, self.b, 1)

    @cached_property
    def generator(self) -> ellipticcurve.PointJacobi:
        """The base point, with python-ecdsa's precomputed table for k·G."""
        return ellipticcurve.PointJacobi(self._curve, self.x, self.y, 1, self.q, generator=True)

    def point(self, x: int, y: int) -> ellipticcurve.PointJacobi:
        """A public point, checked to lie on the curve."""
        if not self._curve.contains_point(x, y):
            raise ValueError("the point is not on the curve")
        return ellipticcurve.PointJacobi(self._curve, x, y, 1, self.q)

    @classmethod
    def from_params(cls, name: str, params: dict[str, int], size: int) -> GostCurve:
        """A curve from the p, a, b, q, x, y of a parameter table."""
        return cls(
            name, params["p"], params["a"], params["b"], params["q"], params["x"], params["y"], size
        )


# The curves NCA uses, taken from gostcrypto's copy of R 1323565.1.024-2019.
PARAMSET_512_A = GostCurve.from_params(
    "id-tc26-gost-3410-12-512-paramSetA",
    CURVES_R_1323565_1_024_2019["id-tc26-gost-3410-12-512-paramSetA"],
    64,
)
# GOST 34.310-2004 keys lie on CryptoPro-A = tc26 256 paramSetB (KZ_PKI_NOTES §2.5, verified).
PARAMSET_256_B = GostCurve.from_params(
    "id-tc26-gost-3410-2012-256-paramSetB",
    CURVES_R_1323565_1_024_2019["id-tc26-gost-3410-2012-256-paramSetB"],
    32,
)


# -- the signature scheme (GOST R 34.10-2012 §6) on integers ---------------------------------


def public_point(curve: GostCurve, d: int) -> tuple[int, int]:
    """Q = d·G as affine (x, y)."""
    point = curve.generator * d
    return point.x(), point.y()


def _e(curve: GostCurve, digest_value: int) -> int:
    return digest_value % curve.q or 1


def sign_int(curve: GostCurve, d: int, digest_value: int, k: int | None = None) -> tuple[int, int]:
    """(r, s) for digest integer α; ``k`` is fixed only by known-answer tests."""
    if not 0 < d < curve.q:
        raise ValueError("private scalar out of range")
    e = _e(curve, digest_value)
    while True:
        nonce = k if k is not None else secrets.randbelow(curve.q - 1) + 1
        r = (curve.generator * nonce).x() % curve.q
        s = (r * d + nonce * e) % curve.q
        if r and s:
            return r, s
        if k is not None:
            raise ValueError("this k gives r = 0 or s = 0")


def verify_int(
    curve: GostCurve, public: ellipticcurve.PointJacobi, digest_value: int, r: int, s: int
) -> bool:
    """Whether (r, s) signs digest integer α for the public point."""
    if not (0 < r < curve.q and 0 < s < curve.q):
        return False
    v = pow(_e(curve, digest_value), -1, curve.q)
    z1 = s * v % curve.q
    z2 = (curve.q - r) * v % curve.q
    c = curve.generator.mul_add(z1, public, z2)
    if c == ellipticcurve.INFINITY:
        return False
    return bool(c.x() % curve.q == r)


# -- NCA encodings (hand-written: see the module docstring) ----------------------------------


def _le(value: bytes) -> int:
    return int.from_bytes(value, "little")


def encode_signature(r: int, s: int, size: int) -> bytes:
    """NCA's signature value: r‖s, each little-endian."""
    return r.to_bytes(size, "little") + s.to_bytes(size, "little")


def decode_signature(value: bytes, size: int) -> tuple[int, int] | None:
    """(r, s) from NCA's signature value, or None if it has the wrong length."""
    if len(value) != 2 * size:
        return None
    return _le(value[:size]), _le(value[size:])


def encode_public_key(x: int, y: int, size: int) -> bytes:
    """NCA's subjectPublicKey contents: OCTET STRING of x‖y, each little-endian."""
    return der.octet_string(x.to_bytes(size, "little") + y.to_bytes(size, "little"))


# The AlgorithmIdentifier of a GOST 2015-512 key, byte for byte as NCA writes it in certificates
# and in PKCS#8: the key OID with (curve parameters, Streebog-512), no NULL.
_GOST2015_512_ALGORITHM = der.sequence(
    der.oid(GOST2015_512_KEY_OID),
    der.sequence(der.oid(GOST2015_512_PARAMS_OID), der.oid(STREEBOG512_OID)),
)
_BIT_STRING = 0x03


# -- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GostPublicKey:
    """A GOST public key read from a certificate."""

    algorithm: KeyAlgorithm
    curve: GostCurve
    x: int
    y: int

    @cached_property
    def point(self) -> ellipticcurve.PointJacobi:
        """The key as a python-ecdsa point (checked on the curve when made)."""
        return self.curve.point(self.x, self.y)

    @property
    def key_size(self) -> int:
        """Bits: 512 or 256."""
        return self.curve.size * 8

    @property
    def subject_public_key(self) -> bytes:
        """The BIT STRING's contents after its unused-bits octet: NCA's OCTET STRING of x‖y."""
        return encode_public_key(self.x, self.y, self.curve.size)

    def subject_public_key_info(self) -> bytes:
        """The DER SubjectPublicKeyInfo, as in NCA's GOST 2015 certificates (2015-512 only)."""
        if self.algorithm is not KeyAlgorithm.GOST2015:
            raise UnsupportedAlgorithm("GOST 34.310-2004 keys are verify-only", name="GOST 2004")
        bits = der.tlv(_BIT_STRING, b"\x00" + self.subject_public_key)
        return der.sequence(_GOST2015_512_ALGORITHM, bits)

    def key_identifier(self) -> bytes:
        """SHA-1 of the subjectPublicKey (RFC 5280 §4.2.1.2 method 1), as NCA's 2022 CAs make
        the SubjectKeyIdentifier; its hex is the key file's alias and name."""
        return hashlib.sha1(self.subject_public_key, usedforsecurity=False).digest()

    def verify_digest(self, signature: bytes, digest_value: bytes) -> bool:
        """Whether NCA's signature value signs ``digest_value`` (Streebog output bytes)."""
        pair = decode_signature(signature, self.curve.size)
        if pair is None:
            return False
        try:
            point = self.point
        except ValueError:
            return False
        return verify_int(self.curve, point, _le(digest_value), *pair)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether the signature signs ``data``: Streebog-512 for 2015 keys, GOST 34.311-95
        (gost34311.py) for 2004 keys."""
        if self.algorithm is KeyAlgorithm.GOST2004:
            from .gost34311 import gost34311  # pure Python, loaded only for the old family

            return self.verify_digest(signature, gost34311(data))
        return self.verify_digest(signature, streebog512(data))


@dataclass(frozen=True, eq=False)
class GostPrivateKey:
    """A GOST 34.10-2015 (512) private key in memory: a SigningKey (see keystores.py)."""

    d: int = field(repr=False)
    curve: GostCurve = PARAMSET_512_A

    @property
    def algorithm(self) -> KeyAlgorithm:
        """Always GOST 2015: the 2004 family is verify-only."""
        return KeyAlgorithm.GOST2015

    @property
    def key_size(self) -> int:
        """512."""
        return self.curve.size * 8

    @cached_property
    def public_key(self) -> GostPublicKey:
        """d·G, for matching against the certificate."""
        x, y = public_point(self.curve, self.d)
        return GostPublicKey(KeyAlgorithm.GOST2015, self.curve, x, y)

    def to_pkcs8(self) -> bytes:
        """The DER PrivateKeyInfo as NCA's key files hold it: the 64-byte little-endian scalar in
        an OCTET STRING, inside the PKCS#8 OCTET STRING. Secret: encrypt it before it rests."""
        scalar = der.octet_string(self.d.to_bytes(self.curve.size, "little"))
        return der.sequence(der.integer(0), _GOST2015_512_ALGORITHM, der.octet_string(scalar))

    def sign(self, data: bytes, digest: DigestAlgorithm) -> bytes:
        """Streebog-512 of ``data``, signed; NCA's r‖s little-endian encoding."""
        _require_streebog(digest)
        return self.sign_digest(streebog512(data), digest)

    def sign_digest(self, digest_value: bytes, digest: DigestAlgorithm) -> bytes:
        """Sign a Streebog-512 digest computed elsewhere."""
        _require_streebog(digest)
        if len(digest_value) != self.curve.size:
            raise ValueError(f"a Streebog-512 digest has {self.curve.size} bytes")
        r, s = sign_int(self.curve, self.d, _le(digest_value))
        return encode_signature(r, s, self.curve.size)


def generate_private_key() -> GostPrivateKey:
    """A new GOST 34.10-2015 (512, paramSetA) key: a scalar uniform in [1, q-1] from ``secrets``."""
    return GostPrivateKey(secrets.randbelow(PARAMSET_512_A.q - 1) + 1)


def _require_streebog(digest: DigestAlgorithm) -> None:
    if digest is not DigestAlgorithm.STREEBOG512:
        name = f"GOST 34.10-2015 with {digest.hashlib_name}"
        raise UnsupportedAlgorithm(name, name=name)


# -- reading keys out of PKCS#8 and certificates ---------------------------------------------


def _algorithm_and_params(buf: bytes, start: int, stop: int) -> tuple[str, list[str]]:
    """(algorithm OID, OIDs inside the parameters SEQUENCE) of an AlgorithmIdentifier value."""
    fields = der.items(buf, start, stop)
    if not fields or fields[0][0] != der.OID:
        raise DerError("AlgorithmIdentifier without an OID")
    oid = der.oid_dotted(buf[fields[0][2] : fields[0][3]])
    params: list[str] = []
    if len(fields) > 1 and fields[1][0] == der.SEQUENCE:
        params = [
            der.oid_dotted(buf[s:e])
            for tag, _, s, e, _ in der.items(buf, fields[1][2], fields[1][3])
            if tag == der.OID
        ]
    return oid, params


def private_key_from_pkcs8(pkcs8: bytes) -> GostPrivateKey:
    """The GOST 2015-512 key of a decrypted PKCS#8 PrivateKeyInfo from an NCA key file.

    CorruptKeyStore when it is not one; UnsupportedAlgorithm for the GOST families we only verify.
    """
    try:
        start, stop, _ = der.expect(pkcs8, 0, len(pkcs8), der.SEQUENCE)
        fields = der.items(pkcs8, start, stop)
        if len(fields) < 3 or fields[1][0] != der.SEQUENCE or fields[2][0] != der.OCTET_STRING:
            raise DerError("PrivateKeyInfo fields")
        oid, params = _algorithm_and_params(pkcs8, fields[1][2], fields[1][3])
        inner = pkcs8[fields[2][2] : fields[2][3]]
        if oid != GOST2015_512_KEY_OID:
            raise UnsupportedAlgorithm(f"key {oid}", name=GOST_NAMES.get(oid, oid))
        if params[:1] not in ([], [GOST2015_512_PARAMS_OID]):
            raise UnsupportedAlgorithm(f"curve {params[0]}", name=params[0])
        tag, s, e, nxt = der.read(inner, 0, len(inner))
        if tag != der.OCTET_STRING or nxt != len(inner) or e - s != 64:
            raise DerError("the scalar is not a 64-byte OCTET STRING")
        d = _le(inner[s:e])
    except (DerError, IndexError):
        raise CorruptKeyStore("the GOST key inside is damaged") from None
    if not 0 < d < PARAMSET_512_A.q:
        raise CorruptKeyStore("the GOST key inside is out of range")
    return GostPrivateKey(d)


GOST_NAMES = {
    GOST2015_512_KEY_OID: "GOST 34.10-2015 (512)",
    GOST2015_256_KEY_OID: "GOST 34.10-2015 (256)",
    GOST2004_KEY_OID: "GOST 34.310-2004",
}


def public_key_from_certificate(certificate: x509.Certificate) -> GostPublicKey | None:
    """The GOST public key of a certificate; None when its key is not a GOST key we know."""
    try:
        tbs = certificate.tbs_certificate_bytes
        start, stop, _ = der.expect(tbs, 0, len(tbs), der.SEQUENCE)
        fields = der.items(tbs, start, stop)
        index = 1 if fields[0][0] == 0xA0 else 0
        spki = fields[index + 5]
    except (DerError, IndexError, ValueError):
        return None
    return _public_key_in(tbs, spki[2], spki[3])


def public_key_from_spki(spki: bytes) -> GostPublicKey | None:
    """The GOST public key of a DER SubjectPublicKeyInfo (a CSR's); None when it is not one."""
    try:
        start, stop, end = der.expect(spki, 0, len(spki), der.SEQUENCE)
    except (DerError, IndexError):
        return None
    return _public_key_in(spki, start, stop) if end == len(spki) else None


def _public_key_in(buf: bytes, start: int, stop: int) -> GostPublicKey | None:
    """The key of the SubjectPublicKeyInfo whose contents are buf[start:stop]."""
    try:
        algorithm, key = der.items(buf, start, stop)[:2]
        oid, _ = _algorithm_and_params(buf, algorithm[2], algorithm[3])
        if key[0] != 0x03:
            return None
        bits = buf[key[2] + 1 : key[3]]  # skip the unused-bits octet
        tag, s, e, _ = der.read(bits, 0, len(bits))
        if tag != der.OCTET_STRING:
            return None
        raw = bits[s:e]
    except (DerError, IndexError, ValueError):
        return None
    if oid == GOST2015_512_KEY_OID and len(raw) == 128:
        family, curve = KeyAlgorithm.GOST2015, PARAMSET_512_A
    elif oid == GOST2004_KEY_OID and len(raw) == 64:
        family, curve = KeyAlgorithm.GOST2004, PARAMSET_256_B
    else:
        return None
    size = curve.size
    return GostPublicKey(family, curve, _le(raw[:size]), _le(raw[size:]))


def certificate_signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s GOST key signed ``certificate`` (False for any other algorithm)."""
    key = public_key_from_certificate(issuer)
    if key is None or certificate.signature_algorithm_oid.dotted_string != _SIGNATURE_OIDS.get(
        key.algorithm
    ):
        return False
    return key.verify(certificate.signature, certificate.tbs_certificate_bytes)


_SIGNATURE_OIDS = {
    KeyAlgorithm.GOST2015: GOST2015_512_SIGNATURE_OID,
    KeyAlgorithm.GOST2004: GOST2004_SIGNATURE_OID,
}


__all__ = [
    "GOST2004_KEY_OID",
    "GOST2004_SIGNATURE_OID",
    "GOST2015_512_KEY_OID",
    "GOST2015_512_SIGNATURE_OID",
    "GOST_NAMES",
    "PARAMSET_256_B",
    "PARAMSET_512_A",
    "STREEBOG512_OID",
    "GostCurve",
    "GostPrivateKey",
    "GostPublicKey",
    "Streebog",
    "certificate_signed_by",
    "decode_signature",
    "encode_public_key",
    "encode_signature",
    "generate_private_key",
    "private_key_from_pkcs8",
    "public_key_from_certificate",
    "public_key_from_spki",
    "public_point",
    "sign_int",
    "streebog512",
    "verify_int",
]
