"""CMS / CAdES-BES signatures (RFC 5652, RFC 5035): sign, co-sign and verify; attached, detached,
over a precomputed hash, or streamed from a file in constant memory.

What we write: ContentInfo/SignedData v1, one SignerInfo v1 per signer identified by
issuerAndSerialNumber, the signer's certificate (and chain on request), and the signed attributes
contentType, signingTime, messageDigest and signingCertificateV2 (ESSCertIDv2: SHA-256 hash of the
certificate and its issuerSerial), DER-sorted as a SET OF. The DER is assembled by hand from
fragments cached per key (see der.py for why); algorithms come from algorithms.py, so this module
names no key family's OIDs.

What we read: DER or BER (indefinite lengths, segmented content as NCALayer and
``openssl cms -stream`` write it), as bytes, base64 or PEM. ``verify`` checks each signer
mathematically (message digest, content type, signingCertificate(V2), signature) and reports
stable problem codes; chain, revocation and time validity belong to validation.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import queue
import threading
import weakref
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, BinaryIO

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, utils
from cryptography.hazmat.primitives.serialization import Encoding

from . import der, tsp
from .algorithms import DigestAlgorithm, KeyAlgorithm, SignatureScheme, scheme_for, scheme_from_cms
from .der import DerError
from .errors import InvalidInput, MalformedCms, QalamError, UnsupportedAlgorithm
from .keystores import KeyEntry, hash_for
from .publickeys import key_algorithm_of, public_key_of, signature_ok

# -- object identifiers of CMS itself (content types and attributes; algorithms live elsewhere) --

_ID_DATA = der.oid_content("1.2.840.113549.1.7.1")
_ID_SIGNED_DATA = der.oid_content("1.2.840.113549.1.7.2")
_ATTR_CONTENT_TYPE = der.oid_content("1.2.840.113549.1.9.3")
_ATTR_MESSAGE_DIGEST = der.oid_content("1.2.840.113549.1.9.4")
_ATTR_SIGNING_TIME = der.oid_content("1.2.840.113549.1.9.5")
_ATTR_SIGNING_CERTIFICATE = der.oid_content("1.2.840.113549.1.9.16.2.12")
_ATTR_SIGNING_CERTIFICATE_V2 = der.oid_content("1.2.840.113549.1.9.16.2.47")
# id-aa-signatureTimeStampToken (RFC 3161 appendix A; CAdES-T): an unsigned attribute.
_ATTR_SIGNATURE_TIME_STAMP = der.oid_content("1.2.840.113549.1.9.16.2.14")

# The same as whole OBJECT IDENTIFIER elements, for writing and for prefix matching.
_SIGNED_DATA_OID_TLV = der.tlv(der.OID, _ID_SIGNED_DATA)
_CONTENT_TYPE_TLV = der.tlv(der.OID, _ATTR_CONTENT_TYPE)
_MESSAGE_DIGEST_TLV = der.tlv(der.OID, _ATTR_MESSAGE_DIGEST)
_SIGNING_TIME_TLV = der.tlv(der.OID, _ATTR_SIGNING_TIME)
_SIGNING_CERTIFICATE_V2_TLV = der.tlv(der.OID, _ATTR_SIGNING_CERTIFICATE_V2)
_SIGNATURE_TIME_STAMP_TLV = der.tlv(der.OID, _ATTR_SIGNATURE_TIME_STAMP)

# Attributes RFC 5652 §11 and RFC 5035 allow at most once among the signed attributes.
_SINGLE_VALUED = (
    _ATTR_CONTENT_TYPE,
    _ATTR_MESSAGE_DIGEST,
    _ATTR_SIGNING_TIME,
    _ATTR_SIGNING_CERTIFICATE,
    _ATTR_SIGNING_CERTIFICATE_V2,
)

# Problem codes of SignerResult.problems. They are part of the API: never rename one.
CERTIFICATE_MISSING = "certificate_missing"
UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
MESSAGE_DIGEST_MISSING = "message_digest_missing"
DIGEST_MISMATCH = "digest_mismatch"
CONTENT_TYPE_MISMATCH = "content_type_mismatch"
SIGNING_CERTIFICATE_MISMATCH = "signing_certificate_mismatch"
MALFORMED_ATTRIBUTE = "malformed_attribute"
BAD_SIGNATURE = "bad_signature"
TIMESTAMP_INVALID = "timestamp_invalid"

PROBLEMS = (
    CERTIFICATE_MISSING,
    UNSUPPORTED_ALGORITHM,
    MESSAGE_DIGEST_MISSING,
    DIGEST_MISMATCH,
    CONTENT_TYPE_MISMATCH,
    SIGNING_CERTIFICATE_MISMATCH,
    MALFORMED_ATTRIBUTE,
    BAD_SIGNATURE,
    TIMESTAMP_INVALID,
)

# Streams are read in chunks of this size into _READ_AHEAD reused buffers (see _read_ahead).
CHUNK_SIZE = 1 << 20
_READ_AHEAD = 3

Progress = Callable[[int], None]


# -- results ---------------------------------------------------------------------------------


# Read-only by convention, not frozen: one is made per signature checked, and a frozen
# dataclass's __init__ costs three times a plain one's (a visible share of a warm validation).
@dataclass(slots=True)
class SignerResult:
    """One SignerInfo checked: who (if their certificate is inside), when, and what is wrong."""

    certificate: x509.Certificate | None
    signing_time: datetime | None
    digest: DigestAlgorithm | None
    valid: bool
    problems: tuple[str, ...]
    # When a signature timestamp (CAdES-T) proves the signature existed: the earliest genTime
    # of the valid tokens; None without a timestamp. A token that does not hold is reported as
    # TIMESTAMP_INVALID (its TSA's chain is validation.py's question, not this module's).
    timestamp_time: datetime | None = None
    # Each signatureTimeStampToken in order, as checked here (validation.py goes on from these
    # to the TSA's chain without checking the token a second time).
    timestamps: tuple[TimestampCheck, ...] = ()


# Read-only by convention, not frozen: one is made per signature checked, and a frozen
# dataclass's __init__ costs three times a plain one's (a visible share of a warm validation).
@dataclass(slots=True)
class TimestampCheck:
    """One signatureTimeStampToken over a signer's signature value: the token, or why not."""

    der: bytes
    token: tsp.TimeStampToken | None
    error: QalamError | None = None


