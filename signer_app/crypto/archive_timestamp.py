"""CAdES archive-time-stamp-v3 (ETSI EN 319 122-1 V1.1.1+ §5.5.2 and §5.5.3): write, renew, check.

An archive-time-stamp-v3 (id-aa-ets-archiveTimestampV3, 0.4.0.1733.2.4) is an unsigned attribute
of the SignerInfo it archives. Its value is an RFC 3161 TimeStampToken whose own SignerInfo
carries, as an *unsigned* attribute the requester adds after the TSA has answered, an
ats-hash-index-v3 (0.4.0.19122.1.5, §5.5.2): the hashes of each CertificateChoices of
SignedData.certificates, of each RevocationInfoChoice of SignedData.crls, and of each
(attrType, one attrValue) pair of the archived SignerInfo's unsignedAttrs, as they stood when the
stamp was asked for. The TSA signs the TSTInfo (through its signed attributes), never its own
unsigned attributes, so adding the index leaves the token's signature intact.

The token's messageImprint is the hash (the token's own algorithm) of, in this order (§5.5.3):
1. SignedData.encapContentInfo.eContentType (its whole TLV);
2. the hash, with that same algorithm, of the content the message-digest attribute covers
   (the eContent's octets, or the detached data, which the caller supplies);
3. the TLVs of the archived SignerInfo's version, sid, digestAlgorithm, signedAttrs,
   signatureAlgorithm and signature, as encoded, in their order;
4. the DER of the ATSHashIndexV3 the token carries.
Item 2 is the content's hash, not the content (TS 101 733's archive-time-stamp-v2 took eContent
itself): so a detached signature's stamp is computed from a stream, and a verifier needs the data.

So evidence added later (certificates, OCSP responses, CRLs, a further archive timestamp) does not
break an earlier stamp: it is simply not in that stamp's index. Removing or altering anything an
index lists does. Renewal is one more archive-time-stamp-v3, asked for after the earlier tokens'
TSA chains and revocation data went into the SignedData (cades_lt.collect_validation_data); its
index lists the earlier tokens among the unsigned attribute values.

Written by hand over asn1crypto: no maintained Python library writes or checks CAdES ATSv3
(pyHanko does PAdES document timestamps only). The network stays out: ``stamp`` does the TSA
round trip, as in cms.add_signature_timestamp.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Literal

from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import parser as asn1_parser

from . import cms, tsp
from .algorithms import DigestAlgorithm
from .errors import InvalidInput, MalformedCms, QalamError, UnsupportedAlgorithm

ID_ARCHIVE_TIMESTAMP_V3 = "0.4.0.1733.2.4"
ID_ATS_HASH_INDEX_V3 = "0.4.0.19122.1.5"
# Our earlier releases' archive timestamp (cades_lt.add_archive_timestamp_v2): still read.
ID_ARCHIVE_TIMESTAMP_V2 = "1.2.840.113549.1.9.16.2.48"

Stamp = Callable[[bytes], bytes]
# A detached signature's data: the bytes, or a binary stream read once from where it stands.
Content = bytes | BinaryIO | None

_CHUNK = 1 << 20
_NEVER = datetime.min.replace(tzinfo=UTC)
_Read = tuple[bytes, asn1_cms.ContentInfo | None, DigestAlgorithm | None, str | None]


class _Hashes(asn1_core.SequenceOf):  # type: ignore[misc]
    _child_spec = asn1_core.OctetString


def _sequence(*parts: bytes) -> bytes:
    """A SEQUENCE around ``parts``, each already DER."""
    return bytes(asn1_core.Sequence(contents=b"".join(parts)).dump())


@dataclass(frozen=True, slots=True)
class HashIndex:
    """An ATSHashIndexV3: what one archive timestamp covers besides the signature itself."""

    digest: DigestAlgorithm
    certificates: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    unsigned_attr_values: tuple[bytes, ...]

    def dump(self) -> bytes:
        """The DER, hashIndAlgorithm always written (Annex D's ASN.1 has no DEFAULT, and EU DSS
        puts SHA-256's back when it rebuilds an index to recompute the imprint), its parameters
        absent as DSS and Bouncy Castle write them."""
        algorithm = _sequence(asn1_core.ObjectIdentifier(self.digest.oid).dump())
        lists = (self.certificates, self.crls, self.unsigned_attr_values)
        return _sequence(algorithm, *(_Hashes(list(hashes)).dump(force=True) for hashes in lists))

    @classmethod
    def load(cls, der: bytes) -> HashIndex:
        """An ATSHashIndexV3 read from DER; MalformedCms when it is not one."""
        # Read with or without hashIndAlgorithm (§5.5.2's text has it DEFAULT id-sha256): it and
        # certificatesHashIndex are both SEQUENCEs, so an absent one shows only in the count of
        # elements (a tag-driven decoder, asn1crypto's, misreads it).
        try:
            parts = _children(der)
            if asn1_parser.parse(der)[:3] != (0, 1, 16) or len(parts) not in (3, 4):
                raise ValueError("not a SEQUENCE of 3 or 4 elements")
            algorithm = "2.16.840.1.101.3.4.2.1"  # the DEFAULT, id-sha256
            if len(parts) == 4:
                algorithm = asn1_algos.DigestAlgorithm.load(parts[0][2])["algorithm"].dotted
            hashes = [_octet_strings(tlv) for cls, tag, tlv in parts[-3:]]
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedCms(f"ats-hash-index-v3: {type(exc).__name__}: {exc}") from None
        return cls(DigestAlgorithm.from_oid(algorithm), hashes[0], hashes[1], hashes[2])

    def missing_from(self, present: HashIndex) -> list[str]:
        """What this index lists that ``present`` (the signature now) no longer holds."""
        gone = []
        for what, listed, now in (
            ("certificate", self.certificates, present.certificates),
            ("CRL or OCSP response", self.crls, present.crls),
            ("unsigned attribute value", self.unsigned_attr_values, present.unsigned_attr_values),
        ):
            there = set(now)
            count = sum(1 for h in listed if h not in there)
            if count:
                gone.append(f"{count} {what}{'s' if count > 1 else ''}")
        return gone


# -- reading the signature -----------------------------------------------------------------------


def _load(signature: bytes | str) -> asn1_cms.SignedData:
    der = cms.load(signature)
    try:
        signed = asn1_cms.ContentInfo.load(der)["content"]
        if not isinstance(signed, asn1_cms.SignedData):
            raise ValueError("not SignedData")
        [info["sid"].native for info in signed["signer_infos"]]  # parse now, inside the try
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedCms(f"{type(exc).__name__}: {exc}") from None
    return signed


def _present(value: object) -> bool:
    return not isinstance(value, asn1_core.Void)


def _signer(signed: asn1_cms.SignedData, index: int) -> asn1_cms.SignerInfo:
    infos = signed["signer_infos"]
    if not 0 <= index < len(infos):
        raise InvalidInput(str(index), reason=f"the signature has {len(infos)} signer(s)")
    return infos[index]


def _children(der: bytes) -> list[tuple[int, int, bytes]]:
    """(class, tag, whole TLV) of each element inside the constructed value ``der``."""
    contents = asn1_parser.parse(der)[4]
    found = []
    pos = 0
    while pos < len(contents):
        cls, _, tag, header, body, trailer = asn1_parser.parse(contents[pos:], strict=False)
        size = len(header) + len(body) + len(trailer)
        found.append((cls, tag, contents[pos : pos + size]))
        pos += size
    return found


def _octet_strings(sequence: bytes) -> tuple[bytes, ...]:
    """The values of a SEQUENCE OF OCTET STRING (read by hand: a hash index is read for every
    archive timestamp of every validation)."""
    if asn1_parser.parse(sequence)[:3] != (0, 1, 16):
        raise ValueError("not a SEQUENCE")
    found = []
    for cls, tag, tlv in _children(sequence):
        parsed = asn1_parser.parse(tlv)
        if (cls, parsed[1], tag) != (0, 0, 4):
            raise ValueError("a hash is not an OCTET STRING")
        found.append(bytes(parsed[4]))
    return tuple(found)


def _signer_fields(info: asn1_cms.SignerInfo) -> bytes:
    """§5.5.3 item 3: version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm and
    signature, each as encoded (tag, length, value): everything but unsignedAttrs [1]."""
    fields = _children(info.dump())
    if fields and fields[-1][:2] == (2, 1):  # context-specific [1]: unsignedAttrs
        fields = fields[:-1]
    return b"".join(tlv for _, _, tlv in fields)


def _unsigned_attributes(info: asn1_cms.SignerInfo) -> list[asn1_cms.CMSAttribute]:
    unsigned = info["unsigned_attrs"]
    return list(unsigned) if _present(unsigned) else []


def present_index(
    signature: bytes | str, signer: int = 0, digest: DigestAlgorithm = DigestAlgorithm.SHA256
) -> HashIndex:
    """The ATSHashIndexV3 of the signature as it stands now, for SignerInfo number ``signer``."""
    signed = _load(signature)
    return _index_of(signed, _signer(signed, signer), digest)


def _index_of(
    signed: asn1_cms.SignedData, info: asn1_cms.SignerInfo, digest: DigestAlgorithm
) -> HashIndex:
    certificates = signed["certificates"]
    crls = signed["crls"]
    values: list[bytes] = []
    for attribute in _unsigned_attributes(info):
        # §5.5.2: one hash per value, over attrType's TLV then that value's TLV (not the whole
        # Attribute: a multi-valued one is then re-sorted harmlessly).
        kind = attribute["type"].dump()
        values.extend(digest.digest(kind + value.dump()) for value in attribute["values"])
    return HashIndex(
        digest,
        tuple(digest.digest(c.dump()) for c in certificates) if _present(certificates) else (),
        tuple(digest.digest(c.dump()) for c in crls) if _present(crls) else (),
        tuple(values),
    )


def _content_digests(
    signed: asn1_cms.SignedData, content: Content, algorithms: Iterable[DigestAlgorithm]
) -> dict[DigestAlgorithm, bytes]:
    """Each algorithm's digest of what message-digest covers: the eContent's octets, or the
    detached ``content`` (a stream is read once, in chunks). InvalidInput when a detached
    signature's data is missing, or an attached one is given other data."""
    wanted = list(dict.fromkeys(algorithms))
    encapsulated = signed["encap_content_info"]["content"]
    if _present(encapsulated):
        inner = encapsulated.native if isinstance(encapsulated.native, bytes) else None
        octets = inner if inner is not None else bytes(encapsulated.contents)
        if isinstance(content, bytes) and content != octets:
            raise InvalidInput("other data", reason="the data is not what the signature covers")
        return {a: a.digest(octets) for a in wanted}
    if content is None:
        reason = "an archive timestamp of a detached signature needs the signed data"
        raise InvalidInput("detached without data", reason=reason)
    if isinstance(content, bytes):
        return {a: a.digest(content) for a in wanted}
    hashers = {a: a.new() for a in wanted}
    for chunk in iter(lambda: content.read(_CHUNK), b""):
        for hasher in hashers.values():
            hasher.update(chunk)
    return {a: bytes(h.digest()) for a, h in hashers.items()}


def _imprint_input(
    signed: asn1_cms.SignedData, info: asn1_cms.SignerInfo, content_digest: bytes, index: bytes
) -> bytes:
    """§5.5.3 items 1-4, concatenated."""
    content_type = signed["encap_content_info"]["content_type"].dump()
    return b"".join([content_type, content_digest, _signer_fields(info), index])


# -- the token and its index -----------------------------------------------------------------


def _token_signer(token: asn1_cms.ContentInfo) -> asn1_cms.SignerInfo:
    infos = token["content"]["signer_infos"]
    if len(infos) != 1:
        raise ValueError(f"a token has one signer, this one has {len(infos)}")
    return infos[0]


def _load_token(token_der: bytes) -> asn1_cms.ContentInfo:
    try:
        token = asn1_cms.ContentInfo.load(bytes(token_der))
        _token_signer(token)
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedCms(f"archive timestamp token: {type(exc).__name__}: {exc}") from None
    return token


def _token_digest(token: asn1_cms.ContentInfo) -> DigestAlgorithm:
    """The hash of the token's messageImprint (which item 2 and the imprint itself use)."""
    try:
        tst_info = token["content"]["encap_content_info"]["content"].parsed
        oid = tst_info["message_imprint"]["hash_algorithm"]["algorithm"].dotted
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedCms(f"archive timestamp TSTInfo: {type(exc).__name__}: {exc}") from None
    return DigestAlgorithm.from_oid(oid)


def _index_value(token: asn1_cms.ContentInfo) -> bytes:
    """The DER of the one ATSHashIndexV3 in the token's unsigned attributes (§5.5.2)."""
    found = [
        value.dump()
        for attribute in _unsigned_attributes(_token_signer(token))
        if attribute["type"].dotted == ID_ATS_HASH_INDEX_V3
        for value in attribute["values"]
    ]
    if len(found) != 1:
        reason = f"the token holds {len(found)} ats-hash-index-v3 values, not one"
        raise InvalidInput("ats-hash-index-v3", reason=reason)
    return bytes(found[0])


def hash_index_of(token_der: bytes) -> HashIndex:
    """The ATSHashIndexV3 an archive-time-stamp-v3 token carries; MalformedCms or InvalidInput
    when it has none or it does not parse."""
    try:
        return HashIndex.load(_index_value(_load_token(token_der)))
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedCms(f"ats-hash-index-v3: {type(exc).__name__}: {exc}") from None


def attach_hash_index(token_der: bytes, index: bytes) -> bytes:
    """The token with ats-hash-index-v3 ``index`` (DER) added to its SignerInfo's unsignedAttrs
    (§5.5.2): the TSA signed the TSTInfo through its signed attributes only, so it still holds."""
    token = _load_token(token_der)
    signed = token["content"]
    info = asn1_cms.SignerInfo.load(_token_signer(token).dump())
    attribute = asn1_cms.CMSAttribute(
        {"type": ID_ATS_HASH_INDEX_V3, "values": [asn1_core.Any.load(index)]}
    )
    info["unsigned_attrs"] = asn1_cms.CMSAttributes([*_unsigned_attributes(info), attribute])
    signed["signer_infos"] = asn1_cms.SignerInfos([info])
    return bytes(asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


# -- writing -------------------------------------------------------------------------------------


def add_archive_timestamp(signature: bytes | str, stamp: Stamp, content: Content = None) -> bytes:
    """The CMS with an archive-time-stamp-v3 added to each SignerInfo (a renewal when it has
    one already); ``stamp`` gets a SHA-256 digest (cms.Stamp's shape). A detached signature
    needs its ``content`` (bytes or a stream), checked against the signer's message-digest."""
    signed = _load(signature)
    algorithm = DigestAlgorithm.SHA256
    signer_digests = [_signer_digest(info) for info in signed["signer_infos"]]
    wanted = [algorithm, *(d for d, _ in signer_digests if d is not None)]
    digests = _content_digests(signed, content, wanted)
    for digest, expected in signer_digests:
        if digest is not None and expected is not None and digests[digest] != expected:
            raise InvalidInput("other data", reason="the data is not what the signature covers")
    infos = []
    for info in signed["signer_infos"]:
        index = _index_of(signed, info, algorithm).dump()
        data = _imprint_input(signed, info, digests[algorithm], index)
        token = attach_hash_index(stamp(hashlib.sha256(data).digest()), index)
        tsp.verify_token(token, data)  # never embed a token that does not hold
        attribute = asn1_cms.CMSAttribute(
            {"type": ID_ARCHIVE_TIMESTAMP_V3, "values": [asn1_core.Any.load(token)]}
        )
        copy = asn1_cms.SignerInfo.load(info.dump())
        copy["unsigned_attrs"] = asn1_cms.CMSAttributes([*_unsigned_attributes(copy), attribute])
        infos.append(copy)
    signed["signer_infos"] = asn1_cms.SignerInfos(infos)
    return bytes(asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def _signer_digest(info: asn1_cms.SignerInfo) -> tuple[DigestAlgorithm | None, bytes | None]:
    """The signer's digest algorithm and message-digest value (None where not readable)."""
    try:
        digest = DigestAlgorithm.from_oid(info["digest_algorithm"]["algorithm"].dotted)
    except UnsupportedAlgorithm:
        return None, None
    signed_attrs = info["signed_attrs"]
    for attribute in signed_attrs if _present(signed_attrs) else ():
        if attribute["type"].dotted == "1.2.840.113549.1.9.4":
            return digest, bytes(attribute["values"][0].native)
    return digest, None


# -- reading and checking ------------------------------------------------------------------------


def archive_tokens(signature: bytes | str, signer: int = 0) -> list[bytes]:
    """The archive-time-stamp-v3 tokens of SignerInfo number ``signer``, as embedded."""
    info = _signer(_load(signature), signer)
    return [
        bytes(value.dump())
        for attribute in _unsigned_attributes(info)
        if attribute["type"].dotted == ID_ARCHIVE_TIMESTAMP_V3
        for value in attribute["values"]
    ]


def stamped_data(
    signature: bytes | str, token: bytes, content: Content = None, signer: int = 0
) -> bytes:
    """The exact bytes ``token`` (an archive-time-stamp-v3 of SignerInfo ``signer``) must
    stamp: hashed with the token's algorithm they give its messageImprint (§5.5.3)."""
    signed = _load(signature)
    loaded = _load_token(token)
    digest = _token_digest(loaded)
    index = _index_value(loaded)
    content_digest = _content_digests(signed, content, [digest])[digest]
    return _imprint_input(signed, _signer(signed, signer), content_digest, index)


@dataclass(frozen=True, slots=True)
class ArchiveCheck:
    """One archive timestamp checked for integrity (its index and imprint): ``token`` is the
    checked token when both hold, else ``problem`` says what does not."""

    version: Literal["v2", "v3"]
    token_der: bytes
    token: tsp.TimeStampToken | None
    problem: str | None = None

    @property
    def gen_time(self) -> datetime | None:
        """When the TSA stamped it (None when the token does not hold)."""
        return self.token.gen_time if self.token is not None else None


def check_archive_timestamps(
    signature: bytes | str, content: Content = None
) -> tuple[tuple[ArchiveCheck, ...], ...]:
    """Every archive-time-stamp-v3 of each SignerInfo (one tuple per SignerInfo, in their
    order), oldest first: each index entry must still match something in the signature (what was
    added after the stamp is allowed) and the token must stamp ``stamped_data``. A stream
    ``content`` is read once. The TSA's chain is not judged here: validation does that."""
    signed = _load(signature)
    read: list[tuple[asn1_cms.SignerInfo, list[_Read]]] = []
    for info in signed["signer_infos"]:
        tokens: list[_Read] = []
        for attribute in _unsigned_attributes(info):
            if attribute["type"].dotted != ID_ARCHIVE_TIMESTAMP_V3:
                continue
            for value in attribute["values"]:
                token_der = bytes(value.dump())
                try:
                    loaded = _load_token(token_der)
                    tokens.append((token_der, loaded, _token_digest(loaded), None))
                except QalamError as error:
                    tokens.append((token_der, None, None, error.message("en")))
        read.append((info, tokens))
    wanted = [digest for _, tokens in read for _, _, digest, _ in tokens if digest is not None]
    missing = None
    digests: dict[DigestAlgorithm, bytes] = {}
    if wanted:
        try:
            digests = _content_digests(signed, content, wanted)
        except InvalidInput as error:
            missing = error.message("en")
    result = []
    for info, tokens in read:
        present: dict[DigestAlgorithm, HashIndex] = {}  # the signature now, per hash
        checks = [_check_one(signed, info, *one, digests, missing, present) for one in tokens]
        # The SET OF unsignedAttrs is re-sorted as DER wants whenever one is added: the
        # stamps' own times give their order.
        checks.sort(key=lambda c: (c.gen_time is None, c.gen_time or _NEVER))
        result.append(tuple(checks))
    return tuple(result)


def _check_one(
    signed: asn1_cms.SignedData,
    info: asn1_cms.SignerInfo,
    token_der: bytes,
    token: asn1_cms.ContentInfo | None,
    digest: DigestAlgorithm | None,
    problem: str | None,
    digests: dict[DigestAlgorithm, bytes],
    missing: str | None,
    present: dict[DigestAlgorithm, HashIndex],
) -> ArchiveCheck:
    if token is None or digest is None:
        return ArchiveCheck("v3", token_der, None, problem or "not a timestamp token")
    if missing is not None:
        return ArchiveCheck("v3", token_der, None, missing)
    try:
        index_der = _index_value(token)
        index = HashIndex.load(index_der)
    except MalformedCms as error:
        return ArchiveCheck("v3", token_der, None, f"malformed ({error.detail})")
    except QalamError as error:
        return ArchiveCheck("v3", token_der, None, error.message("en"))
    except (ValueError, KeyError, TypeError) as exc:  # asn1crypto parses lazily, here
        problem = f"its token's unsigned attributes are malformed ({type(exc).__name__})"
        return ArchiveCheck("v3", token_der, None, problem)
    if index.digest not in present:
        present[index.digest] = _index_of(signed, info, index.digest)
    gone = index.missing_from(present[index.digest])
    if gone:
        what = ", ".join(gone)
        problem = f"the archive timestamp covers data that was removed or altered since: {what}"
        return ArchiveCheck("v3", token_der, None, problem)
    data = _imprint_input(signed, info, digests[digest], index_der)
    try:
        return ArchiveCheck("v3", token_der, tsp.verify_token(token_der, data))
    except QalamError as error:
        return ArchiveCheck("v3", token_der, None, f"the archive timestamp {error.message('en')}")


__all__ = [
    "ID_ARCHIVE_TIMESTAMP_V2",
    "ID_ARCHIVE_TIMESTAMP_V3",
    "ID_ATS_HASH_INDEX_V3",
    "ArchiveCheck",
    "Content",
    "HashIndex",
    "add_archive_timestamp",
    "archive_tokens",
    "attach_hash_index",
    "check_archive_timestamps",
    "hash_index_of",
    "present_index",
    "stamped_data",
]
