"""Each check of tsp.verify_token on its own: a token from a real TSA (ca_server.tsa), changed
in exactly one place and, where the change would otherwise only break the TSA's signature,
signed again with the TSA's own key, so that the check under test is the one that refuses it.

The tokens are taken apart with asn1crypto, not with the DER reader under test.
"""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from tsa_helpers import respond, tsa_signer

from signer_app.crypto import der, tsp
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.errors import InvalidTimestamp

DATA = "Уақыт белгісі — метка времени".encode()


def _token(data: bytes = DATA) -> bytes:
    query = tsp.build_query(hashlib.sha256(data).digest(), DigestAlgorithm.SHA256, nonce=11)
    return tsp.parse_response(respond(query), query).der


def _signer(token: bytes) -> asn1_cms.SignerInfo:
    return asn1_cms.ContentInfo.load(token)["content"]["signer_infos"][0]


def _resign(token: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """The token with its signature over the signed attributes made again with ``key``."""
    signer = _signer(token)
    assert signer["digest_algorithm"]["algorithm"].native == "sha256"
    signed = der.tlv(der.SET, signer["signed_attrs"].contents)
    old = signer["signature"].native
    new = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    assert len(new) == len(old)
    assert token.count(old) == 1
    return token.replace(old, new)


def test_a_token_signed_again_by_the_tsa_still_verifies() -> None:
    """The helper's own proof: re-signing alone changes nothing the checks look at."""
    token = _token()
    again = _resign(token, tsa_signer().private_key)
    assert tsp.verify_token(again, DATA).serial == tsp.verify_token(token, DATA).serial


def test_a_tampered_tstinfo_fails_the_message_digest() -> None:
    token = _token()
    tst = asn1_cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].contents
    outer_start, outer_stop, _ = der.expect(tst, 0, len(tst), der.SEQUENCE)
    tag, _, start, _, _ = der.items(tst, outer_start, outer_stop)[3]  # serialNumber
    assert tag == der.INTEGER
    changed = tst[:start] + bytes([tst[start] ^ 0x01]) + tst[start + 1 :]
    tampered = token.replace(tst, changed)
    with pytest.raises(InvalidTimestamp, match="TSTInfo was altered"):
        tsp.verify_token(tampered, DATA)


def test_a_token_over_other_data_fails_the_imprint() -> None:
    with pytest.raises(InvalidTimestamp, match="another hash"):
        tsp.verify_token(_token(), DATA + b".")


def test_a_wrong_ess_cert_id_is_refused_even_when_signed_by_the_tsa() -> None:
    token = _token()
    cert_hash = hashlib.sha256(tsa_signer().certificate.public_bytes(Encoding.DER)).digest()
    assert token.count(cert_hash) == 1
    other = bytes([cert_hash[0] ^ 0xFF]) + cert_hash[1:]
    tampered = _resign(token.replace(cert_hash, other), tsa_signer().private_key)
    with pytest.raises(InvalidTimestamp, match="names another certificate"):
        tsp.verify_token(tampered, DATA)


def test_a_token_signed_by_another_key_is_refused() -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidTimestamp, match="does not verify"):
        tsp.verify_token(_resign(_token(), stranger), DATA)