# Read-only by convention, not frozen: one is made per signature checked, and a frozen
# dataclass's __init__ costs three times a plain one's (a visible share of a warm validation).
@dataclass(slots=True)
class CmsVerification:
    """A CMS checked: its content (if attached), each signer, and every certificate it carries."""

    content: bytes | None
    detached: bool
    signers: tuple[SignerResult, ...]
    certificates: tuple[x509.Certificate, ...] = field(default=())

    @property
    def valid(self) -> bool:
        """At least one signer, and every signer mathematically valid."""
        return bool(self.signers) and all(signer.valid for signer in self.signers)


# -- certificates, cached by their DER -------------------------------------------------------


class _CertInfo:
    """A certificate with what CMS needs from it, computed once per distinct DER."""

    __slots__ = (
        "certificate",
        "der",
        "issuer",
        "key_algorithm",
        "public_key",
        "serial",
        "serial_value",
        "ski",
    )

    def __init__(self, cert_der: bytes, certificate: x509.Certificate) -> None:
        self.der = cert_der
        self.certificate = certificate
        tbs_start, tbs_stop, _ = der.expect(cert_der, *_value_span(cert_der), der.SEQUENCE)
        fields = der.items(cert_der, tbs_start, tbs_stop)
        index = 1 if fields[0][0] == 0xA0 else 0  # [0] EXPLICIT version, absent for v1
        serial = fields[index]
        issuer = fields[index + 2]
        # The exact encodings from the certificate: what issuerAndSerialNumber must repeat.
        self.serial = cert_der[serial[1] : serial[4]]
        self.serial_value = der.integer_value(cert_der[serial[2] : serial[3]])
        self.issuer = cert_der[issuer[1] : issuer[4]]
        try:
            ext = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            self.ski: bytes | None = ext.value.digest
        except Exception:  # absent, or extensions `cryptography` cannot parse: no SKI to match
            self.ski = None
        # The key and its family, once: isinstance on the key ABCs is not free.
        # A key no branch of publickeys.py knows is reported as unsupported_algorithm.
        self.public_key: Any = public_key_of(certificate)
        self.key_algorithm: KeyAlgorithm | None = key_algorithm_of(self.public_key)


def _value_span(buf: bytes) -> tuple[int, int]:
    _, start, stop, _ = der.read(buf, 0, len(buf))
    return start, stop


@lru_cache(maxsize=256)
def _cert_info(cert_der: bytes) -> _CertInfo | None:
    """The parsed certificate for these DER bytes (the same signers repeat), None if unusable."""
    try:
        return _CertInfo(cert_der, x509.load_der_x509_certificate(cert_der))
    except Exception:  # any certificate `cryptography` refuses (InvalidVersion is no ValueError)
        return None


# -- signing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Template:
    """Everything of a signature that depends on the key, digest and chain choice only."""

    digest: DigestAlgorithm
    digest_algorithms: bytes  # SignedData version + digestAlgorithms SET
    digest_algorithm_id: bytes
    signer_prefix: bytes  # SignerInfo version + sid + digestAlgorithm
    signature_algorithm_id: bytes
    content_type_attr: bytes
    signing_certificate_attr: bytes
    certificates: bytes  # [0] IMPLICIT CertificateSet
    certificate_ders: tuple[bytes, ...]


_TEMPLATES: weakref.WeakKeyDictionary[
    KeyEntry, dict[tuple[DigestAlgorithm, bool, bytes], _Template]
] = weakref.WeakKeyDictionary()

_VERSION_1 = der.integer(1)


def _algorithm_id(dotted: str, null_parameters: bool) -> bytes:
    return der.sequence(der.oid(dotted), der.null() if null_parameters else b"")


def _template(
    entry: KeyEntry, digest: DigestAlgorithm, include_chain: bool, content_type: bytes = _ID_DATA
) -> _Template:
    """The cached fragments for ``entry`` (weakly held: a closed key store is not kept alive)."""
    per_entry = _TEMPLATES.get(entry)
    if per_entry is None:
        per_entry = _TEMPLATES.setdefault(entry, {})
    key = (digest, include_chain, content_type)
    found = per_entry.get(key)
    if found is not None:
        return found
    scheme = scheme_for(entry.key.algorithm, digest)
    info = _cert_info(entry.certificate_der)
    if info is None:
        raise InvalidInput("signer certificate unreadable", reason="the certificate is unreadable")
    # RFC 5754: SHA-2 AlgorithmIdentifiers in CMS carry no parameters.
    digest_id = _algorithm_id(digest.oid, False)
    sid = der.sequence(info.issuer, info.serial)
    # ESSCertIDv2 (RFC 5035): hashAlgorithm is omitted because SHA-256 is its DEFAULT.
    issuer_serial = der.sequence(der.sequence(der.tlv(0xA4, info.issuer)), info.serial)
    ess_cert_id = der.sequence(der.octet_string(hashlib.sha256(info.der).digest()), issuer_serial)
    signing_cert = der.sequence(
        _SIGNING_CERTIFICATE_V2_TLV, der.set_of(der.sequence(der.sequence(ess_cert_id)))
    )
    ders = [info.der]
    if include_chain:
        ders.extend(_certificate_der(cert) for cert in entry.chain)
    template = _Template(
        digest=digest,
        digest_algorithms=_VERSION_1 + der.set_of(digest_id),
        digest_algorithm_id=digest_id,
        signer_prefix=_VERSION_1 + sid + digest_id,
        signature_algorithm_id=_algorithm_id(scheme.cms_oid, scheme.cms_parameters_null),
        content_type_attr=der.sequence(
            _CONTENT_TYPE_TLV, der.set_of(der.tlv(der.OID, content_type))
        ),
        signing_certificate_attr=signing_cert,
        certificates=der.tlv(0xA0, b"".join(sorted(set(ders)))),
        certificate_ders=tuple(ders),
    )
    per_entry[key] = template
    return template


def _certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def _digest_for(entry: KeyEntry, digest: DigestAlgorithm | None) -> DigestAlgorithm:
    return scheme_for(entry.key.algorithm, digest).digest


def _when(signing_time: datetime | None) -> datetime:
    if signing_time is None:
        return datetime.now(UTC)
    if signing_time.tzinfo is None:
        raise InvalidInput("naive signing_time", reason="the signing time has no time zone")
    return signing_time


