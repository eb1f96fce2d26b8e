"""Key pairs generated on a SoftHSM2 token, their requests signed there, certificates stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, ObjectClass
from softhsm import PIN, SoftHsm, softhsm

from signer_app.crypto import cms
from signer_app.crypto.csr import build_csr
from signer_app.crypto.errors import InvalidInput, TokenError
from signer_app.crypto.pkcs11 import Pkcs11Token, load_module
from signer_app.crypto.pkcs11_objects import (
    TokenKeyPair,
    destroy_key_pair,
    find_key_pair,
    generate_key_pair,
    store_ca_certificates,
    store_certificate,
)

__all__ = ["softhsm"]  # fixture, used by name


@pytest.fixture
def blank(softhsm: SoftHsm) -> SoftHsm:
    """An initialised token with nothing on it."""
    softhsm.init_token("blank")
    softhsm.activate()
    return softhsm


def _open(hsm: SoftHsm, rw: bool = True) -> Pkcs11Token:
    return load_module(hsm.lib).login(PIN, rw=rw)


def _private_attributes(store: Pkcs11Token, key_id: bytes) -> dict[str, bool]:
    names = ("TOKEN", "PRIVATE", "SENSITIVE", "EXTRACTABLE", "SIGN")

    def read(session: Any) -> dict[str, bool]:
        (key,) = session.get_objects(
            {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: key_id}
        )
        return {name: bool(key[Attribute[name]]) for name in names}

    return store.use_session("read", read)


class LittleCa:
    """A CA made in the test: the test is about what the token stores, not about the NAC."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
        self.cert = self._build(name, self.key.public_key(), name, ca=True)

    def _build(
        self, subject: x509.Name, public: Any, issuer: x509.Name, ca: bool = False
    ) -> x509.Certificate:
        now = datetime.now(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def issue(self, pair: TokenKeyPair) -> x509.Certificate:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, pair.label)])
        return self._build(subject, serialization.load_der_public_key(pair.spki), self.cert.subject)


@pytest.mark.parametrize(("kind", "size"), [("rsa", 2048), ("ec", 256)])
def test_a_pair_made_on_the_token_never_leaves_it_and_signs_its_own_request(
    blank: SoftHsm, kind: str, size: int
) -> None:
    with _open(blank) as store:
        pair = generate_key_pair(store, kind, "AUTH 850101300124")
        assert _private_attributes(store, pair.key_id) == {
            "TOKEN": True, "PRIVATE": True, "SENSITIVE": True, "EXTRACTABLE": False, "SIGN": True,
        }  # fmt: skip
        request = x509.load_der_x509_csr(build_csr(pair.spki, pair.key))
        assert request.is_signature_valid
        public = request.public_key()
        assert isinstance(public, rsa.RSAPublicKey if kind == "rsa" else ec.EllipticCurvePublicKey)
        assert public.key_size == size
        assert len(pair.ski) == 40
    # The pair is stored: another session finds it by its id.
    with _open(blank, rw=False) as again:
        found = find_key_pair(again, pair.key_id)
        assert found is not None
        assert (found.spki, found.label) == (pair.spki, "AUTH 850101300124")


def test_each_pair_gets_its_own_id(blank: SoftHsm) -> None:
    with _open(blank) as store:
        first, second = (generate_key_pair(store, "ec", "k") for _ in range(2))
        assert first.key_id != second.key_id
        assert len(first.key_id) == 16


def test_a_stored_certificate_pairs_the_key_with_it_and_the_chain_follows(blank: SoftHsm) -> None:
    ca = LittleCa()
    with _open(blank) as store:
        pair = generate_key_pair(store, "rsa", "SIGN 850101300124")
        assert store.entries() == ()
        assert "no certificate" in store.skipped[0]
        cert = ca.issue(pair)
        store_certificate(store, cert, pair.key_id, "SIGN 850101300124")
        assert store_ca_certificates(store, (ca.cert,)) == 1
        assert store_ca_certificates(store, (ca.cert,)) == 0  # already there
        (entry,) = store.entries()
        assert entry.alias == "SIGN 850101300124"
        assert entry.certificate == cert
        assert entry.chain == (ca.cert,)
        signed = cms.sign(b"signed on the token", entry)
        assert cms.verify(signed).valid


def test_a_certificate_for_another_key_is_refused(blank: SoftHsm) -> None:
    ca = LittleCa()
    with _open(blank) as store:
        pair, other = generate_key_pair(store, "ec", "a"), generate_key_pair(store, "ec", "b")
        with pytest.raises(InvalidInput) as refused:
            store_certificate(store, ca.issue(other), pair.key_id, "a")
        assert "not for this key" in refused.value.message("en")
        with pytest.raises(InvalidInput):
            store_certificate(store, ca.issue(other), b"\x99" * 16, "nobody")


def test_destroying_a_pair_removes_both_halves_and_nothing_else(blank: SoftHsm) -> None:
    with _open(blank) as store:
        kept, gone = generate_key_pair(store, "ec", "kept"), generate_key_pair(store, "ec", "gone")
        assert destroy_key_pair(store, gone.key_id) == 2
        assert find_key_pair(store, gone.key_id) is None
        assert find_key_pair(store, kept.key_id) is not None
        assert destroy_key_pair(store, gone.key_id) == 0


def test_a_read_only_session_cannot_generate(blank: SoftHsm) -> None:
    with _open(blank, rw=False) as store, pytest.raises(TokenError) as refused:
        generate_key_pair(store, "rsa", "x")
    assert "SessionReadOnly" in refused.value.message("en")


def test_an_unknown_key_kind_is_refused_before_the_token(blank: SoftHsm) -> None:
    with _open(blank) as store, pytest.raises(InvalidInput):
        generate_key_pair(store, "gost", "x")
