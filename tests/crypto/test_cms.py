"""CMS / CAdES-BES: what we sign is what we verify, and every way of breaking it is caught.

Structure is checked with asn1crypto, an encoder and decoder we did not write; the negative cases
that our own signer cannot produce (no signed attributes, a foreign signingCertificateV2, an
unknown signature algorithm) are built with asn1crypto too.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gc
import hashlib
import io
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp  # also teaches asn1_cms the signingCertificate(V2) types
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signer_app.crypto import cms, der
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.errors import InvalidInput, MalformedCms
from signer_app.crypto.keystores import KeyEntry

KEYS = ["citizen_sign", "citizen_rsa4096_sign", "citizen_ec_sign"]
PAYLOAD = "Қол қойылатын құжат / Подписываемый документ / a signed document\n".encode()
WHEN = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


@pytest.fixture(scope="module", params=KEYS)
def entry(request: pytest.FixtureRequest, demo: dict[str, Any]) -> KeyEntry:
    """Each demo signing key family: RSA-2048, RSA-4096, ECDSA P-256."""
    return demo[request.param].open()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ceo_sign(demo: dict[str, Any]) -> KeyEntry:
    """A second signer for co-signing."""
    return demo["ceo_sign"].open()  # type: ignore[no-any-return]


def _signed_data(blob: bytes) -> asn1_cms.SignedData:
    info = asn1_cms.ContentInfo.load(blob)
    assert info["content_type"].native == "signed_data"
    return info["content"]


def _signer(blob: bytes, index: int = 0) -> asn1_cms.SignerInfo:
    return _signed_data(blob)["signer_infos"][index]


def _only_signer(result: cms.CmsVerification) -> cms.SignerResult:
    assert len(result.signers) == 1
    return result.signers[0]


# -- round trips -----------------------------------------------------------------------------


def test_attached_cms_round_trips_with_our_verifier(entry: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, entry, signing_time=WHEN)

    result = cms.verify(blob)

    assert result.valid
    assert result.content == PAYLOAD
    assert not result.detached
    signer = _only_signer(result)
    assert signer.certificate == entry.certificate
    assert signer.signing_time == WHEN
    assert signer.digest is DigestAlgorithm.SHA256
    assert signer.problems == ()


def test_detached_cms_verifies_only_with_its_data(entry: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, entry, detached=True)

    assert _signed_data(blob)["encap_content_info"]["content"].native is None
    good = cms.verify(blob, PAYLOAD)
    assert good.valid
    assert good.detached
    assert good.content is None
    bad = cms.verify(blob, PAYLOAD + b"!")
    assert not bad.valid
    assert _only_signer(bad).problems == (cms.DIGEST_MISMATCH,)


def test_cms_over_a_precomputed_hash_verifies_against_the_data(entry: KeyEntry) -> None:
    blob = cms.sign_digest(hashlib.sha256(PAYLOAD).digest(), entry)

    assert cms.verify(blob, PAYLOAD).valid
    assert not cms.verify(blob, PAYLOAD[:-1]).valid


def test_cms_over_a_precomputed_sha512_hash_names_sha512(citizen_sign: KeyEntry) -> None:
    blob = cms.sign_digest(
        hashlib.sha512(PAYLOAD).digest(), citizen_sign, digest=DigestAlgorithm.SHA512
    )

    signer = _only_signer(cms.verify(blob, PAYLOAD))
    assert signer.valid
    assert signer.digest is DigestAlgorithm.SHA512
    assert _signer(blob)["digest_algorithm"]["algorithm"].native == "sha512"


def test_streamed_cms_verifies_against_the_same_bytes(entry: KeyEntry) -> None:
    data = bytes(range(256)) * 9000  # 2.2 MiB: several chunks and a partial last one

    blob = cms.sign_stream(io.BytesIO(data), entry)

    assert cms.verify(blob, data).valid
    assert cms.verify(blob, stream=io.BytesIO(data)).valid
    assert not cms.verify(blob, stream=io.BytesIO(data[:-1])).valid


def test_streamed_cms_equals_the_in_memory_detached_one(citizen_sign: KeyEntry) -> None:
    data = b"x" * (cms.CHUNK_SIZE * 2 + 7)

    streamed = cms.sign_stream(io.BytesIO(data), citizen_sign, signing_time=WHEN)
    in_memory = cms.sign(data, citizen_sign, detached=True, signing_time=WHEN)

    assert streamed == in_memory  # RSA PKCS#1 v1.5 is deterministic


def test_stream_without_readinto_is_read_in_chunks_too(citizen_sign: KeyEntry) -> None:
    class Reads:
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)
            self.sizes: list[int] = []

        def read(self, size: int = -1) -> bytes:
            self.sizes.append(size)
            return self.inner.read(size)

    data = b"y" * (cms.CHUNK_SIZE + 1)
    stream = Reads(data)

    blob = cms.sign_stream(stream, citizen_sign)  # type: ignore[arg-type]

    assert cms.verify(blob, data).valid
    assert set(stream.sizes) == {cms.CHUNK_SIZE}


def test_cosigned_cms_has_two_valid_signers(entry: KeyEntry, ceo_sign: KeyEntry) -> None:
    first = cms.sign(PAYLOAD, entry)

    both = cms.cosign(first, ceo_sign)

    result = cms.verify(both)
    assert result.valid
    assert {s.certificate for s in result.signers} == {entry.certificate, ceo_sign.certificate}
    assert result.content == PAYLOAD


def test_cosigned_detached_cms_verifies_with_the_data(entry: KeyEntry, ceo_sign: KeyEntry) -> None:
    first = cms.sign(PAYLOAD, entry, detached=True)

    both = cms.cosign(first, ceo_sign, data=PAYLOAD)

    result = cms.verify(both, PAYLOAD)
    assert result.valid
    assert len(result.signers) == 2
    assert result.detached


# -- what is inside ----------------------------------------------------------------------------


def test_signed_attributes_are_the_cades_bes_set_in_der_order(entry: KeyEntry) -> None:
    signer = _signer(cms.sign(PAYLOAD, entry))

    attributes = signer["signed_attrs"]
    types = {attr["type"].dotted for attr in attributes}
    assert types == {
        "1.2.840.113549.1.9.3",  # contentType
        "1.2.840.113549.1.9.5",  # signingTime
        "1.2.840.113549.1.9.4",  # messageDigest
        "1.2.840.113549.1.9.16.2.47",  # signingCertificateV2
    }
    encodings = [attr.dump() for attr in attributes]
    assert encodings == sorted(encodings)  # DER SET OF order
    native = {attr["type"].native: attr["values"][0].native for attr in attributes}
    assert native["content_type"] == "data"
    assert native["message_digest"] == hashlib.sha256(PAYLOAD).digest()


def test_signing_certificate_v2_names_the_signer_certificate(entry: KeyEntry) -> None:
    signer = _signer(cms.sign(PAYLOAD, entry))
    [attribute] = [a for a in signer["signed_attrs"] if a["type"].dotted.endswith(".2.47")]

    ess_cert_id = attribute["values"][0]["certs"][0]

    # DEFAULT sha256 must be omitted in DER: the first element is the hash itself.
    assert ess_cert_id.contents[0] == 0x04
    assert ess_cert_id["cert_hash"].native == hashlib.sha256(entry.certificate_der).digest()
    issuer_serial = ess_cert_id["issuer_serial"]
    assert issuer_serial["serial_number"].native == entry.certificate.serial_number
    certificate = asn1_x509.Certificate.load(entry.certificate_der)
    [general_name] = issuer_serial["issuer"]
    assert general_name.name == "directory_name"  # [4] EXPLICIT Name, the issuer's own bytes
    assert general_name.chosen.dump().endswith(certificate.issuer.dump())


def test_signer_info_is_v1_and_names_the_certificate_by_issuer_and_serial(
    entry: KeyEntry,
) -> None:
    blob = cms.sign(PAYLOAD, entry)
    signed_data = _signed_data(blob)
    signer = signed_data["signer_infos"][0]

    assert signed_data["version"].native == "v1"
    assert signer["version"].native == "v1"
    assert signer["sid"].name == "issuer_and_serial_number"
    sid = signer["sid"].chosen
    assert sid["serial_number"].native == entry.certificate.serial_number
    certificate = asn1_x509.Certificate.load(entry.certificate_der)
    assert sid["issuer"].dump() == certificate.issuer.dump()
    assert [c.chosen.dump() for c in signed_data["certificates"]] == [entry.certificate_der]
    assert [a["algorithm"].native for a in signed_data["digest_algorithms"]] == ["sha256"]


def test_our_cms_is_canonical_der(entry: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, entry, include_chain=True)

    # asn1crypto re-encodes what it parsed; DER has one encoding, so nothing may change.
    reparsed = asn1_cms.ContentInfo.load(blob)
    assert reparsed.dump(force=True) == blob


def test_chain_is_embedded_on_request(citizen_sign: KeyEntry) -> None:
    assert citizen_sign.chain, "the demo key files carry their chain"

    blob = cms.sign(PAYLOAD, citizen_sign, include_chain=True)

    embedded = {c.chosen.dump() for c in _signed_data(blob)["certificates"]}
    chain = {c.public_bytes(Encoding.DER) for c in citizen_sign.chain}
    assert embedded == {citizen_sign.certificate_der} | chain
    result = cms.verify(blob)
    assert result.valid
    assert len(result.certificates) == 1 + len(citizen_sign.chain)
    assert result.signers[0].certificate == citizen_sign.certificate


def test_signing_time_before_2050_is_utc_time(citizen_sign: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, citizen_sign, signing_time=WHEN)

    assert b"\x17\x0d250314092653Z" in blob


def test_signing_time_from_2050_is_generalized_time(citizen_sign: KeyEntry) -> None:
    later = datetime(2050, 1, 1, 0, 0, 1, tzinfo=UTC)

    blob = cms.sign(PAYLOAD, citizen_sign, signing_time=later)

    assert b"\x18\x0f20500101000001Z" in blob
    assert _only_signer(cms.verify(blob)).signing_time == later


def test_signing_time_in_another_zone_is_written_in_utc(citizen_sign: KeyEntry) -> None:
    almaty = datetime(2025, 3, 14, 14, 26, 53, tzinfo=timezone(timedelta(hours=5)))

    blob = cms.sign(PAYLOAD, citizen_sign, signing_time=almaty)

    assert _only_signer(cms.verify(blob)).signing_time == WHEN


def test_signing_time_without_a_zone_is_refused(citizen_sign: KeyEntry) -> None:
    with pytest.raises(InvalidInput) as caught:
        cms.sign(PAYLOAD, citizen_sign, signing_time=datetime(2025, 1, 1))

    assert caught.value.code == "invalid_input"


def test_signing_time_defaults_to_now(citizen_sign: KeyEntry) -> None:
    before = datetime.now(UTC).replace(microsecond=0)

    signer = _only_signer(cms.verify(cms.sign(PAYLOAD, citizen_sign)))

    assert signer.signing_time is not None
    assert before <= signer.signing_time <= datetime.now(UTC)


def test_empty_content_signs_and_verifies(citizen_sign: KeyEntry) -> None:
    result = cms.verify(cms.sign(b"", citizen_sign))

    assert result.valid
    assert result.content == b""
    assert not result.detached


# -- tampering -------------------------------------------------------------------------------


def test_tampered_content_is_a_digest_mismatch(entry: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, entry)
    position = blob.index(PAYLOAD) + 3

    tampered = blob[:position] + bytes([blob[position] ^ 0x01]) + blob[position + 1 :]

    result = cms.verify(tampered)
    assert not result.valid
    assert _only_signer(result).problems == (cms.DIGEST_MISMATCH,)


def test_tampered_signing_time_is_a_bad_signature(entry: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, entry, signing_time=WHEN)
    assert blob.count(b"250314092653Z") == 1

    tampered = blob.replace(b"250314092653Z", b"250314092654Z")

    signer = _only_signer(cms.verify(tampered))
    assert not signer.valid
    assert signer.problems == (cms.BAD_SIGNATURE,)
    assert signer.signing_time == WHEN + timedelta(seconds=1)  # what it claims, not trusted


def test_tampered_signature_is_a_bad_signature(entry: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, entry)
    signature = _signer(blob)["signature"].native
    position = blob.rindex(signature) + len(signature) // 2

    tampered = blob[:position] + bytes([blob[position] ^ 0x80]) + blob[position + 1 :]

    assert _only_signer(cms.verify(tampered)).problems == (cms.BAD_SIGNATURE,)


def test_another_signers_certificate_is_a_bad_signature(
    citizen_sign: KeyEntry, ceo_sign: KeyEntry
) -> None:
    impostor = KeyEntry("impostor", ceo_sign.certificate, citizen_sign.key)

    signer = _only_signer(cms.verify(cms.sign(PAYLOAD, impostor)))

    assert signer.problems == (cms.BAD_SIGNATURE,)
    assert signer.certificate == ceo_sign.certificate


def test_signer_without_its_certificate_is_reported(citizen_sign: KeyEntry) -> None:
    info = asn1_cms.ContentInfo.load(cms.sign(PAYLOAD, citizen_sign))
    info["content"]["certificates"] = asn1_cms.CertificateSet([])

    signer = _only_signer(cms.verify(info.dump(force=True)))

    assert signer.problems == (cms.CERTIFICATE_MISSING,)
    assert signer.certificate is None
    assert not signer.valid


def test_cms_without_signers_is_not_valid(citizen_sign: KeyEntry) -> None:
    info = asn1_cms.ContentInfo.load(cms.sign(PAYLOAD, citizen_sign))
    info["content"]["signer_infos"] = asn1_cms.SignerInfos([])

    result = cms.verify(info.dump(force=True))

    assert result.signers == ()
    assert not result.valid


# -- CMS made by another encoder (asn1crypto) --------------------------------------------------


def _attribute(name: str, value: object) -> asn1_cms.CMSAttribute:
    return asn1_cms.CMSAttribute({"type": name, "values": [value]})


def _foreign_cms(
    entry: KeyEntry,
    content: bytes,
    attributes: list[asn1_cms.CMSAttribute] | None,
    *,
    signature_algorithm: str | None = None,
    sid_by_key_id: bool = False,
) -> bytes:
    """A CMS built and signed with asn1crypto, not with our encoder."""
    certificate = asn1_x509.Certificate.load(entry.certificate_der)
    if attributes is None:
        signature = entry.key.sign(content, DigestAlgorithm.SHA256)
        signed_attrs = None
    else:
        signed_attrs = asn1_cms.CMSAttributes(attributes)
        signature = entry.key.sign(signed_attrs.dump(), DigestAlgorithm.SHA256)
    rsa = entry.key.algorithm.value == "RSA"
    if sid_by_key_id:
        sid = asn1_cms.SignerIdentifier({"subject_key_identifier": certificate.key_identifier})
    else:
        sid = asn1_cms.SignerIdentifier(
            {
                "issuer_and_serial_number": {
                    "issuer": certificate.issuer,
                    "serial_number": certificate.serial_number,
                }
            }
        )
    signer: dict[str, object] = {
        "version": "v3" if sid_by_key_id else "v1",
        "sid": sid,
        "digest_algorithm": {"algorithm": "sha256", "parameters": None},
        "signature_algorithm": {
            "algorithm": signature_algorithm or ("rsassa_pkcs1v15" if rsa else "sha256_ecdsa")
        },
        "signature": signature,
    }
    if signed_attrs is not None:
        signer["signed_attrs"] = signed_attrs
    signed_data = asn1_cms.SignedData(
        {
            "version": "v3" if sid_by_key_id else "v1",
            "digest_algorithms": [{"algorithm": "sha256", "parameters": asn1_core.Null()}],
            "encap_content_info": {"content_type": "data", "content": content},
            "certificates": [certificate],
            "signer_infos": [signer],
        }
    )
    info = asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return bytes(info.dump())


def _standard_attributes(entry: KeyEntry, content: bytes) -> list[asn1_cms.CMSAttribute]:
    return [
        _attribute("content_type", "data"),
        _attribute("signing_time", asn1_cms.Time({"utc_time": WHEN})),
        _attribute("message_digest", hashlib.sha256(content).digest()),
    ]


def test_foreign_cms_with_null_parameters_verifies(citizen_sign: KeyEntry) -> None:
    blob = _foreign_cms(citizen_sign, PAYLOAD, _standard_attributes(citizen_sign, PAYLOAD))

    signer = _only_signer(cms.verify(blob))

    assert signer.valid, signer.problems
    assert signer.signing_time == WHEN


def test_signer_named_by_subject_key_identifier_is_found(citizen_sign: KeyEntry) -> None:
    blob = _foreign_cms(
        citizen_sign, PAYLOAD, _standard_attributes(citizen_sign, PAYLOAD), sid_by_key_id=True
    )

    signer = _only_signer(cms.verify(blob))

    assert signer.valid, signer.problems
    assert signer.certificate == citizen_sign.certificate


def test_cms_without_signed_attributes_is_verified_over_the_content(
    entry: KeyEntry,
) -> None:
    blob = _foreign_cms(entry, PAYLOAD, None)

    good = _only_signer(cms.verify(blob))
    assert good.valid, good.problems
    assert good.signing_time is None
    tampered = blob.replace(PAYLOAD, PAYLOAD.upper())
    assert _only_signer(cms.verify(tampered)).problems == (cms.BAD_SIGNATURE,)


def test_signing_certificate_v2_of_another_certificate_is_a_mismatch(
    citizen_sign: KeyEntry, ceo_sign: KeyEntry
) -> None:
    other = asn1_x509.Certificate.load(ceo_sign.certificate_der)
    attributes = _standard_attributes(citizen_sign, PAYLOAD)
    attributes.append(
        _attribute(
            "signing_certificate_v2",
            asn1_tsp.SigningCertificateV2(
                {"certs": [{"cert_hash": hashlib.sha256(other.dump()).digest()}]}
            ),
        )
    )

    signer = _only_signer(cms.verify(_foreign_cms(citizen_sign, PAYLOAD, attributes)))

    assert signer.problems == (cms.SIGNING_CERTIFICATE_MISMATCH,)


def test_signing_certificate_v2_with_sha512_hash_is_checked(citizen_sign: KeyEntry) -> None:
    ess = {
        "hash_algorithm": {"algorithm": "sha512"},
        "cert_hash": hashlib.sha512(citizen_sign.certificate_der).digest(),
    }
    attributes = _standard_attributes(citizen_sign, PAYLOAD)
    attributes.append(
        _attribute("signing_certificate_v2", asn1_tsp.SigningCertificateV2({"certs": [ess]}))
    )

    assert cms.verify(_foreign_cms(citizen_sign, PAYLOAD, attributes)).valid


def test_content_type_attribute_must_match_the_content(citizen_sign: KeyEntry) -> None:
    attributes = _standard_attributes(citizen_sign, PAYLOAD)
    attributes[0] = _attribute("content_type", "signed_data")

    signer = _only_signer(cms.verify(_foreign_cms(citizen_sign, PAYLOAD, attributes)))

    assert signer.problems == (cms.CONTENT_TYPE_MISMATCH,)


def test_signed_attributes_without_message_digest_are_refused(citizen_sign: KeyEntry) -> None:
    attributes = _standard_attributes(citizen_sign, PAYLOAD)[:2]

    signer = _only_signer(cms.verify(_foreign_cms(citizen_sign, PAYLOAD, attributes)))

    assert signer.problems == (cms.MESSAGE_DIGEST_MISSING,)


def test_duplicate_message_digest_is_a_malformed_attribute(citizen_sign: KeyEntry) -> None:
    attributes = _standard_attributes(citizen_sign, PAYLOAD)
    attributes.append(_attribute("message_digest", hashlib.sha256(b"other").digest()))

    signer = _only_signer(cms.verify(_foreign_cms(citizen_sign, PAYLOAD, attributes)))

    assert cms.MALFORMED_ATTRIBUTE in signer.problems
    assert not signer.valid


def test_unknown_signature_algorithm_is_unsupported_but_names_the_signer(
    citizen_sign: KeyEntry,
) -> None:
    blob = _foreign_cms(
        citizen_sign,
        PAYLOAD,
        _standard_attributes(citizen_sign, PAYLOAD),
        signature_algorithm="1.2.398.3.10.1.1.2.3.2",  # a GOST 34.10-2015 signature OID
    )

    signer = _only_signer(cms.verify(blob))

    assert signer.problems == (cms.UNSUPPORTED_ALGORITHM,)
    assert signer.certificate == citizen_sign.certificate


def test_unknown_digest_algorithm_is_unsupported(citizen_sign: KeyEntry) -> None:
    info = asn1_cms.ContentInfo.load(
        _foreign_cms(citizen_sign, PAYLOAD, _standard_attributes(citizen_sign, PAYLOAD))
    )
    info["content"]["signer_infos"][0]["digest_algorithm"] = asn1_algos.DigestAlgorithm(
        {"algorithm": "md5"}
    )

    signer = _only_signer(cms.verify(info.dump(force=True)))

    assert cms.UNSUPPORTED_ALGORITHM in signer.problems
    assert signer.digest is None


def test_every_problem_code_is_listed() -> None:
    assert set(cms.PROBLEMS) == {
        "certificate_missing",
        "unsupported_algorithm",
        "message_digest_missing",
        "digest_mismatch",
        "content_type_mismatch",
        "signing_certificate_mismatch",
        "malformed_attribute",
        "bad_signature",
        "timestamp_invalid",
    }


# -- input forms and bad input ------------------------------------------------------------------


def _pem(blob: bytes, label: str, newline: str = "\n") -> str:
    body = base64.b64encode(blob).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return newline.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


@pytest.mark.parametrize(
    "form",
    [
        "der",
        "base64 str",
        "base64 bytes",
        "base64 with newlines",
        "base64url without padding",
        "pem CMS",
        "pem PKCS7 with CRLF",
        "pem as bytes",
    ],
)
def test_verify_accepts_der_base64_and_pem(form: str, citizen_sign: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, citizen_sign)
    text = base64.b64encode(blob).decode()
    given_forms: dict[str, bytes | str] = {
        "der": blob,
        "base64 str": text,
        "base64 bytes": text.encode(),
        "base64 with newlines": "\n".join(text[i : i + 76] for i in range(0, len(text), 76)),
        "base64url without padding": base64.urlsafe_b64encode(blob).decode().rstrip("="),
        "pem CMS": _pem(blob, "CMS"),
        "pem PKCS7 with CRLF": _pem(blob, "PKCS7", "\r\n"),
        "pem as bytes": _pem(blob, "CMS").encode(),
    }

    assert cms.load(given_forms[form]) == blob
    assert cms.verify(given_forms[form]).valid


def _truncated(blob: bytes) -> bytes:
    return blob[: len(blob) // 2]


def _data_content_info(_: bytes) -> bytes:
    return bytes(asn1_cms.ContentInfo({"content_type": "data", "content": b"plain data"}).dump())


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: bytes(range(7, 250)) * 3, id="random bytes"),
        pytest.param(lambda b: b"\x30" + bytes(range(200)), id="random bytes after a SEQUENCE tag"),
        pytest.param(_truncated, id="truncated"),
        pytest.param(lambda b: b[:-1], id="last byte missing"),
        pytest.param(lambda b: b + b"\x00", id="a byte after the end"),
        pytest.param(_data_content_info, id="ContentInfo of plain data"),
        pytest.param(lambda b: b"\x30\x03\x02\x01\x01", id="a SEQUENCE of one INTEGER"),
        pytest.param(lambda b: b"\x30\x80" * 5000, id="indefinite lengths nested too deep"),
        pytest.param(lambda b: b"\x30\x84\xff\xff\xff\xff", id="a length beyond the input"),
        pytest.param(lambda b: b"\xff\xfe\xfd", id="binary that is not text"),
        pytest.param(
            lambda b: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            id="PEM certificate",
        ),
        pytest.param(lambda b: "-----BEGIN CMS-----\nMIIB\n", id="PEM without END"),
        pytest.param(lambda b: base64.b64encode(b"hello world").decode(), id="base64 of not CMS"),
    ],
)
def test_unreadable_input_is_malformed_cms(
    damage: Callable[[bytes], bytes | str], citizen_sign: KeyEntry
) -> None:
    blob = damage(cms.sign(PAYLOAD, citizen_sign))

    with pytest.raises(MalformedCms) as caught:
        cms.verify(blob, PAYLOAD)

    assert caught.value.code == "malformed_cms"


def test_a_certificate_is_not_a_cms(citizen_sign: KeyEntry) -> None:
    with pytest.raises(MalformedCms):
        cms.verify(citizen_sign.certificate_der)


@pytest.mark.parametrize(
    "blob",
    [b"", "", "   \n", "not base64 at all!", "MIIB*", bytearray()],
    ids=["empty bytes", "empty str", "whitespace", "bad characters", "bad character", "bytearray"],
)
def test_empty_or_bad_base64_input_is_invalid_input(blob: bytes | str) -> None:
    with pytest.raises(InvalidInput) as caught:
        cms.verify(blob)

    assert caught.value.code == "invalid_input"


def test_non_bytes_input_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        cms.verify(12345)  # type: ignore[arg-type]


def test_detached_cms_without_data_is_invalid_input(citizen_sign: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, citizen_sign, detached=True)

    with pytest.raises(InvalidInput) as caught:
        cms.verify(blob)

    assert caught.value.code == "invalid_input"


def test_attached_cms_with_other_data_is_invalid_input(citizen_sign: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, citizen_sign)

    assert cms.verify(blob, PAYLOAD).valid
    with pytest.raises(InvalidInput):
        cms.verify(blob, b"something else")
    with pytest.raises(InvalidInput):
        cms.verify(blob, stream=io.BytesIO(PAYLOAD))


def test_data_and_stream_together_are_invalid_input(citizen_sign: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, citizen_sign, detached=True)

    with pytest.raises(InvalidInput):
        cms.verify(blob, PAYLOAD, stream=io.BytesIO(PAYLOAD))


def test_verify_reads_ber_with_indefinite_lengths(citizen_sign: KeyEntry) -> None:
    blob = cms.sign(PAYLOAD, citizen_sign)
    outer = asn1_cms.ContentInfo.load(blob)
    header_length = len(blob) - len(outer.contents)

    ber = b"\x30\x80" + blob[header_length:] + b"\x00\x00"

    assert cms.load(ber) == ber
    assert cms.verify(ber).valid


def test_hash_of_the_wrong_length_is_invalid_input(citizen_sign: KeyEntry) -> None:
    with pytest.raises(InvalidInput) as caught:
        cms.sign_digest(hashlib.sha1(PAYLOAD).digest(), citizen_sign)  # noqa: S324

    assert caught.value.code == "invalid_input"
    assert "32" in str(caught.value)


# -- co-signing ---------------------------------------------------------------------------------


def test_cosign_keeps_the_first_signer_byte_for_byte(
    citizen_sign: KeyEntry, ceo_sign: KeyEntry
) -> None:
    first = cms.sign(PAYLOAD, citizen_sign)
    first_signer = _signer(first).dump()

    both = cms.cosign(first, ceo_sign)

    signers = [s.dump() for s in _signed_data(both)["signer_infos"]]
    assert first_signer in signers
    assert len(signers) == 2
    assert first_signer in both


def test_cosign_adds_certificate_and_digest_algorithm_once(
    citizen_sign: KeyEntry, ceo_sign: KeyEntry
) -> None:
    first = cms.sign(PAYLOAD, citizen_sign)

    twice = cms.cosign(cms.cosign(first, ceo_sign, digest=DigestAlgorithm.SHA384), ceo_sign)

    signed_data = _signed_data(twice)
    assert len(signed_data["signer_infos"]) == 3
    assert len(signed_data["certificates"]) == 2
    algorithms = [a["algorithm"].native for a in signed_data["digest_algorithms"]]
    assert sorted(algorithms) == ["sha256", "sha384"]
    result = cms.verify(twice)
    assert result.valid
    assert [s.digest for s in result.signers].count(DigestAlgorithm.SHA384) == 1


def test_cosign_accepts_pem_from_the_basics_module(
    citizen_sign: KeyEntry, ceo_sign: KeyEntry
) -> None:
    pem = _pem(cms.sign(PAYLOAD, citizen_sign), "CMS")

    assert cms.verify(cms.cosign(pem, ceo_sign)).valid


def test_cosign_of_detached_cms_needs_the_data(citizen_sign: KeyEntry, ceo_sign: KeyEntry) -> None:
    first = cms.sign(PAYLOAD, citizen_sign, detached=True)

    with pytest.raises(InvalidInput):
        cms.cosign(first, ceo_sign)


def test_cosign_refuses_data_the_first_signer_did_not_sign(
    citizen_sign: KeyEntry, ceo_sign: KeyEntry
) -> None:
    first = cms.sign(PAYLOAD, citizen_sign, detached=True)

    with pytest.raises(InvalidInput):
        cms.cosign(first, ceo_sign, data=b"another document")


def test_cosign_of_garbage_is_malformed_cms(ceo_sign: KeyEntry) -> None:
    with pytest.raises(MalformedCms):
        cms.cosign(b"\x30\x03\x02\x01\x01", ceo_sign)


# -- streaming ---------------------------------------------------------------------------------


def test_stream_progress_reports_bytes_done(citizen_sign: KeyEntry) -> None:
    size = cms.CHUNK_SIZE * 2 + cms.CHUNK_SIZE // 2
    seen: list[int] = []

    cms.sign_stream(io.BytesIO(b"z" * size), citizen_sign, progress=seen.append)

    assert seen == [cms.CHUNK_SIZE, cms.CHUNK_SIZE * 2, size]


def test_progress_callback_cancels_by_raising(citizen_sign: KeyEntry) -> None:
    class Cancelled(Exception):
        pass

    def cancel_after_first_chunk(done: int) -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        cms.sign_stream(
            io.BytesIO(b"z" * (cms.CHUNK_SIZE * 4)), citizen_sign, progress=cancel_after_first_chunk
        )


def test_stream_read_error_propagates(citizen_sign: KeyEntry) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        cms.sign_stream(Broken(), citizen_sign)  # type: ignore[arg-type]


def test_empty_stream_signs_the_empty_content(citizen_sign: KeyEntry) -> None:
    blob = cms.sign_stream(io.BytesIO(b""), citizen_sign)

    assert cms.verify(blob, b"").valid


# -- caching never keeps a key alive ------------------------------------------------------------


def test_signing_cache_does_not_keep_a_closed_key_alive(citizen_sign: KeyEntry) -> None:
    copy = dataclasses.replace(citizen_sign)
    cms.sign(PAYLOAD, copy)
    alive = weakref.ref(copy)

    del copy
    gc.collect()

    assert alive() is None


# -- property ----------------------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(min_size=1, max_size=300), data=st.data())
def test_any_payload_round_trips_and_any_flipped_content_byte_breaks_it(
    payload: bytes, data: st.DataObject, citizen_sign: KeyEntry
) -> None:
    blob = cms.sign(payload, citizen_sign, signing_time=WHEN)
    assert cms.verify(blob).valid
    index = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    flipped = bytearray(payload)
    flipped[index] ^= data.draw(st.integers(min_value=1, max_value=255))

    detached = cms.sign(payload, citizen_sign, detached=True, signing_time=WHEN)
    result = cms.verify(detached, bytes(flipped))

    assert not result.valid
    assert result.signers[0].problems == (cms.DIGEST_MISMATCH,)
    # In the attached form the content follows eContentType, [0] and the OCTET STRING header.
    e_content_type = blob.index(der.oid("1.2.840.113549.1.7.1"))
    octets_header = der.header(der.OCTET_STRING, len(payload))
    content_offset = (
        e_content_type
        + len(der.oid("1.2.840.113549.1.7.1"))
        + len(der.header(0xA0, len(octets_header) + len(payload)))
        + len(octets_header)
    )
    assert blob[content_offset : content_offset + len(payload)] == payload
    tampered = blob[:content_offset] + bytes(flipped) + blob[content_offset + len(payload) :]
    assert not cms.verify(tampered).valid


@settings(max_examples=300, deadline=None)
@given(blob=st.binary(max_size=400) | st.builds(lambda tail: b"\x30\x80" + tail, st.binary()))
def test_arbitrary_bytes_raise_only_our_errors(blob: bytes) -> None:
    with contextlib.suppress(MalformedCms, InvalidInput):
        cms.verify(blob, b"data")


# A changed serial number byte can make it negative, which `cryptography` warns about.
@pytest.mark.filterwarnings("ignore:Parsed a serial number:UserWarning")
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_changed_byte_is_reported_not_crashed_on(
    data: st.DataObject, citizen_sign: KeyEntry
) -> None:
    blob = _SIGNED_FOR_FUZZING.setdefault("blob", cms.sign(PAYLOAD, citizen_sign))
    index = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    changed = bytearray(blob)
    changed[index] ^= data.draw(st.integers(min_value=1, max_value=255))

    with contextlib.suppress(MalformedCms):
        cms.verify(bytes(changed))


_SIGNED_FOR_FUZZING: dict[str, bytes] = {}


def test_a_malformed_signature_algorithm_oid_is_a_problem_not_a_crash(citizen_sign) -> None:
    """Found by the changed-byte property: an OID whose last octet keeps the high bit."""
    signed = bytearray(cms.sign(b"document", citizen_sign))
    oid = bytes.fromhex("2a864886f70d01010b")  # sha256WithRSAEncryption
    at = signed.rindex(oid)
    signed[at + len(oid) - 1] |= 0x80
    result = cms.verify(bytes(signed))
    assert not result.valid
    assert "unsupported_algorithm" in result.signers[0].problems
