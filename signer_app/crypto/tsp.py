"""RFC 3161 time-stamp protocol, client side: build a TimeStampReq, check a TimeStampResp, verify
a TimeStampToken. Pure: bytes in, values or typed errors out; the HTTP exchange lives in
service/tsa_client.py.

What a token must satisfy here (``verify_token`` and ``parse_response``):

* a ContentInfo holding a SignedData whose eContentType is id-ct-TSTInfo, with exactly one
  SignerInfo (RFC 3161 §2.4.2);
* the signer's certificate inside the token (we always send certReq) with the timeStamping EKU,
  critical, and no other purpose (RFC 3161 §2.3); genTime within that certificate's validity;
* the signed attributes contentType = id-ct-TSTInfo, messageDigest = hash of the TSTInfo, and a
  signingCertificate(V2) naming that certificate (RFC 5035, RFC 5816), and a signature over them
  that verifies with the certificate's key;
* the messageImprint (and, for a response, the nonce) equal to what was asked.

Not here: whether the TSA certificate chains to a trusted root and is not revoked. That is
path validation (issue 7, validation.py); a token that passes here proves "this TSA key signed
this time over this hash", not yet "a TSA we trust".

Requests and responses are read with asn1crypto's tsp structures (one per stamp: not hot).
Tokens are read at DER level with der.py: every CAdES-T validation checks its token again, and
through asn1crypto's object model that cost about ten times the TSA's RSA verification. The
signature is checked with publickeys.signature_ok, like every other signature in Qalam.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from . import der
from .algorithms import DigestAlgorithm, KeyAlgorithm, SignatureScheme, scheme_from_cms
from .errors import (
    InvalidInput,
    InvalidTimestamp,
    MalformedTimestamp,
    TsaRefused,
    UnsupportedAlgorithm,
)
from .keystores import hash_for
from .publickeys import key_algorithm_of, public_key_of, signature_ok

ID_CT_TST_INFO = "1.2.840.113549.1.9.16.1.4"

# PKIStatus values (RFC 3161 §2.4.2, RFC 4210) and what they mean in plain words.
STATUS_WORDS = {
    0: "granted",
    1: "granted with modifications",
    2: "rejection",
    3: "waiting (the TSA asks to come back later)",
    4: "revocation warning",
    5: "revocation notification",
}

# PKIFailureInfo bits: (RFC name, plain words).
FAIL_INFO_WORDS = {
    0: ("badAlg", "the hash algorithm is not supported"),
    2: ("badRequest", "the request is not permitted or supported"),
    5: ("badDataFormat", "the request is badly formed"),
    14: ("timeNotAvailable", "the TSA's time source is not available"),
    15: ("unacceptedPolicy", "the requested policy is not offered"),
    16: ("unacceptedExtension", "the requested extension is not supported"),
    17: ("addInfoNotAvailable", "the additional information requested is not available"),
    25: ("systemFailure", "the TSA has a system failure"),
}


# Read-only by convention, not frozen: one is made per signature checked, and a frozen
# dataclass's __init__ costs three times a plain one's (a visible share of a warm validation).
@dataclass(slots=True)
class TimeStampToken:
    """A checked token: its DER (a ContentInfo), when, which serial and policy, signed by whom,
    over which imprint (``digest`` of the stamped data)."""

    der: bytes
    gen_time: datetime
    serial: int
    policy: str
    tsa_certificate: x509.Certificate
    imprint: bytes
    digest: DigestAlgorithm
    nonce: int | None = None


class _Response(asn1_core.Sequence):  # type: ignore[misc]
    """TimeStampResp with timeStampToken OPTIONAL as RFC 3161 has it (asn1crypto: mandatory)."""

    _fields = [
        ("status", asn1_tsp.PKIStatusInfo),
        ("time_stamp_token", asn1_cms.ContentInfo, {"optional": True}),
    ]


# -- requests --------------------------------------------------------------------------------

_TRUE = b"\x01\x01\xff"


def build_query(
    message_imprint_digest: bytes,
    digest: DigestAlgorithm,
    *,
    nonce: int | None,
    cert_req: bool = True,
    policy: str | None = None,
) -> bytes:
    """A DER TimeStampReq v1 over a digest computed elsewhere (RFC 3161 §2.4.1).

    The hash AlgorithmIdentifier carries no parameters (RFC 5754). ``nonce`` should be random
    (the client's defence against a replayed answer); ``cert_req`` asks for the TSA certificate
    in the token, which ``verify_token`` needs.
    """
    if not isinstance(message_imprint_digest, bytes | bytearray):
        raise InvalidInput("imprint is not bytes", reason="the hash to stamp must be bytes")
    if len(message_imprint_digest) != digest.size:
        name = digest.hashlib_name.upper()
        raise InvalidInput(
            f"{len(message_imprint_digest)}-byte {name} imprint",
            reason=f"a {name} hash has {digest.size} bytes",
        )
    if nonce is not None and nonce < 0:
        raise InvalidInput("negative nonce", reason="the nonce must not be negative")
    parts = [
        der.integer(1),
        der.sequence(der.sequence(der.oid(digest.oid)), der.octet_string(message_imprint_digest)),
    ]
    if policy is not None:
        try:
            parts.append(der.oid(policy))
        except der.DerError:
            raise InvalidInput(policy, reason=f"{policy!r} is not an OID") from None
    if nonce is not None:
        parts.append(der.integer(nonce))
    if cert_req:
        parts.append(_TRUE)
    return der.sequence(*parts)


@dataclass(frozen=True, slots=True)
class _Asked:
    digest: DigestAlgorithm
    imprint: bytes
    nonce: int | None
    policy: str | None


def _read_query(query: bytes) -> _Asked:
    try:
        request = asn1_tsp.TimeStampReq.load(bytes(query), strict=True)
        imprint = request["message_imprint"]
        oid = imprint["hash_algorithm"]["algorithm"].dotted
        hashed = imprint["hashed_message"].native
        nonce = request["nonce"].native
        policy = request["req_policy"]
        policy_oid = None if isinstance(policy, asn1_core.Void) else policy.dotted
    except Exception:  # asn1crypto raises many kinds of error; all mean "not a request"
        raise InvalidInput("not a TimeStampReq", reason="the query is not a TimeStampReq") from None
    return _Asked(DigestAlgorithm.from_oid(oid), hashed, nonce, policy_oid)


# -- responses -------------------------------------------------------------------------------


def _fail_info_names(info: Any) -> tuple[tuple[str, str], ...]:
    """(RFC name, plain words) for each failInfo bit set, in bit order."""
    if isinstance(info, asn1_core.Void):
        return ()
    bits = info.native  # a set of asn1crypto names; map back through the bit numbers
    names = asn1_tsp.PKIFailureInfo._map
    out = []
    for bit in sorted(names):
        if names[bit] in bits:
            out.append(FAIL_INFO_WORDS.get(bit, (names[bit], names[bit].replace("_", " "))))
    return tuple(out)


def parse_response(resp_der: bytes, query: bytes) -> TimeStampToken:
    """The token of a TimeStampResp answering ``query`` (the DER we sent), fully checked.

    Status rejection or waiting -> TsaRefused (its reason names the status and the failInfo
    bits in plain words); unreadable bytes -> MalformedTimestamp; a token that does not answer
    this query or does not verify -> InvalidTimestamp.
    """
    try:
        response = _Response.load(bytes(resp_der), strict=True)
        status_info = response["status"]
        status = int(status_info["status"])
    except Exception:  # asn1crypto raises many kinds of error; all mean "not a response"
        raise MalformedTimestamp("not a TimeStampResp", reason="not a TimeStampResp") from None
    if status not in (0, 1):
        raise _refusal(status, status_info)
    asked = _read_query(query)
    token = response["time_stamp_token"]
    if isinstance(token, asn1_core.Void):
        reason = "the TSA granted a timestamp but sent none"
        raise MalformedTimestamp("granted without a token", reason=reason)
    checked = _check_token(token.dump(), asked.digest, asked.imprint)
    if checked.nonce != asked.nonce:
        reason = "the nonce differs from the request's (a replayed or misrouted answer)"
        raise InvalidTimestamp("nonce mismatch", reason=reason)
    if asked.policy is not None and checked.policy != asked.policy:
        reason = f"policy {checked.policy} instead of the requested {asked.policy}"
        raise InvalidTimestamp("policy mismatch", reason=reason)
    return checked


def _refusal(status: int, status_info: Any) -> TsaRefused:
    words = STATUS_WORDS.get(status, f"unknown status {status}")
    try:
        fail = _fail_info_names(status_info["fail_info"])
        texts = status_info["status_string"].native or []
    except Exception:
        fail, texts = (), []
    reason = f"status {words}"
    if fail:
        reason += "; " + "; ".join(f"{plain} ({name})" for name, plain in fail)
    if texts:
        reason += "; the TSA says: " + " ".join(str(t) for t in texts)
    return TsaRefused(
        f"PKIStatus {status}", status=status, fail_info=tuple(n for n, _ in fail), reason=reason
    )


# -- tokens ----------------------------------------------------------------------------------
#
# Read at DER level with der.py, like cms.verify's own signer: a CAdES-T validation checks a
# token every time, and asn1crypto's object model cost about ten times the TSA's RSA verify.
# Only what the checks need is parsed; everything is compared on the bytes as received, and
# what depends on the TSA certificate alone (its key, EKU, hashes) is kept per exact DER.

_ID_SIGNED_DATA = der.oid_content("1.2.840.113549.1.7.2")
_ID_CT_TST_INFO = der.oid_content(ID_CT_TST_INFO)
_SIGNED_DATA_OID_TLV = der.tlv(der.OID, _ID_SIGNED_DATA)
_SIGNED_DATA_HEAD = (der.INTEGER, der.SET, der.SEQUENCE)  # version, digestAlgorithms, encap
_TST_INFO_TLV = der.tlv(der.OID, _ID_CT_TST_INFO)  # the contentType attribute's one value
_ATTR_CONTENT_TYPE = der.oid_content("1.2.840.113549.1.9.3")
_ATTR_MESSAGE_DIGEST = der.oid_content("1.2.840.113549.1.9.4")
_ATTR_SIGNING_CERTIFICATE = der.oid_content("1.2.840.113549.1.9.16.2.12")
_ATTR_SIGNING_CERTIFICATE_V2 = der.oid_content("1.2.840.113549.1.9.16.2.47")
_BOOLEAN = 0x01


@dataclass(frozen=True, slots=True)
class _TstInfo:
    digest_oid: bytes
    hashed: bytes
    policy: str
    serial: int
    gen_time: datetime
    nonce: int | None


@dataclass(slots=True)  # internal, made per token: a frozen init costs twice as much
class _Token:
    buf: bytes  # the token's DER
    tst_bytes: bytes  # the eContent OCTET STRING's value: the TSTInfo DER the TSA hashed
    tst: _TstInfo
    certificates: tuple[bytes, ...]
    signers: tuple[tuple[int, int, int, int, int], ...]  # der.items' view of each SignerInfo


def verify_token(token_der: bytes, imprint_data: bytes) -> TimeStampToken:
    """Check a TimeStampToken over ``imprint_data`` (hashed with the token's own algorithm).

    For a CAdES signature timestamp ``imprint_data`` is the SignerInfo's signature value.
    """
    token = _load_token(token_der)
    digest = _DIGEST_BY_OID.get(token.tst.digest_oid)
    if digest is None:
        reason = "the token's imprint uses an unsupported hash"
        raise InvalidTimestamp("imprint hash", reason=reason)
    data = imprint_data if type(imprint_data) is bytes else bytes(imprint_data)
    return _check_token(token_der, digest, _hash(digest, data), token)


def _hash(digest: DigestAlgorithm, data: bytes) -> bytes:
    # hashlib's named constructors skip hashlib.new()'s lookup (see cms._digest).
    constructor = getattr(hashlib, digest.hashlib_name, None)
    return constructor(data).digest() if constructor else digest.digest(data)


def _load_token(token_der: bytes) -> _Token:
    try:
        return _read_token(bytes(token_der))
    except (der.DerError, IndexError, ValueError):
        reason = "not a SignedData over a TSTInfo"
        raise MalformedTimestamp("not a TimeStampToken", reason=reason) from None


def _read_token(buf: bytes) -> _Token:
    """ContentInfo -> SignedData -> (TSTInfo, certificates, signerInfos) by their positions."""
    read, items = der.read, der.items
    end = len(buf)
    tag, start, stop, after = read(buf, 0, end)
    if tag != der.SEQUENCE or after != end:
        raise der.DerError("not one ContentInfo")
    if buf.startswith(_SIGNED_DATA_OID_TLV, start):
        pos = start + len(_SIGNED_DATA_OID_TLV)
    else:  # a BER length on the OID, or another content type
        oid_start, oid_stop, pos = der.expect(buf, start, stop, der.OID)
        if buf[oid_start:oid_stop] != _ID_SIGNED_DATA:
            raise der.DerError("not signedData")
    tag, explicit_start, explicit_stop, _ = read(buf, pos, stop)
    if tag != 0xA0:
        raise der.DerError("content is not [0]")
    tag, sd_start, sd_stop, _ = read(buf, explicit_start, explicit_stop)
    if tag != der.SEQUENCE:
        raise der.DerError("SignedData is not a SEQUENCE")
    fields = items(buf, sd_start, sd_stop)
    if len(fields) < 4 or (fields[0][0], fields[1][0], fields[2][0]) != _SIGNED_DATA_HEAD:
        raise der.DerError("SignedData fields out of order")
    encap = items(buf, fields[2][2], fields[2][3])
    if len(encap) != 2 or encap[0][0] != der.OID or encap[1][0] != 0xA0:
        raise der.DerError("encapContentInfo without eContent")
    if buf[encap[0][2] : encap[0][3]] != _ID_CT_TST_INFO:
        raise der.DerError("eContentType is not TSTInfo")
    tag, s, e, _ = read(buf, encap[1][2], encap[1][3])
    if tag == der.OCTET_STRING:
        tst_bytes = buf[s:e]
    elif tag == der.OCTET_STRING | der.CONSTRUCTED:
        tst_bytes = der.octets(buf, tag, s, e)
    else:
        raise der.DerError("eContent is not an OCTET STRING")
    certificates: tuple[bytes, ...] = ()
    for tag, _, s, e, _ in fields[3:-1]:
        if tag == 0xA0:
            certificates = tuple(
                buf[head:nxt] for t, head, _, _, nxt in items(buf, s, e) if t == der.SEQUENCE
            )
        elif tag != 0xA1:
            raise der.DerError(f"unexpected SignedData field {tag:#04x}")
    infos = fields[-1]
    if infos[0] != der.SET:
        raise der.DerError("signerInfos is not a SET")
    signers = tuple(items(buf, infos[2], infos[3]))
    return _Token(buf, tst_bytes, _read_tst_info(tst_bytes), certificates, signers)


# TSTInfo's optional fields after genTime, in the order RFC 3161 §2.4.2 has them.
_TST_OPTIONAL = (der.SEQUENCE, _BOOLEAN, der.INTEGER, 0xA0, 0xA1)


@lru_cache(maxsize=256)
def _read_tst_info(tst_bytes: bytes) -> _TstInfo:
    """The fields of a TSTInfo we check or report (cached: a token is read again and again)."""
    start, stop, after = der.expect(tst_bytes, 0, len(tst_bytes), der.SEQUENCE)
    if after != len(tst_bytes):
        raise der.DerError("bytes after the TSTInfo")
    fields = der.items(tst_bytes, start, stop)
    tags = [f[0] for f in fields]
    if tags[:5] != [der.INTEGER, der.OID, der.SEQUENCE, der.INTEGER, der.GENERALIZED_TIME]:
        raise der.DerError("TSTInfo fields out of order")
    rest = iter(_TST_OPTIONAL)
    nonce = None
    for tag, _, s, e, _ in fields[5:]:
        if tag not in rest:  # consumes the iterator: each optional field once, in order
            raise der.DerError(f"unexpected TSTInfo field {tag:#04x}")
        if tag == der.INTEGER:
            nonce = der.integer_value(tst_bytes[s:e])
    if der.integer_value(tst_bytes[fields[0][2] : fields[0][3]]) != 1:
        raise der.DerError("TSTInfo version is not 1")
    imprint = der.items(tst_bytes, fields[2][2], fields[2][3])
    if len(imprint) != 2 or imprint[0][0] != der.SEQUENCE or imprint[1][0] != der.OCTET_STRING:
        raise der.DerError("bad messageImprint")
    algorithm = der.items(tst_bytes, imprint[0][2], imprint[0][3])
    if not algorithm or algorithm[0][0] != der.OID:
        raise der.DerError("bad hashAlgorithm")
    return _TstInfo(
        digest_oid=tst_bytes[algorithm[0][2] : algorithm[0][3]],
        hashed=tst_bytes[imprint[1][2] : imprint[1][3]],
        policy=der.oid_dotted(tst_bytes[fields[1][2] : fields[1][3]]),
        serial=der.integer_value(tst_bytes[fields[3][2] : fields[3][3]]),
        gen_time=der.time_value(der.GENERALIZED_TIME, tst_bytes[fields[4][2] : fields[4][3]]),
        nonce=nonce,
    )


def _check_token(
    token_der: bytes, digest: DigestAlgorithm, imprint: bytes, loaded: _Token | None = None
) -> TimeStampToken:
    token = loaded if loaded is not None else _load_token(token_der)
    tst = token.tst
    if tst.digest_oid != _OID_OF_DIGEST[digest] or tst.hashed != imprint:
        reason = "the token stamps another hash than the one asked for"
        raise InvalidTimestamp("imprint mismatch", reason=reason)
    if len(token.signers) != 1:
        reason = f"a token has one signer, this one has {len(token.signers)}"
        raise MalformedTimestamp("signer count", reason=reason)
    try:
        signer = _read_signer(token.buf, token.signers[0])
    except (der.DerError, IndexError, ValueError):
        reason = "the token's SignerInfo is malformed"
        raise MalformedTimestamp("signer info", reason=reason) from None
    tsa = _signer_certificate(signer, token.certificates)
    _check_tsa_certificate(tsa, tst.gen_time)
    _check_signature(signer, tsa, token.tst_bytes)
    return TimeStampToken(
        der=token_der if type(token_der) is bytes else bytes(token_der),
        gen_time=tst.gen_time,  # der.time_value gives UTC
        serial=tst.serial,
        policy=tst.policy,
        tsa_certificate=tsa.certificate,
        imprint=tst.hashed,
        digest=digest,
        nonce=tst.nonce,
    )


@dataclass(slots=True)  # internal, made per token: a frozen init costs twice as much
class _Signer:
    issuer: bytes | None  # issuerAndSerialNumber, as encoded
    serial: int | None
    ski: bytes | None  # or subjectKeyIdentifier
    digest_oid: bytes
    signed_attrs: bytes | None  # the SET OF Attribute the signature covers, DER
    # type OID content -> values SET content, the first attribute of each type
    attrs: dict[bytes, bytes]
    signature_oid: bytes
    signature: bytes


def _read_signer(buf: bytes, item: tuple[int, int, int, int, int]) -> _Signer:
    """The SignerInfo ``item`` (der.items' view of it) of the token in ``buf``."""
    tag, _, start, stop, _ = item
    if tag != der.SEQUENCE:
        raise der.DerError("SignerInfo is not a SEQUENCE")
    fields = der.items(buf, start, stop)
    if len(fields) < 5 or fields[0][0] != der.INTEGER:
        raise der.DerError("SignerInfo too short")
    sid = fields[1]
    issuer, serial, ski = _signer_id(buf[sid[1] : sid[4]])
    index = 3
    signed_attrs = None
    attrs: dict[bytes, bytes] = {}
    set_of = fields[3]
    if set_of[0] == 0xA0:
        s, e = set_of[2], set_of[3]
        signed_attrs = der.header(der.SET, e - s) + buf[s:e]  # the DER the TSA signed
        read = der.read
        for tag, _, a_start, a_stop, _ in der.items(buf, s, e):
            if tag != der.SEQUENCE:
                raise der.DerError("Attribute is not a SEQUENCE")
            oid_tag, oid_start, oid_stop, pos = read(buf, a_start, a_stop)
            set_tag, values_start, values_stop, after = read(buf, pos, a_stop)
            if oid_tag != der.OID or set_tag != der.SET:
                raise der.DerError("Attribute is not an OID and a SET of values")
            if after != a_stop:
                raise der.DerError("bytes after the attribute values")
            attrs.setdefault(buf[oid_start:oid_stop], buf[values_start:values_stop])
        index = 4
    if len(fields) < index + 2 or fields[index + 1][0] != der.OCTET_STRING:
        raise der.DerError("SignerInfo without signature")
    algorithm, value = fields[index], fields[index + 1]
    return _Signer(
        issuer,
        serial,
        ski,
        der.leading_oid(buf[fields[2][1] : fields[2][4]]),
        signed_attrs,
        attrs,
        der.leading_oid(buf[algorithm[1] : algorithm[4]]),
        buf[value[2] : value[3]],
    )


@lru_cache(maxsize=64)
def _signer_id(encoded: bytes) -> tuple[bytes | None, int | None, bytes | None]:
    """(issuer, serial, subjectKeyIdentifier) of a SignerIdentifier (one TSA's tokens repeat it)."""
    tag, start, stop, _ = der.read(encoded, 0, len(encoded))
    if tag == der.SEQUENCE:
        name, number = der.items(encoded, start, stop)
        if name[0] != der.SEQUENCE or number[0] != der.INTEGER:
            raise der.DerError("bad issuerAndSerialNumber")
        return encoded[name[1] : name[4]], der.integer_value(encoded[number[2] : number[3]]), None
    if tag & ~der.CONSTRUCTED == 0x80:
        return None, None, der.octets(encoded, tag, start, stop)
    raise der.DerError("unknown SignerIdentifier")


class _TsaCert:
    """A certificate carried in a token, with what the checks need, computed once per DER."""

    __slots__ = (
        "certificate",
        "der",
        "is_tsa",
        "issuer",
        "key",
        "key_algorithm",
        "not_after",
        "not_before",
        "serial",
        "ski",
    )

    def __init__(self, cert_der: bytes) -> None:
        self.der = cert_der
        self.certificate = x509.load_der_x509_certificate(cert_der)
        start, stop, _ = der.expect(cert_der, 0, len(cert_der), der.SEQUENCE)
        tbs_start, tbs_stop, _ = der.expect(cert_der, start, stop, der.SEQUENCE)
        fields = der.items(cert_der, tbs_start, tbs_stop)
        index = 1 if fields[0][0] == 0xA0 else 0  # [0] EXPLICIT version, absent for v1
        number, name = fields[index], fields[index + 2]
        self.serial = der.integer_value(cert_der[number[2] : number[3]])
        self.issuer = cert_der[name[1] : name[4]]
        try:
            ext = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            self.ski: bytes | None = ext.value.digest
        except Exception:  # absent, or extensions `cryptography` cannot parse: no SKI to match
            self.ski = None
        self.is_tsa = _time_stamping_only(self.certificate)
        self.not_before = self.certificate.not_valid_before_utc
        self.not_after = self.certificate.not_valid_after_utc
        # A key no branch of publickeys.py knows leaves key_algorithm None: nothing verifies.
        self.key: Any = public_key_of(self.certificate)
        self.key_algorithm: KeyAlgorithm | None = key_algorithm_of(self.key)


@lru_cache(maxsize=64)
def _tsa_cert(cert_der: bytes) -> _TsaCert | None:
    try:
        return _TsaCert(cert_der)
    except Exception:  # any certificate `cryptography` or the reader refuses
        return None


def _signer_certificate(signer: _Signer, certificates: tuple[bytes, ...]) -> _TsaCert:
    for cert_der in certificates:
        cert = _tsa_cert(cert_der)
        if cert is None:
            continue
        if signer.ski is not None:
            if cert.ski == signer.ski:
                return cert
        elif cert.serial == signer.serial and _same_name(cert.issuer, signer.issuer):
            return cert
    reason = "the token does not carry the TSA's certificate"
    raise InvalidTimestamp("no signer certificate", reason=reason)


def _same_name(one: bytes, other: bytes | None) -> bool:
    # Identical bytes are the same name; otherwise RFC 5280's comparison (string preparation,
    # which costs more than the rest of a token check, so only when the bytes differ).
    if other is None:
        return False
    if one == other:
        return True
    try:
        return bool(asn1_x509.Name.load(one) == asn1_x509.Name.load(other))
    except Exception:  # an unreadable name names nobody
        return False


def _time_stamping_only(certificate: x509.Certificate) -> bool:
    """RFC 3161 §2.3: the timeStamping EKU, critical, as the only purpose."""
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except (x509.ExtensionNotFound, ValueError):
        return False
    return eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def _check_tsa_certificate(cert: _TsaCert, gen_time: datetime) -> None:
    if not cert.is_tsa:
        reason = "the signer's certificate is not a time-stamping certificate (critical EKU)"
        raise InvalidTimestamp("TSA EKU", reason=reason)
    if not cert.not_before <= gen_time <= cert.not_after:
        reason = "the time is outside the TSA certificate's validity"
        raise InvalidTimestamp("genTime outside validity", reason=reason)


@lru_cache(maxsize=32)
def _scheme(
    signature_oid: bytes, digest_oid: bytes
) -> tuple[DigestAlgorithm, SignatureScheme, Any]:
    """The digest, the signature scheme and the `cryptography` hash of a token's signer."""
    digest = _DIGEST_BY_OID.get(digest_oid)
    if digest is None:
        raise UnsupportedAlgorithm("TSA digest", name="?")
    try:
        return digest, scheme_from_cms(der.oid_dotted(signature_oid), digest), hash_for(digest)
    except der.DerError:
        raise UnsupportedAlgorithm("malformed signature algorithm OID", name="?") from None


def _check_signature(signer: _Signer, cert: _TsaCert, tst_bytes: bytes) -> None:
    try:
        digest, scheme, hashing = _scheme(signer.signature_oid, signer.digest_oid)
    except UnsupportedAlgorithm:
        reason = "the TSA signed with an unsupported algorithm"
        raise InvalidTimestamp("TSA algorithm", reason=reason) from None
    if signer.signed_attrs is None or not signer.attrs:
        reason = "the token has no signed attributes"
        raise InvalidTimestamp("no signed attributes", reason=reason)
    found = signer.attrs
    try:
        content_type = found.get(_ATTR_CONTENT_TYPE)
        if content_type is None or content_type != _TST_INFO_TLV:
            raise InvalidTimestamp("contentType", reason="the signed content type is not TSTInfo")
        message_digest = found.get(_ATTR_MESSAGE_DIGEST)
        if message_digest is None or _single_octets(message_digest) != _hash(digest, tst_bytes):
            raise InvalidTimestamp("messageDigest", reason="the TSTInfo was altered")
        _check_signing_certificate(found, cert)
    except (der.DerError, IndexError, ValueError):
        reason = "the token's signed attributes are malformed"
        raise MalformedTimestamp("signed attributes", reason=reason) from None
    if cert.key_algorithm is not scheme.key_algorithm or not signature_ok(
        cert.key, scheme.key_algorithm, signer.signature, signer.signed_attrs, hashing
    ):
        raise InvalidTimestamp("bad TSA signature", reason="the TSA's signature does not verify")


def _single_octets(values: bytes) -> bytes:
    """The one OCTET STRING value of an attribute's SET."""
    if len(values) < 0x82 and values[0] == der.OCTET_STRING and values[1] == len(values) - 2:
        return values[2:]  # short and primitive, as every digest is
    tag, start, stop, nxt = der.read(values, 0, len(values))
    if nxt != len(values) or tag & ~der.CONSTRUCTED != der.OCTET_STRING:
        raise der.DerError("not one OCTET STRING")
    return der.octets(values, tag, start, stop)


def _check_signing_certificate(found: dict[bytes, bytes], cert: _TsaCert) -> None:
    """RFC 5816/5035: the first ESSCertID(v2) is the hash of the signer's certificate."""
    problem = _signing_certificate_problem(
        found.get(_ATTR_SIGNING_CERTIFICATE_V2), found.get(_ATTR_SIGNING_CERTIFICATE), cert
    )
    if problem is not None:
        kind, detail, params = problem
        raise kind(detail, **params)


@lru_cache(maxsize=64)
def _signing_certificate_problem(
    v2: bytes | None, v1: bytes | None, cert: _TsaCert
) -> tuple[type[InvalidTimestamp] | type[MalformedTimestamp], str, dict[str, str]] | None:
    """What is wrong with the attribute naming ``cert`` (None: nothing). Cached: the attribute
    is the same in every token of one TSA certificate (it holds that certificate's hash)."""
    try:
        _names_certificate(v2, v1, cert)
    except (InvalidTimestamp, MalformedTimestamp) as error:
        return type(error), error.detail, dict(error.params)
    except (der.DerError, IndexError, ValueError):
        reason = "the token's signed attributes are malformed"
        return MalformedTimestamp, "signed attributes", {"reason": reason}
    return None


def _names_certificate(v2: bytes | None, v1: bytes | None, cert: _TsaCert) -> None:
    if v2 is not None:
        values = v2
    elif v1 is not None:
        values = v1
    else:
        reason = "the token does not name its signer's certificate (signingCertificate)"
        raise InvalidTimestamp("no signingCertificate", reason=reason)
    # SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies ... }
    outer_start, outer_stop, _ = der.expect(values, 0, len(values), der.SEQUENCE)
    ids_start, ids_stop, _ = der.expect(values, outer_start, outer_stop, der.SEQUENCE)
    first_start, first_stop, _ = der.expect(values, ids_start, ids_stop, der.SEQUENCE)
    fields = der.items(values, first_start, first_stop)
    if v2 is not None:
        algorithm = DigestAlgorithm.SHA256  # ESSCertIDv2's DEFAULT hashAlgorithm
        if fields[0][0] == der.SEQUENCE:
            found_digest = _DIGEST_BY_OID.get(der.leading_oid(values[fields[0][1] : fields[0][4]]))
            if found_digest is None:
                reason = "the token names its certificate with an unsupported hash"
                raise InvalidTimestamp("signingCertificate hash", reason=reason)
            algorithm = found_digest
            fields = fields[1:]
        expected = _hash(algorithm, cert.der)
    else:
        expected = hashlib.sha1(cert.der, usedforsecurity=False).digest()
    if fields[0][0] != der.OCTET_STRING:
        raise der.DerError("certHash is not an OCTET STRING")
    if values[fields[0][2] : fields[0][3]] != expected:
        reason = "the token names another certificate than the one that signed it"
        raise InvalidTimestamp("signingCertificate mismatch", reason=reason)


_DIGEST_BY_OID = {der.oid_content(alg.oid): alg for alg in DigestAlgorithm}
_OID_OF_DIGEST = {alg: oid for oid, alg in _DIGEST_BY_OID.items()}


__all__ = [
    "FAIL_INFO_WORDS",
    "ID_CT_TST_INFO",
    "STATUS_WORDS",
    "TimeStampToken",
    "build_query",
    "parse_response",
    "verify_token",
]