def _signer_info(
    entry: KeyEntry, template: _Template, digest_value: bytes, signing_time: datetime
) -> bytes:
    """Build and sign one SignerInfo over ``digest_value`` (the content's digest)."""
    attributes = [
        template.content_type_attr,
        der.sequence(_SIGNING_TIME_TLV, der.tlv(der.SET, der.time(signing_time))),
        der.sequence(_MESSAGE_DIGEST_TLV, der.tlv(der.SET, der.octet_string(digest_value))),
        template.signing_certificate_attr,
    ]
    attributes.sort()  # DER SET OF order (X.690 §11.6); equal prefixes cannot occur here
    body = b"".join(attributes)
    signed = der.header(der.SET, len(body)) + body
    signature = entry.key.sign(signed, template.digest)
    return der.sequence(
        template.signer_prefix,
        b"\xa0" + signed[1:],  # the same bytes as [0] IMPLICIT: only the tag differs
        template.signature_algorithm_id,
        der.octet_string(signature),
    )


def _wrap(tag: int, parts: list[bytes]) -> list[bytes]:
    """``parts`` preceded by the header of an element that holds them all (no copying)."""
    return [der.header(tag, sum(len(part) for part in parts)), *parts]


def _signed_data(
    head: bytes,
    content_type: bytes,
    content: bytes | None,
    certificates: bytes,
    crls: bytes,
    signer_infos: Iterable[bytes],
) -> bytes:
    """ContentInfo { signedData, SignedData } assembled with a single copy of the content."""
    encap: list[bytes] = [der.tlv(der.OID, content_type)]
    if content is not None:
        encap += _wrap(0xA0, _wrap(der.OCTET_STRING, [content]))
    infos = sorted(signer_infos)
    body = [
        head,
        *_wrap(der.SEQUENCE, encap),
        certificates,
        crls,
        *_wrap(der.SET, infos),
    ]
    return b"".join(
        _wrap(der.SEQUENCE, [_SIGNED_DATA_OID_TLV, *_wrap(0xA0, _wrap(der.SEQUENCE, body))])
    )


def _sign_digest_value(
    digest_value: bytes,
    entry: KeyEntry,
    digest: DigestAlgorithm,
    content: bytes | None,
    signing_time: datetime | None,
    include_chain: bool,
) -> bytes:
    template = _template(entry, digest, include_chain)
    signer = _signer_info(entry, template, digest_value, _when(signing_time))
    return _signed_data(
        template.digest_algorithms, _ID_DATA, content, template.certificates, b"", (signer,)
    )


def sign(
    data: bytes,
    entry: KeyEntry,
    *,
    detached: bool = False,
    digest: DigestAlgorithm | None = None,
    signing_time: datetime | None = None,
    include_chain: bool = False,
) -> bytes:
    """A DER CMS (CAdES-BES) over ``data``, with the content inside unless ``detached``."""
    data = _as_bytes(data, "data")
    chosen = _digest_for(entry, digest)
    return _sign_digest_value(
        chosen.digest(data), entry, chosen, None if detached else data, signing_time, include_chain
    )


def sign_digest(
    digest_value: bytes,
    entry: KeyEntry,
    *,
    digest: DigestAlgorithm | None = None,
    signing_time: datetime | None = None,
    include_chain: bool = False,
) -> bytes:
    """A detached DER CMS over a hash computed elsewhere (NCALayer createCAdESFromBase64Hash)."""
    digest_value = _as_bytes(digest_value, "digest_value")
    chosen = _digest_for(entry, digest)
    if len(digest_value) != chosen.size:
        raise InvalidInput(
            f"{len(digest_value)}-byte hash for {chosen.hashlib_name}",
            reason=f"a {chosen.hashlib_name.upper()} hash has {chosen.size} bytes, "
            f"not {len(digest_value)}",
        )
    return _sign_digest_value(digest_value, entry, chosen, None, signing_time, include_chain)


def sign_stream(
    stream: BinaryIO,
    entry: KeyEntry,
    *,
    digest: DigestAlgorithm | None = None,
    signing_time: datetime | None = None,
    include_chain: bool = False,
    progress: Progress | None = None,
) -> bytes:
    """A detached DER CMS over everything read from ``stream``, in constant memory.

    ``progress`` is called with the number of bytes hashed so far after every chunk; to cancel,
    raise from it (the exception propagates and nothing is signed).
    """
    chosen = _digest_for(entry, digest)
    (digest_value,) = _hash_stream(stream, [chosen], progress)
    return _sign_digest_value(digest_value, entry, chosen, None, signing_time, include_chain)


def _hash_stream(
    stream: BinaryIO, algorithms: list[DigestAlgorithm], progress: Progress | None
) -> list[bytes]:
    """The digests of everything read from ``stream``, one per algorithm, in one pass."""
    hashers = [alg.new() for alg in algorithms]
    updates = [h.update for h in hashers]
    readinto = getattr(stream, "readinto", None)
    done = 0
    if readinto is None:  # a stream without readinto: plain reads, still chunk by chunk
        while chunk := stream.read(CHUNK_SIZE):
            for update in updates:
                update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)
    else:
        chunks = _read_ahead(readinto)
        try:
            for view in chunks:
                for update in updates:
                    update(view)
                done += len(view)
                if progress is not None:
                    progress(done)
        finally:
            chunks.close()  # stops and joins the reader now, not when the traceback dies
    return [h.digest() for h in hashers]


