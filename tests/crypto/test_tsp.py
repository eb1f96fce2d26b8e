"""crypto/tsp against a TSA nobody here wrote for the client: ca_server.tsa.respond."""

from __future__ import annotations

import hashlib

import pytest
from tsa_helpers import respond, tsa_signer

from ca_server import tsa
from signer_app.crypto import tsp
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.errors import (
    InvalidInput,
    InvalidTimestamp,
    MalformedTimestamp,
    TsaRefused,
)

DATA = "Құжат — документ".encode()


@pytest.mark.parametrize("digest", [DigestAlgorithm.SHA256, DigestAlgorithm.SHA512])
def test_round_trip(digest: DigestAlgorithm) -> None:
    imprint = digest.digest(DATA)
    query = tsp.build_query(imprint, digest, nonce=(1 << 63) + 5)
    token = tsp.parse_response(respond(query), query)
    assert token.imprint == imprint
    assert token.digest is digest
    assert token.nonce == (1 << 63) + 5
    assert token.policy == tsa.DEFAULT_POLICY
    assert token.tsa_certificate == tsa_signer().certificate
    assert token.gen_time.tzinfo is not None
    again = tsp.verify_token(token.der, DATA)
    assert (again.gen_time, again.serial) == (token.gen_time, token.serial)


def test_query_without_nonce_and_without_cert_req() -> None:
    query = tsp.build_query(b"\x01" * 32, DigestAlgorithm.SHA256, nonce=None)
    assert tsp.parse_response(respond(query), query).nonce is None
    bare = tsp.build_query(b"\x01" * 32, DigestAlgorithm.SHA256, nonce=None, cert_req=False)
    with pytest.raises(InvalidTimestamp, match="certificate"):  # nothing to verify it with
        tsp.parse_response(respond(bare), bare)
    with pytest.raises(InvalidInput):
        tsp.build_query(b"\x01" * 31, DigestAlgorithm.SHA256, nonce=1)


def test_policy_accepted_and_rejected_with_fail_info_words() -> None:
    query = tsp.build_query(b"\x02" * 32, DigestAlgorithm.SHA256, nonce=7, policy="1.2.3.4")
    with pytest.raises(TsaRefused) as caught:
        tsp.parse_response(respond(query), query)
    assert caught.value.status == 2
    assert caught.value.fail_info == ("unacceptedPolicy",)
    message = caught.value.message("en")
    assert "rejection" in message
    assert "the requested policy is not offered" in message


def test_bad_alg_rejection() -> None:
    # a SHA-1 imprint is refused by the TSA (badAlg); build the query by hand
    from signer_app.crypto import der

    imprint = hashlib.sha1(DATA, usedforsecurity=False).digest()
    query = der.sequence(
        der.integer(1),
        der.sequence(der.sequence(der.oid("1.3.14.3.2.26")), der.octet_string(imprint)),
    )
    with pytest.raises(TsaRefused) as caught:
        tsp.parse_response(respond(query), query)
    assert caught.value.fail_info == ("badAlg",)
    assert "hash algorithm is not supported" in str(caught.value)


def test_nonce_mismatch() -> None:
    imprint = DigestAlgorithm.SHA256.digest(DATA)
    sent = tsp.build_query(imprint, DigestAlgorithm.SHA256, nonce=1)
    other = tsp.build_query(imprint, DigestAlgorithm.SHA256, nonce=2)
    with pytest.raises(InvalidTimestamp, match="nonce"):
        tsp.parse_response(respond(other), sent)


def test_imprint_mismatch() -> None:
    sent = tsp.build_query(b"\x03" * 32, DigestAlgorithm.SHA256, nonce=1)
    other = tsp.build_query(b"\x04" * 32, DigestAlgorithm.SHA256, nonce=1)
    with pytest.raises(InvalidTimestamp, match="another hash"):
        tsp.parse_response(respond(other), sent)
    token = tsp.parse_response(respond(sent), sent)
    with pytest.raises(InvalidTimestamp):
        tsp.verify_token(token.der, b"other data")


@pytest.mark.parametrize("garbage", [b"", b"\x30\x00", b"not DER at all", b"\x30\x03\x02\x01"])
def test_garbage_is_malformed(garbage: bytes) -> None:
    query = tsp.build_query(b"\x05" * 32, DigestAlgorithm.SHA256, nonce=1)
    with pytest.raises(MalformedTimestamp):
        tsp.parse_response(garbage, query)
    with pytest.raises(MalformedTimestamp):
        tsp.verify_token(garbage, b"x")


def test_tampered_token_does_not_verify() -> None:
    query = tsp.build_query(hashlib.sha256(DATA).digest(), DigestAlgorithm.SHA256, nonce=9)
    token = tsp.parse_response(respond(query), query).der
    signature_at = len(token) - 10  # inside the TSA's signature value (the token's last field)
    tampered = token[:signature_at] + bytes([token[signature_at] ^ 1]) + token[signature_at + 1 :]
    with pytest.raises(InvalidTimestamp, match="signature"):
        tsp.verify_token(tampered, DATA)


def test_a_token_signed_by_a_non_tsa_certificate_is_refused(demo) -> None:
    """A key without the timeStamping EKU (a citizen's) cannot make tokens we accept."""
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric import rsa
    from tsa_helpers import nac

    from ca_server.responder_keys import build_service_certificate, service_subject

    ca_cert, ca_key = nac()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = build_service_certificate(
        ca_certificate=ca_cert,
        ca_key=ca_key,
        public_key=key.public_key(),
        subject=service_subject("NOT A TSA", ca_cert),
        not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        validity=dt.timedelta(days=30),
        extensions=[],
    )
    fake = object.__new__(tsa.TsaSigner)  # skip __post_init__'s EKU check: a forger would
    real = tsa_signer()
    for name in ("policy", "accepted_policies", "accepted_digests", "accuracy"):
        object.__setattr__(fake, name, getattr(real, name))
    object.__setattr__(fake, "fractional_digits", 0)
    object.__setattr__(fake, "chain", ())
    object.__setattr__(fake, "certificate", cert)
    object.__setattr__(fake, "private_key", key)
    object.__setattr__(fake, "_fixed", fake._build_fixed())
    query = tsp.build_query(hashlib.sha256(DATA).digest(), DigestAlgorithm.SHA256, nonce=3)
    with pytest.raises(InvalidTimestamp, match="time-stamping certificate"):
        tsp.parse_response(tsa.respond(query, fake, serial=1), query)
