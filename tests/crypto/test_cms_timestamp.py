"""cms.add_signature_timestamp (CAdES-T) and what verify reports about it, with a real TSA."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import cms as asn1_cms
from tsa_helpers import respond

from signer_app.crypto import cms, der, tsp
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.cms import _signed_data_parts, _with_unsigned_attribute
from signer_app.crypto.errors import InvalidTimestamp

DATA = "Құжат мәтіні — текст документа".encode() * 10
STAMP_OID = "1.2.840.113549.1.9.16.2.14"


def stamp(imprint: bytes) -> bytes:
    query = tsp.build_query(imprint, DigestAlgorithm.SHA256, nonce=42)
    return tsp.parse_response(respond(query), query).der


def signer_infos(cms_der: bytes) -> list[asn1_cms.SignerInfo]:
    return list(asn1_cms.ContentInfo.load(cms_der)["content"]["signer_infos"])


def without_unsigned(info: asn1_cms.SignerInfo) -> bytes:
    """The SignerInfo's fields before unsignedAttrs, as encoded."""
    raw = info.dump()
    _, start, stop, _ = der.read(raw, 0, len(raw))
    fields = der.items(raw, start, stop)
    end = fields[-1][1] if fields[-1][0] == 0xA1 else stop
    return raw[start:end]


def with_unsigned(cms_der: bytes, attribute: bytes) -> bytes:
    """The one-signer CMS with ``attribute`` added unsigned, unchecked (to forge test cases)."""
    prefix, (encoded,) = _signed_data_parts(cms_der)
    body = der.sequence(prefix + der.set_of(_with_unsigned_attribute(encoded, attribute)))
    return der.sequence(der.oid("1.2.840.113549.1.7.2"), der.tlv(0xA0, body))


@pytest.mark.parametrize("detached", [False, True])
def test_stamped_signer_is_the_same_plus_the_token(citizen_sign, detached):
    plain = cms.sign(DATA, citizen_sign, detached=detached)
    stamped = cms.add_signature_timestamp(plain, stamp)
    (before,) = signer_infos(plain)
    (after,) = signer_infos(stamped)
    assert "unsigned_attrs" not in before.native or before["unsigned_attrs"].native is None
    assert without_unsigned(after) == without_unsigned(before)  # byte for byte
    assert without_unsigned(before) in stamped
    (attribute,) = after["unsigned_attrs"]
    assert attribute["type"].dotted == STAMP_OID
    (token,) = attribute["values"]
    checked = tsp.verify_token(token.dump(), after["signature"].native)
    assert checked.imprint == hashlib.sha256(after["signature"].native).digest()
    # content, certificates and digest algorithms travel unchanged
    old = asn1_cms.ContentInfo.load(plain)["content"]
    new = asn1_cms.ContentInfo.load(stamped)["content"]
    for name in ("version", "digest_algorithms", "encap_content_info", "certificates"):
        assert new[name].dump() == old[name].dump()
    result = cms.verify(stamped, None if not detached else DATA)
    assert result.valid
    (signer,) = result.signers
    assert signer.timestamp_time == checked.gen_time
    assert signer.problems == ()
    (kept,) = signer.timestamps  # what validation.py goes on from
    assert kept.der == token.dump()
    assert kept.error is None
    assert kept.token is not None
    assert (kept.token.serial, kept.token.gen_time) == (checked.serial, checked.gen_time)


def test_unstamped_signature_has_no_timestamp_time(citizen_sign):
    (signer,) = cms.verify(cms.sign(DATA, citizen_sign)).signers
    assert signer.timestamp_time is None


def test_already_stamped_is_returned_unchanged_and_cosigners_get_their_own(citizen_sign, demo):
    stamped = cms.add_signature_timestamp(cms.sign(DATA, citizen_sign), stamp)
    calls: list[bytes] = []

    def counting(imprint: bytes) -> bytes:
        calls.append(imprint)
        return stamp(imprint)

    assert cms.add_signature_timestamp(stamped, counting) == stamped
    assert calls == []
    both = cms.cosign(stamped, demo["ceo_sign"].open())
    twice = cms.add_signature_timestamp(both, counting)
    assert len(calls) == 1  # only the new signer
    result = cms.verify(twice)
    assert result.valid
    assert all(s.timestamp_time is not None for s in result.signers)


def test_tampered_token_is_timestamp_invalid(citizen_sign):
    stamped = cms.add_signature_timestamp(cms.sign(DATA, citizen_sign), stamp)
    (info,) = signer_infos(stamped)
    token = info["unsigned_attrs"][0]["values"][0].dump()
    at = stamped.index(token) + len(token) - 8  # inside the TSA's signature
    tampered = stamped[:at] + bytes([stamped[at] ^ 0x01]) + stamped[at + 1 :]
    (signer,) = cms.verify(tampered).signers
    assert signer.problems == (cms.TIMESTAMP_INVALID,)
    assert not signer.valid
    assert signer.timestamp_time is None
    (kept,) = signer.timestamps
    assert kept.token is None
    assert isinstance(kept.error, InvalidTimestamp)


def test_token_for_another_signature_is_timestamp_invalid(citizen_sign):
    other = cms.add_signature_timestamp(cms.sign(b"other", citizen_sign), stamp)
    (info,) = signer_infos(other)
    foreign = info["unsigned_attrs"][0]["values"][0].dump()
    # graft the foreign token onto a fresh signature (add_signature_timestamp would refuse it)
    forged = with_unsigned(
        cms.sign(DATA, citizen_sign), der.sequence(der.oid(STAMP_OID), der.set_of(foreign))
    )
    (signer,) = cms.verify(forged).signers
    assert cms.TIMESTAMP_INVALID in signer.problems


def test_a_stamp_that_returns_a_wrong_token_adds_nothing(citizen_sign):
    wrong = stamp(hashlib.sha256(b"something else").digest())
    with pytest.raises(InvalidTimestamp):
        cms.add_signature_timestamp(cms.sign(DATA, citizen_sign), lambda _imprint: wrong)


def test_existing_unsigned_attributes_are_kept(citizen_sign):
    other = der.sequence(der.oid("1.2.3.4.5"), der.set_of(der.octet_string(b"note")))
    start = with_unsigned(cms.sign(DATA, citizen_sign), other)
    stamped = cms.add_signature_timestamp(start, stamp)
    (info,) = signer_infos(stamped)
    types = sorted(a["type"].dotted for a in info["unsigned_attrs"])
    assert types == sorted(["1.2.3.4.5", STAMP_OID])
    assert other in stamped
    assert cms.verify(stamped).signers[0].timestamp_time is not None
