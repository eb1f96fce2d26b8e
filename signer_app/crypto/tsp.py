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

Parsing uses asn1crypto's tsp/cms structures (tokens are few and small: nothing here is hot);
the signature is checked with publickeys.signature_ok, like every other signature in Qalam.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from . import der
from .algorithms import DigestAlgorithm, scheme_from_cms
from .errors import (
    InvalidInput,
    InvalidTimestamp,
    MalformedTimestamp,
    QalamError,
    TsaRefused,
    UnsupportedAlgorithm,
)
from .keystores import hash_for
from .publickeys import key_algorithm_of, signature_ok

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


@dataclass(frozen=True, slots=True)
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


def verify_token(token_der: bytes, imprint_data: bytes) -> TimeStampToken:
    """Check a TimeStampToken over ``imprint_data`` (hashed with the token's own algorithm).

    For a CAdES signature timestamp ``imprint_data`` is the SignerInfo's signature value.
    """
    token = _load_token(token_der)
    digest = _token_digest(token)
    return _check_token(token_der, digest, digest.digest(bytes(imprint_data)), token)


def _load_token(token_der: bytes) -> Any:
    try:
        info = asn1_cms.ContentInfo.load(bytes(token_der), strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != ID_CT_TST_INFO:
            raise ValueError
        tst = encap["content"].parsed
        tst.native  # noqa: B018 - forces the lazy parse here, inside the try
        return info
    except Exception:
        reason = "not a SignedData over a TSTInfo"
        raise MalformedTimestamp("not a TimeStampToken", reason=reason) from None


def _token_digest(token: Any) -> DigestAlgorithm:
    oid = token["content"]["encap_content_info"]["content"].parsed["message_imprint"]
    try:
        return DigestAlgorithm.from_oid(oid["hash_algorithm"]["algorithm"].dotted)
    except UnsupportedAlgorithm:
        reason = "the token's imprint uses an unsupported hash"
        raise InvalidTimestamp("imprint hash", reason=reason) from None


def _check_token(
    token_der: bytes, digest: DigestAlgorithm, imprint: bytes, loaded: Any = None
) -> TimeStampToken:
    token = loaded if loaded is not None else _load_token(token_der)
    signed = token["content"]
    encap = signed["encap_content_info"]
    tst_bytes = encap["content"].contents  # the OCTET STRING's value: the TSTInfo DER
    tst = encap["content"].parsed
    try:
        imprint_alg = tst["message_imprint"]["hash_algorithm"]["algorithm"].dotted
        hashed = tst["message_imprint"]["hashed_message"].native
        gen_time = tst["gen_time"].native
        serial = int(tst["serial_number"].native)
        policy = tst["policy"].dotted
        nonce = tst["nonce"].native
        signer_infos = signed["signer_infos"]
        # Each certificate's DER taken before any field is read: asn1crypto marks a structure
        # holding an AlgorithmIdentifier as changed once parsed, and dump() then re-encodes it
        # (slow, and not the bytes that were signed).
        certificates = [
            (c.chosen, c.chosen.dump())
            for c in signed["certificates"] or []
            if c.name == "certificate"
        ]
    except Exception:
        raise MalformedTimestamp("bad TSTInfo", reason="the TSTInfo is malformed") from None
    if imprint_alg != digest.oid or hashed != imprint:
        reason = "the token stamps another hash than the one asked for"
        raise InvalidTimestamp("imprint mismatch", reason=reason)
    if len(signer_infos) != 1:
        reason = f"a token has one signer, this one has {len(signer_infos)}"
        raise MalformedTimestamp("signer count", reason=reason)
    signer = signer_infos[0]
    certificate = _signer_certificate(signer, certificates)
    _check_tsa_certificate(certificate, gen_time)
    _check_signature(signer, certificate, tst_bytes)
    return TimeStampToken(
        der=bytes(token_der),
        gen_time=gen_time.astimezone(UTC),
        serial=serial,
        policy=policy,
        tsa_certificate=certificate,
        imprint=hashed,
        digest=digest,
        nonce=nonce,
    )


def _signer_certificate(signer: Any, certificates: list[tuple[Any, bytes]]) -> x509.Certificate:
    sid = signer["sid"]
    for cert, cert_der in certificates:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if cert.serial_number == wanted["serial_number"].native and _same_name(
                cert.issuer, wanted["issuer"]
            ):
                return x509.load_der_x509_certificate(cert_der)
        elif cert.key_identifier == sid.chosen.native:
            return x509.load_der_x509_certificate(cert_der)
    reason = "the token does not carry the TSA's certificate"
    raise InvalidTimestamp("no signer certificate", reason=reason)


def _same_name(one: Any, other: Any) -> bool:
    # Identical bytes are the same name; otherwise RFC 5280's comparison (string preparation,
    # which costs more than the rest of a token check).
    return bool(one.dump() == other.dump() or one == other)


def _check_tsa_certificate(certificate: x509.Certificate, gen_time: datetime) -> None:
    """RFC 3161 §2.3: the timeStamping EKU, critical, as the only purpose."""
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except (x509.ExtensionNotFound, ValueError):
        eku = None
    if eku is None or not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        reason = "the signer's certificate is not a time-stamping certificate (critical EKU)"
        raise InvalidTimestamp("TSA EKU", reason=reason)
    when = gen_time.astimezone(UTC)
    if not certificate.not_valid_before_utc <= when <= certificate.not_valid_after_utc:
        reason = "the time is outside the TSA certificate's validity"
        raise InvalidTimestamp("genTime outside validity", reason=reason)


def _check_signature(signer: Any, certificate: x509.Certificate, tst_bytes: bytes) -> None:
    try:
        digest = DigestAlgorithm.from_oid(signer["digest_algorithm"]["algorithm"].dotted)
        scheme = scheme_from_cms(signer["signature_algorithm"]["algorithm"].dotted, digest)
    except UnsupportedAlgorithm:
        reason = "the TSA signed with an unsupported algorithm"
        raise InvalidTimestamp("TSA algorithm", reason=reason) from None
    attrs = signer["signed_attrs"]
    if isinstance(attrs, asn1_core.Void) or not len(attrs):
        reason = "the token has no signed attributes"
        raise InvalidTimestamp("no signed attributes", reason=reason)
    # The signed bytes as received, taken before any attribute is read (see _check_token).
    signed_bytes = der.header(der.SET, len(attrs.contents)) + attrs.contents
    found: dict[str, list[Any]] = {}
    try:
        for attr in attrs:
            found.setdefault(attr["type"].dotted, []).append(attr["values"])
        content_type = found.get("1.2.840.113549.1.9.3")
        message_digest = found.get("1.2.840.113549.1.9.4")
        if content_type is None or [v.dotted for v in content_type[0]] != [ID_CT_TST_INFO]:
            raise InvalidTimestamp("contentType", reason="the signed content type is not TSTInfo")
        if message_digest is None or [v.native for v in message_digest[0]] != [
            digest.digest(tst_bytes)
        ]:
            raise InvalidTimestamp("messageDigest", reason="the TSTInfo was altered")
        _check_signing_certificate(found, certificate)
        signature = signer["signature"].native
    except QalamError:
        raise
    except Exception:
        reason = "the token's signed attributes are malformed"
        raise MalformedTimestamp("signed attributes", reason=reason) from None
    public_key = certificate.public_key()
    family = key_algorithm_of(public_key)
    if family is not scheme.key_algorithm or not signature_ok(
        public_key, family, signature, signed_bytes, hash_for(digest)
    ):
        raise InvalidTimestamp("bad TSA signature", reason="the TSA's signature does not verify")


def _check_signing_certificate(found: dict[str, list[Any]], certificate: x509.Certificate) -> None:
    """RFC 5816/5035: the first ESSCertID(v2) is the hash of the signer's certificate."""
    cert_der = certificate.public_bytes(Encoding.DER)
    v2 = found.get("1.2.840.113549.1.9.16.2.47")
    v1 = found.get("1.2.840.113549.1.9.16.2.12")
    if v2:
        first = v2[0][0]["certs"][0]
        algorithm = first["hash_algorithm"]["algorithm"].dotted
        expected = DigestAlgorithm.from_oid(algorithm).digest(cert_der)
    elif v1:
        first = v1[0][0]["certs"][0]
        expected = hashlib.sha1(cert_der, usedforsecurity=False).digest()
    else:
        reason = "the token does not name its signer's certificate (signingCertificate)"
        raise InvalidTimestamp("no signingCertificate", reason=reason)
    if first["cert_hash"].native != expected:
        reason = "the token names another certificate than the one that signed it"
        raise InvalidTimestamp("signingCertificate mismatch", reason=reason)


__all__ = [
    "FAIL_INFO_WORDS",
    "ID_CT_TST_INFO",
    "STATUS_WORDS",
    "TimeStampToken",
    "build_query",
    "parse_response",
    "verify_token",
]