def _read_ahead(readinto: Callable[[memoryview], int | None]) -> Generator[memoryview, None, None]:
    """Chunks of a stream, read by a helper thread into a few reused buffers.

    Reading (a copy out of the page cache) and hashing both release the GIL, so while one chunk
    is hashed the next is being read: the pipeline runs at the speed of SHA-256 alone. Memory is
    _READ_AHEAD buffers of CHUNK_SIZE whatever the stream's length. A chunk is valid until the
    next one is asked for. Closing the generator early (the caller's ``finally``) tells the reader
    to stop and joins it.
    """
    free: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
    filled: queue.SimpleQueue[tuple[memoryview, int] | BaseException] = queue.SimpleQueue()
    for _ in range(_READ_AHEAD):
        free.put(memoryview(bytearray(CHUNK_SIZE)))

    def reader() -> None:
        try:
            while (buffer := free.get()) is not None:
                n = readinto(buffer) or 0
                filled.put((buffer, n))
                if not n:
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            filled.put(exc)

    thread = threading.Thread(target=reader, name="qalam-cms-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = filled.get()
            if isinstance(item, BaseException):
                raise item
            buffer, n = item
            if not n:
                return
            yield buffer if n == CHUNK_SIZE else buffer[:n]
            free.put(buffer)
    finally:
        free.put(None)
        thread.join()


def cosign(
    cms: bytes | str,
    entry: KeyEntry,
    *,
    data: bytes | None = None,
    digest: DigestAlgorithm | None = None,
    signing_time: datetime | None = None,
    include_chain: bool = False,
) -> bytes:
    """Add a parallel signer to a CMS; the existing SignerInfos are kept byte for byte.

    An attached CMS is co-signed over its own content; a detached one needs ``data``, which must
    be what the existing signers signed.
    """
    buf = load(cms)
    parsed = _parse(buf)
    if parsed.content is not None:
        if data is not None and _as_bytes(data, "data") != parsed.content:
            raise InvalidInput("data given for an attached CMS", reason=_DATA_DIFFERS)
        content = parsed.content
    elif data is None:
        raise InvalidInput("co-signing detached CMS without data", reason=_DETACHED_NEEDS_DATA)
    else:
        content = _as_bytes(data, "data")
    chosen = _digest_for(entry, digest)
    wanted = {chosen, *(s.digest for s in parsed.signers if s.digest is not None)}
    digests = {alg: alg.digest(content) for alg in wanted}
    for signer in parsed.signers:
        known = signer.digest is not None and signer.message_digest is not None
        if known and signer.message_digest != digests[signer.digest]:  # type: ignore[index]
            raise InvalidInput("content differs from an existing signer", reason=_DATA_DIFFERS)
    template = _template(entry, chosen, include_chain, parsed.content_type)
    signer_info = _signer_info(entry, template, digests[chosen], _when(signing_time))

    try:
        spans = der.items(buf, *parsed.digest_algorithms_span)
    except (DerError, IndexError) as exc:
        raise MalformedCms(f"digestAlgorithms: {exc}") from None
    algorithms = {buf[h:n] for _, h, _, _, n in spans}
    if not any(_digest_of_algorithm_id(a) is chosen for a in algorithms):
        algorithms.add(template.digest_algorithm_id)
    certificates = dict.fromkeys(buf[s:e] for s, e in parsed.certificate_spans)
    for cert_der in template.certificate_ders:
        certificates.setdefault(cert_der, None)
    version = max(parsed.version, 1 if parsed.content_type == _ID_DATA else 3)
    head = der.integer(version) + der.set_of(*algorithms)
    crls = buf[parsed.crls_span[0] : parsed.crls_span[1]] if parsed.crls_span else b""
    return _signed_data(
        head,
        parsed.content_type,
        parsed.content,
        der.tlv(0xA0, b"".join(sorted(certificates))),
        crls,
        [*(buf[s.span[0] : s.span[1]] for s in parsed.signers), signer_info],
    )


def _digest_of_algorithm_id(encoded: bytes) -> DigestAlgorithm | None:
    try:
        start, stop, _ = der.expect(encoded, 0, len(encoded), der.SEQUENCE)
        oid_start, oid_stop, _ = der.expect(encoded, start, stop, der.OID)
    except (DerError, IndexError):
        return None
    return _DIGEST_BY_OID.get(encoded[oid_start:oid_stop])


# -- signature timestamps (CAdES-T) ----------------------------------------------------------

Stamp = Callable[[bytes], bytes]
"""Given the SHA-256 of a signature value, the DER TimeStampToken over it (the TSA round trip)."""


def add_signature_timestamp(cms_der: bytes | str, stamp: Stamp) -> bytes:
    """The CMS with a signatureTimeStampToken (RFC 3161 appendix A) added, as an unsigned
    attribute, to every SignerInfo that has none: CAdES-BES becomes CAdES-T.

    ``stamp`` receives the SHA-256 digest of the SignerInfo's signature value and returns the
    token (service/tsa_client.HttpTsa.stamp; the network stays out of crypto/). Each token is
    checked against its signature before it goes in. Everything else of each SignerInfo is kept
    byte for byte (only its length and the unsignedAttrs change); certificates, CRLs, content
    and digestAlgorithms are copied as they are; the SignerInfos are re-sorted as DER's SET OF
    wants. A CMS whose signers all have a timestamp comes back unchanged.
    """
    buf = load(cms_der)
    parsed = _parse(buf)
    if all(s.timestamp_tokens for s in parsed.signers):
        return buf
    try:
        prefix, infos = _signed_data_parts(buf)
    except (DerError, IndexError) as exc:
        raise MalformedCms(f"{type(exc).__name__}: {exc}") from None
    out = []
    for signer, encoded in zip(parsed.signers, infos, strict=True):
        if signer.timestamp_tokens:
            out.append(encoded)
            continue
        token = stamp(hashlib.sha256(signer.signature).digest())
        tsp.verify_token(token, signer.signature)  # never embed a token that does not hold
        attribute = der.sequence(_SIGNATURE_TIME_STAMP_TLV, der.set_of(token))
        out.append(_with_unsigned_attribute(encoded, attribute))
    body = [prefix, *_wrap(der.SET, sorted(out))]
    return b"".join(
        _wrap(der.SEQUENCE, [_SIGNED_DATA_OID_TLV, *_wrap(0xA0, _wrap(der.SEQUENCE, body))])
    )


def _signed_data_parts(buf: bytes) -> tuple[bytes, list[bytes]]:
    """SignedData's fields before signerInfos (as received), and each SignerInfo's encoding."""
    _, start, stop, _ = der.read(buf, 0, len(buf))
    _, pos = der.expect(buf, start, stop, der.OID)[1:]
    explicit_start, explicit_stop, _ = der.expect(buf, pos, stop, 0xA0)
    sd_start, sd_stop, _ = der.expect(buf, explicit_start, explicit_stop, der.SEQUENCE)
    fields = der.items(buf, sd_start, sd_stop)
    _, infos_head, infos_start, infos_stop, _ = fields[-1]
    infos = [buf[h:n] for _, h, _, _, n in der.items(buf, infos_start, infos_stop)]
    return buf[sd_start:infos_head], infos


def _with_unsigned_attribute(signer_info: bytes, attribute: bytes) -> bytes:
    """The SignerInfo with ``attribute`` among its unsignedAttrs [1] (made if absent)."""
    _, start, stop, _ = der.read(signer_info, 0, len(signer_info))
    fields = der.items(signer_info, start, stop)
    last_tag, last_head, last_start, last_stop, _ = fields[-1]
    if last_tag == 0xA1:  # keep the existing attributes' encodings, add ours, DER order
        existing = [
            signer_info[h:n] for _, h, _, _, n in der.items(signer_info, last_start, last_stop)
        ]
        kept = signer_info[start:last_head]
        attributes = sorted([*existing, attribute])
    else:
        kept = signer_info[start:stop]
        attributes = [attribute]
    unsigned = der.tlv(0xA1, b"".join(attributes))
    return der.header(der.SEQUENCE, len(kept) + len(unsigned)) + kept + unsigned


# -- input -----------------------------------------------------------------------------------

_PEM_LABELS = ("CMS", "PKCS7", "PKCS #7 SIGNED DATA")
_DATA_DIFFERS = "the data is not what the signature covers"
_DETACHED_NEEDS_DATA = "a detached signature needs the signed data"


def _as_bytes(value: object, name: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise InvalidInput(f"{name} is {type(value).__name__}", reason=f"{name} must be bytes")


def load(blob: bytes | str) -> bytes:
    """The DER (or BER) bytes of a CMS given as binary, base64 or PEM; MalformedCms otherwise."""
    if isinstance(blob, str):
        text = blob
    else:
        raw = _as_bytes(blob, "cms")
        if not raw:
            raise InvalidInput("empty CMS", reason="the signature is empty")
        if raw[0] == der.SEQUENCE:
            _check_outer(raw)
            return raw
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedCms("binary input that is not a SEQUENCE") from None
    text = text.strip()
    if not text:
        raise InvalidInput("empty CMS", reason="the signature is empty")
    if text.startswith("-----BEGIN"):
        text = _pem_body(text)
    decoded = _base64(text)
    if not decoded or decoded[0] != der.SEQUENCE:
        raise MalformedCms("decoded input is not a SEQUENCE")
    _check_outer(decoded)
    return decoded


def _check_outer(buf: bytes) -> None:
    try:
        _, _, _, nxt = der.read(buf, 0, len(buf))
    except (DerError, IndexError) as exc:
        raise MalformedCms(str(exc)) from None
    if nxt != len(buf):
        raise MalformedCms(f"{len(buf) - nxt} bytes after the CMS")


def _pem_body(text: str) -> str:
    lines = text.splitlines()
    label = lines[0].strip()[len("-----BEGIN ") :].rstrip("-").strip()
    if label not in _PEM_LABELS:
        raise MalformedCms(f"PEM label {label!r}")
    end = f"-----END {label}-----"
    body: list[str] = []
    for line in lines[1:]:
        stripped = line.strip()
        if stripped == end:
            return "".join(body)
        if ":" not in stripped:  # RFC 1421 headers (Proc-Type: ...) are not base64
            body.append(stripped)
    raise MalformedCms("PEM without its END line")


def _base64(text: str) -> bytes:
    compact = "".join(text.split())
    if "-" in compact or "_" in compact:
        compact = compact.replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("bad base64", reason="the signature is not valid base64") from None


# -- parsing ---------------------------------------------------------------------------------

_DIGEST_BY_OID = {der.oid_content(alg.oid): alg for alg in DigestAlgorithm}


class _SignerInfo:
    """One SignerInfo as found: where it is, whom it names, what its attributes say."""

    __slots__ = (
        "attr_problems",
        "content_type",
        "digest",
        "digest_oid",
        "issuer",
        "message_digest",
        "serial",
        "signature",
        "signature_oid",
        "signed_attrs",
        "signing_certificate",
        "signing_time",
        "ski",
        "span",
        "timestamp_tokens",
    )

    def __init__(self) -> None:
        self.span = (0, 0)
        self.issuer: bytes | None = None
        self.serial: int | None = None
        self.ski: bytes | None = None
        self.digest: DigestAlgorithm | None = None
        self.digest_oid = b""
        self.signed_attrs: bytes | None = None
        self.signature_oid = b""
        self.signature = b""
        self.content_type: bytes | None = None
        self.message_digest: bytes | None = None
        self.signing_time: datetime | None = None
        self.signing_certificate: tuple[bytes, bytes] | None = None  # (attribute OID, value)
        self.attr_problems: list[str] = []
        self.timestamp_tokens: list[bytes] | None = None  # None: no unsignedAttrs at all


class _Parsed:
    __slots__ = (
        "certificate_spans",
        "content",
        "content_type",
        "crls_span",
        "digest_algorithms_span",
        "signers",
        "version",
    )

    def __init__(self) -> None:
        self.version = 1
        self.digest_algorithms_span = (0, 0)
        self.content_type = _ID_DATA
        self.content: bytes | None = None
        self.certificate_spans: list[tuple[int, int]] = []
        self.crls_span: tuple[int, int] | None = None
        self.signers: list[_SignerInfo] = []


def _parse(buf: bytes) -> _Parsed:
    """The SignedData in ``buf``; MalformedCms for anything else."""
    try:
        return _parse_signed_data(buf)
    except (DerError, IndexError, ValueError) as exc:
        raise MalformedCms(f"{type(exc).__name__}: {exc}") from None


# The parser below is the hot path of verify(): it reads only the headers it needs, recognises
# the common attribute OIDs by prefix instead of decoding them, and leaves what repeats from one
# signature to the next (sid, algorithms, certificates) to small caches keyed by exact bytes.


def _parse_signed_data(buf: bytes) -> _Parsed:
    read = der.read
    end = len(buf)
    tag, start, stop, nxt = read(buf, 0, end)
    if tag != der.SEQUENCE:
        raise DerError("ContentInfo is not a SEQUENCE")
    if nxt != end:
        raise DerError(f"{end - nxt} bytes after the CMS")
    if buf.startswith(_SIGNED_DATA_OID_TLV, start):
        pos = start + len(_SIGNED_DATA_OID_TLV)
    else:
        oid_start, oid_stop, pos = der.expect(buf, start, stop, der.OID)
        if buf[oid_start:oid_stop] != _ID_SIGNED_DATA:
            found = der.oid_dotted(buf[oid_start:oid_stop])
            raise DerError(f"content type {found} is not signedData")
    explicit_start, explicit_stop, _ = der.expect(buf, pos, stop, 0xA0)
    sd_start, sd_stop, _ = der.expect(buf, explicit_start, explicit_stop, der.SEQUENCE)
    fields = der.items(buf, sd_start, sd_stop)
    if len(fields) < 4:
        raise DerError("SignedData too short")
    parsed = _Parsed()
    version, algorithms, encap = fields[0], fields[1], fields[2]
    if version[0] != der.INTEGER or algorithms[0] != der.SET or encap[0] != der.SEQUENCE:
        raise DerError("SignedData fields out of order")
    parsed.version = der.integer_value(buf[version[2] : version[3]])
    parsed.digest_algorithms_span = (algorithms[2], algorithms[3])
    encap_fields = der.items(buf, encap[2], encap[3])
    if not encap_fields or encap_fields[0][0] != der.OID:
        raise DerError("encapContentInfo without eContentType")
    parsed.content_type = buf[encap_fields[0][2] : encap_fields[0][3]]
    if len(encap_fields) > 1:
        if encap_fields[1][0] != 0xA0:
            raise DerError("eContent is not [0]")
        tag, s, e, _ = read(buf, encap_fields[1][2], encap_fields[1][3])
        if tag & ~der.CONSTRUCTED != der.OCTET_STRING:
            raise DerError("eContent is not an OCTET STRING")
        parsed.content = buf[s:e] if tag == der.OCTET_STRING else der.octets(buf, tag, s, e)
    for tag, head, s, e, nxt in fields[3:-1]:
        if tag == 0xA0:
            parsed.certificate_spans = [(h, n) for _, h, _, _, n in der.items(buf, s, e)]
        elif tag == 0xA1:
            parsed.crls_span = (head, nxt)
        else:
            raise DerError(f"unexpected SignedData field {tag:#04x}")
    infos = fields[-1]
    if infos[0] != der.SET:
        raise DerError("signerInfos is not a SET")
    parsed.signers = [
        _parse_signer(buf, tag, head, s, e, nxt)
        for tag, head, s, e, nxt in der.items(buf, infos[2], infos[3])
    ]
    return parsed


def _parse_signer(buf: bytes, tag: int, head: int, start: int, stop: int, nxt: int) -> _SignerInfo:
    if tag != der.SEQUENCE:
        raise DerError("SignerInfo is not a SEQUENCE")
    fields = der.items(buf, start, stop)
    if len(fields) < 5:
        raise DerError("SignerInfo too short")
    signer = _SignerInfo()
    signer.span = (head, nxt)
    # version, sid and digestAlgorithm are the same in every signature of one signer.
    signer.issuer, signer.serial, signer.ski, signer.digest_oid = _signer_identity(
        buf[fields[0][1] : fields[2][4]]
    )
    signer.digest = _DIGEST_BY_OID.get(signer.digest_oid)
    index = 3
    attrs = fields[3]
    if attrs[0] == 0xA0:
        if buf[attrs[1] + 1] == 0x80:  # indefinite length: the signature covers the DER form
            signer.signed_attrs = (
                der.header(der.SET, attrs[3] - attrs[2]) + buf[attrs[2] : attrs[3]]
            )
        else:
            signer.signed_attrs = b"\x31" + buf[attrs[1] + 1 : attrs[4]]
        _read_attributes(buf, attrs[2], attrs[3], signer)
        index = 4
    if len(fields) < index + 2:
        raise DerError("SignerInfo without signature")
    algorithm = fields[index]
    signer.signature_oid = der.leading_oid(buf[algorithm[1] : algorithm[4]])
    sig = fields[index + 1]
    if sig[0] == der.OCTET_STRING:
        signer.signature = buf[sig[2] : sig[3]]
    elif sig[0] == der.OCTET_STRING | der.CONSTRUCTED:
        signer.signature = der.octets(buf, sig[0], sig[2], sig[3])
    else:
        raise DerError("signature is not an OCTET STRING")
    if len(fields) > index + 2:
        unsigned = fields[index + 2]
        if unsigned[0] != 0xA1 or len(fields) > index + 3:
            raise DerError("unexpected SignerInfo field after the signature")
        signer.timestamp_tokens = _timestamp_tokens(buf, unsigned[2], unsigned[3])
    return signer


def _timestamp_tokens(buf: bytes, start: int, stop: int) -> list[bytes]:
    """The signatureTimeStampToken values among the unsigned attributes (each a ContentInfo)."""
    tokens: list[bytes] = []
    for tag, _, s, e, _ in der.items(buf, start, stop):
        if tag != der.SEQUENCE:
            raise DerError("Attribute is not a SEQUENCE")
        if not buf.startswith(_SIGNATURE_TIME_STAMP_TLV, s):
            continue
        set_start, set_stop, _ = der.expect(buf, s + len(_SIGNATURE_TIME_STAMP_TLV), e, der.SET)
        tokens.extend(buf[h:n] for _, h, _, _, n in der.items(buf, set_start, set_stop))
    return tokens


@lru_cache(maxsize=256)
def _signer_identity(encoded: bytes) -> tuple[bytes | None, int | None, bytes | None, bytes]:
    """(issuer, serial, subjectKeyIdentifier, digest OID) from version, sid and digestAlgorithm."""
    fields = der.items(encoded, 0, len(encoded))
    if len(fields) != 3 or fields[0][0] != der.INTEGER:
        raise DerError("SignerInfo version, sid, digestAlgorithm expected")
    sid = fields[1]
    issuer = serial = ski = None
    if sid[0] == der.SEQUENCE:
        issuer_item, serial_item = der.items(encoded, sid[2], sid[3])[:2]
        if serial_item[0] != der.INTEGER:
            raise DerError("issuerAndSerialNumber without serialNumber")
        issuer = encoded[issuer_item[1] : issuer_item[4]]
        serial = der.integer_value(encoded[serial_item[2] : serial_item[3]])
    elif sid[0] & ~der.CONSTRUCTED == 0x80:
        ski = der.octets(encoded, sid[0], sid[2], sid[3])
    else:
        raise DerError("unknown SignerIdentifier")
    digest = fields[2]
    return issuer, serial, ski, der.leading_oid(encoded[digest[1] : digest[4]])


def _read_attributes(buf: bytes, start: int, stop: int, signer: _SignerInfo) -> None:
    read = der.read
    for tag, _, s, e, _ in der.items(buf, start, stop):
        if tag != der.SEQUENCE:
            raise DerError("Attribute is not a SEQUENCE")
        if buf.startswith(_MESSAGE_DIGEST_TLV, s):
            kind, pos = _ATTR_MESSAGE_DIGEST, s + len(_MESSAGE_DIGEST_TLV)
        elif buf.startswith(_SIGNING_TIME_TLV, s):
            kind, pos = _ATTR_SIGNING_TIME, s + len(_SIGNING_TIME_TLV)
        elif buf.startswith(_CONTENT_TYPE_TLV, s):
            kind, pos = _ATTR_CONTENT_TYPE, s + len(_CONTENT_TYPE_TLV)
        elif buf.startswith(_SIGNING_CERTIFICATE_V2_TLV, s):
            kind, pos = _ATTR_SIGNING_CERTIFICATE_V2, s + len(_SIGNING_CERTIFICATE_V2_TLV)
        else:
            oid_tag, oid_start, oid_stop, pos = read(buf, s, e)
            if oid_tag != der.OID:
                raise DerError("Attribute without its OID")
            kind = buf[oid_start:oid_stop]
            if kind not in _SINGLE_VALUED:
                continue  # an attribute we do not interpret (smimeCapabilities, ...)
        # Short single values (all but signingCertificate) have two 2-byte headers: SET, value.
        size = e - pos
        if size < 0x82 and buf[pos] == der.SET and buf[pos + 1] == size - 2 == buf[pos + 3] + 2:
            values_start, values_stop = pos + 2, e
            vtag, vs, ve = buf[pos + 2], pos + 4, e
        else:
            set_tag, values_start, values_stop, set_next = read(buf, pos, e)
            if set_tag != der.SET or set_next != e:
                raise DerError("Attribute values are not a SET")
            vtag, vs, ve, vnext = read(buf, values_start, values_stop)
            if vnext != values_stop:
                signer.attr_problems.append(MALFORMED_ATTRIBUTE)  # more than one value
                continue
        try:
            if kind == _ATTR_MESSAGE_DIGEST:
                if signer.message_digest is not None:
                    raise DerError("messageDigest twice")
                if vtag == der.OCTET_STRING:
                    signer.message_digest = buf[vs:ve]
                elif vtag == der.OCTET_STRING | der.CONSTRUCTED:
                    signer.message_digest = der.octets(buf, vtag, vs, ve)
                else:
                    raise DerError("messageDigest is not an OCTET STRING")
            elif kind == _ATTR_SIGNING_TIME:
                if signer.signing_time is not None:
                    raise DerError("signingTime twice")
                signer.signing_time = _time(vtag, buf[vs:ve])
            elif kind == _ATTR_CONTENT_TYPE:
                if signer.content_type is not None or vtag != der.OID:
                    raise DerError("contentType twice or not an OID")
                signer.content_type = buf[vs:ve]
            else:
                if signer.signing_certificate is not None:
                    raise DerError("signingCertificate twice")
                signer.signing_certificate = (kind, buf[values_start:values_stop])
        except (DerError, IndexError):
            signer.attr_problems.append(MALFORMED_ATTRIBUTE)


@lru_cache(maxsize=256)
def _time(tag: int, content: bytes) -> datetime:
    return der.time_value(tag, content)


# -- verification ----------------------------------------------------------------------------

_PKCS1 = padding.PKCS1v15()


@dataclass(frozen=True, slots=True)
class _Verifier:
    """A signature scheme with the `cryptography` objects its verification needs, made once."""

    scheme: SignatureScheme
    hash: Any  # for data to be hashed
    prehashed: Any  # for a digest computed elsewhere


def verify(
    cms: bytes | str, data: bytes | None = None, *, stream: BinaryIO | None = None
) -> CmsVerification:
    """Check every signer of a CMS mathematically (digest, attributes, signature).

    Attached CMS: the content inside is checked (``data``, if given, must equal it). Detached
    CMS: give the signed bytes as ``data`` or a binary ``stream`` (read once, in chunks).
    """
    # DER/BER bytes go straight to the parser, which checks the outer element itself.
    buf = cms if isinstance(cms, bytes) and cms[:1] == b"\x30" else load(cms)
    if data is not None and stream is not None:
        raise InvalidInput("both data and stream", reason="give the data or a stream, not both")
    parsed = _parse(buf)
    content = parsed.content
    if content is not None:
        if stream is not None:
            raise InvalidInput("stream for an attached CMS", reason=_DATA_DIFFERS)
        if data is not None and _as_bytes(data, "data") != content:
            raise InvalidInput("data differs from the attached content", reason=_DATA_DIFFERS)
    elif data is not None:
        content = _as_bytes(data, "data")
    elif stream is None:
        raise InvalidInput("detached CMS without data", reason=_DETACHED_NEEDS_DATA)
    # Digests by digestAlgorithm OID (bytes hash fast; the DigestAlgorithm enum does not).
    digests: dict[bytes, bytes] = {}
    if content is not None:
        for signer in parsed.signers:
            if signer.digest is not None and signer.digest_oid not in digests:
                digests[signer.digest_oid] = _digest(signer.digest, content)
    elif stream is not None:
        wanted = {s.digest_oid: s.digest for s in parsed.signers if s.digest is not None}
        digests = dict(zip(wanted, _hash_stream(stream, list(wanted.values()), None), strict=True))
    infos = []
    for start, stop in parsed.certificate_spans:
        if buf[start] == der.SEQUENCE:  # not an attribute certificate or other choice
            info = _cert_info(buf[start:stop])
            if info is not None:
                infos.append(info)
    content_type = parsed.content_type
    return CmsVerification(
        content=parsed.content,
        detached=parsed.content is None,
        signers=tuple([_check_signer(s, content_type, infos, digests) for s in parsed.signers]),
        certificates=tuple([info.certificate for info in infos]),
    )


def _digest(algorithm: DigestAlgorithm, data: bytes) -> bytes:
    # hashlib's named constructors skip hashlib.new()'s lookup: a visible share of a small verify.
    constructor = getattr(hashlib, algorithm.hashlib_name, None)
    return constructor(data).digest() if constructor else algorithm.digest(data)


def _find_certificate(signer: _SignerInfo, infos: list[_CertInfo]) -> _CertInfo | None:
    for info in infos:
        if signer.ski is not None:
            if info.ski == signer.ski:
                return info
        elif info.serial_value == signer.serial and info.issuer == signer.issuer:
            return info
    return None


def _check_signer(
    signer: _SignerInfo,
    content_type: bytes,
    infos: list[_CertInfo],
    digests: dict[bytes, bytes],
) -> SignerResult:
    problems: list[str] = []
    info = _find_certificate(signer, infos)
    if info is None:
        problems.append(CERTIFICATE_MISSING)
    verifier: _Verifier | None = None
    if signer.digest is None:
        problems.append(UNSUPPORTED_ALGORITHM)
    else:
        try:
            verifier = _verifier(signer.signature_oid, signer.digest_oid)
        except UnsupportedAlgorithm:
            problems.append(UNSUPPORTED_ALGORITHM)
    if signer.attr_problems:
        problems.extend(signer.attr_problems)
    signed = signer.signed_attrs
    if signed is not None:
        if signer.content_type != content_type:
            problems.append(CONTENT_TYPE_MISMATCH)
        if signer.message_digest is None:
            problems.append(MESSAGE_DIGEST_MISSING)
        elif signer.digest is not None and signer.message_digest != digests[signer.digest_oid]:
            problems.append(DIGEST_MISMATCH)
        if info is not None and signer.signing_certificate is not None:
            problems.extend(_check_signing_certificate(*signer.signing_certificate, info))
    if info is not None and verifier is not None:
        if info.key_algorithm is None:
            problems.append(UNSUPPORTED_ALGORITHM)
        elif signed is not None:
            if not _signature_ok(info, verifier.scheme, signer.signature, signed, verifier.hash):
                problems.append(BAD_SIGNATURE)
        elif not _signature_ok(
            info, verifier.scheme, signer.signature, digests[signer.digest_oid], verifier.prehashed
        ):
            problems.append(BAD_SIGNATURE)
    timestamp_time = None
    timestamps: tuple[TimestampCheck, ...] = ()
    if signer.timestamp_tokens is not None:
        timestamps = _check_timestamps(signer.timestamp_tokens, signer.signature)
        times = [check.token.gen_time for check in timestamps if check.token is not None]
        timestamp_time = min(times) if times else None
        if len(times) != len(timestamps):
            problems.append(TIMESTAMP_INVALID)
    return SignerResult(
        certificate=info.certificate if info is not None else None,
        signing_time=signer.signing_time,
        digest=signer.digest,
        valid=not problems,
        problems=tuple(dict.fromkeys(problems)) if problems else (),
        timestamp_time=timestamp_time,
        timestamps=timestamps,
    )


def _check_timestamps(tokens: list[bytes], signature: bytes) -> tuple[TimestampCheck, ...]:
    """Each token checked over ``signature`` (imprint, TSA certificate, TSA signature)."""
    checks = []
    for token in tokens:
        try:
            checks.append(TimestampCheck(token, tsp.verify_token(token, signature)))
        except QalamError as error:
            checks.append(TimestampCheck(token, None, error))
    return tuple(checks)


@lru_cache(maxsize=64)
def _verifier(signature_oid: bytes, digest_oid: bytes) -> _Verifier:
    try:
        dotted = der.oid_dotted(signature_oid)
    except der.DerError:
        # A malformed algorithm identifier names no algorithm we know: the signer's problem,
        # reported like any unknown algorithm, never an exception out of verify().
        raise UnsupportedAlgorithm("malformed signature algorithm OID", name="?") from None
    scheme = scheme_from_cms(dotted, _DIGEST_BY_OID[digest_oid])
    return _Verifier(scheme, hash_for(scheme.digest), utils.Prehashed(hash_for(scheme.digest)))


def _signature_ok(
    info: _CertInfo, scheme: SignatureScheme, signature: bytes, data: bytes, algorithm: Any
) -> bool:
    """Whether the signature verifies with the certificate's key in the family the signer claims."""
    if info.key_algorithm is not scheme.key_algorithm:
        return False
    return signature_ok(info.public_key, scheme.key_algorithm, signature, data, algorithm)


@lru_cache(maxsize=256)
def _check_signing_certificate(kind: bytes, value: bytes, info: _CertInfo) -> tuple[str, ...]:
    """RFC 5035: the first ESSCertID(v2) must name the certificate that verified the signature.

    Cached: a signer's attribute is the same in every signature it makes (it holds the hash of
    its certificate), and the answer depends on nothing else.
    """
    try:
        outer_start, outer_stop, _ = der.expect(value, 0, len(value), der.SEQUENCE)
        ids_start, ids_stop, _ = der.expect(value, outer_start, outer_stop, der.SEQUENCE)
        first_start, first_stop, _ = der.expect(value, ids_start, ids_stop, der.SEQUENCE)
        fields = der.items(value, first_start, first_stop)
        if kind == _ATTR_SIGNING_CERTIFICATE:
            cert_hash = hashlib.sha1(info.der, usedforsecurity=False).digest()
        else:
            algorithm = DigestAlgorithm.SHA256
            if fields[0][0] == der.SEQUENCE:  # hashAlgorithm present (not the SHA-256 default)
                found = _DIGEST_BY_OID.get(der.leading_oid(value[fields[0][1] : fields[0][4]]))
                if found is None:
                    return (UNSUPPORTED_ALGORITHM,)
                algorithm = found
                fields = fields[1:]
            cert_hash = algorithm.digest(info.der)
        if fields[0][0] != der.OCTET_STRING:
            return (MALFORMED_ATTRIBUTE,)
        if value[fields[0][2] : fields[0][3]] != cert_hash:
            return (SIGNING_CERTIFICATE_MISMATCH,)
        if len(fields) > 1:
            names_start, names_stop, pos = der.expect(
                value, fields[1][2], fields[1][3], der.SEQUENCE
            )
            serial_start, serial_stop, _ = der.expect(value, pos, fields[1][3], der.INTEGER)
            if der.integer_value(value[serial_start:serial_stop]) != info.serial_value:
                return (SIGNING_CERTIFICATE_MISMATCH,)
            for tag, _, s, e, _ in der.items(value, names_start, names_stop):
                if tag == 0xA4 and value[s:e] != info.issuer:
                    return (SIGNING_CERTIFICATE_MISMATCH,)
    except (DerError, IndexError):
        return (MALFORMED_ATTRIBUTE,)
    return ()


__all__ = [
    "BAD_SIGNATURE",
    "CERTIFICATE_MISSING",
    "CHUNK_SIZE",
    "CONTENT_TYPE_MISMATCH",
    "DIGEST_MISMATCH",
    "MALFORMED_ATTRIBUTE",
    "MESSAGE_DIGEST_MISSING",
    "PROBLEMS",
    "SIGNING_CERTIFICATE_MISMATCH",
    "TIMESTAMP_INVALID",
    "UNSUPPORTED_ALGORITHM",
    "CmsVerification",
    "Progress",
    "SignerResult",
    "Stamp",
    "TimestampCheck",
    "add_signature_timestamp",
    "cosign",
    "load",
    "sign",
    "sign_digest",
    "sign_stream",
    "verify",
]
