"""algorithms.py: one table names every OID and URI, and refuses what it does not know."""

from __future__ import annotations

import pytest

from signer_app.crypto.algorithms import (
    DigestAlgorithm,
    KeyAlgorithm,
    scheme_for,
    scheme_from_cms,
    scheme_from_xml_uri,
)
from signer_app.crypto.errors import UnsupportedAlgorithm


def test_rsa_and_ec_sign_with_sha256_by_default() -> None:
    assert scheme_for(KeyAlgorithm.RSA).cms_oid == "1.2.840.113549.1.1.11"
    assert scheme_for(KeyAlgorithm.EC).cms_oid == "1.2.840.10045.4.3.2"
    assert scheme_for(KeyAlgorithm.RSA).digest is DigestAlgorithm.SHA256


@pytest.mark.parametrize(
    ("oid", "family"),
    [("1.2.840.113549.1.1.1", KeyAlgorithm.RSA), ("1.2.840.10045.2.1", KeyAlgorithm.EC)],
)
def test_a_key_family_oid_as_signature_algorithm_takes_the_digest_from_digest_algorithm(
    oid: str, family: KeyAlgorithm
) -> None:
    scheme = scheme_from_cms(oid, DigestAlgorithm.SHA512)
    assert scheme.key_algorithm is family
    assert scheme.digest is DigestAlgorithm.SHA512


def test_a_signature_oid_naming_another_digest_than_digest_algorithm_is_refused() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        scheme_from_cms("1.2.840.113549.1.1.11", DigestAlgorithm.SHA512)


def test_gost_2015_signature_oid_with_a_sha2_digest_is_not_guessed() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        scheme_from_cms("1.2.398.3.10.1.1.2.3.2", DigestAlgorithm.SHA256)


def test_gost_2015_is_the_nca_oid_and_pkigovkz_uri_with_streebog_512() -> None:
    uri = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"
    scheme = scheme_from_xml_uri(uri)
    assert scheme.key_algorithm is KeyAlgorithm.GOST2015
    assert scheme.digest is DigestAlgorithm.STREEBOG512
    assert scheme_from_cms("1.2.398.3.10.1.1.2.3.2", DigestAlgorithm.STREEBOG512) is scheme
    assert scheme_for(KeyAlgorithm.GOST2015) is scheme


def test_gost_2004_is_verify_only() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        scheme_for(KeyAlgorithm.GOST2004)


@pytest.mark.parametrize("digest", list(DigestAlgorithm))
def test_digests_round_trip_through_their_oids_and_uris(digest: DigestAlgorithm) -> None:
    assert DigestAlgorithm.from_oid(digest.oid) is digest
    assert DigestAlgorithm.from_xml_uri(digest.xml_uri) is digest
    assert len(digest.digest(b"x")) == digest.size
