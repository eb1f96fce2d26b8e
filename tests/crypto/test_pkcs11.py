"""PKCS#11 tokens as key stores, proven against SoftHSM2 tokens made fresh for each test."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pkcs11 as p11
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pkcs11 import Attribute, ObjectClass, TokenFlag
from softhsm import PIN, SoftHsm, second_softhsm, softhsm

from signer_app.crypto import cms
from signer_app.crypto.algorithms import DigestAlgorithm, KeyAlgorithm
from signer_app.crypto.errors import (
    InvalidInput,
    PinCountLow,
    PinFinalTry,
    PinIncorrect,
    PinLocked,
    Pkcs11ModuleError,
    TokenError,
    TokenNotFound,
    TokenRemoved,
    WrongPassword,
)
from signer_app.crypto.keystores import KeyEntry, SigningKey
from signer_app.crypto.pkcs11 import PinState, Pkcs11Token, TokenKey, digest_info, load_module

__all__ = ["second_softhsm", "softhsm"]  # fixtures, used by name

RSA_ID, EC_ID = b"\x01", b"\x02"


@pytest.fixture
def token(softhsm: SoftHsm, demo: dict[str, Any]) -> SoftHsm:
    """Token "citizen": the demo citizen's RSA SIGN key and EC SIGN key with certificates."""
    softhsm.init_token("citizen")
    softhsm.import_entry("citizen", demo["citizen_sign"].open(), RSA_ID)
    softhsm.import_entry("citizen", demo["citizen_ec_sign"].open(), EC_ID)
    softhsm.activate()
    return softhsm


def _login(hsm: SoftHsm, pin: str = PIN, token_id: str | None = None) -> Pkcs11Token:
    return load_module(hsm.lib).login(pin, token_id)


def _by_algorithm(store: Pkcs11Token, algorithm: KeyAlgorithm) -> KeyEntry:
    return next(e for e in store.entries() if e.key.algorithm is algorithm)


# ----------------------------------------------------------------------------- listing


def test_module_lists_the_token_with_its_label_serial_and_pin_state(token: SoftHsm) -> None:
    infos = load_module(token.lib).tokens()
    assert [i.label for i in infos] == ["citizen"]
    assert infos[0].serial
    assert infos[0].pin_state is PinState.OK
    assert "citizen" in infos[0].summary


def test_keys_are_paired_with_their_certificates_by_id(
    token: SoftHsm, demo: dict[str, Any]
) -> None:
    with _login(token) as store:
        rsa_entry = _by_algorithm(store, KeyAlgorithm.RSA)
        ec_entry = _by_algorithm(store, KeyAlgorithm.EC)
        assert rsa_entry.certificate == demo["citizen_sign"].open().certificate
        assert ec_entry.certificate == demo["citizen_ec_sign"].open().certificate
        assert (rsa_entry.key.key_size, ec_entry.key.key_size) == (2048, 256)
        assert isinstance(rsa_entry.key, SigningKey)
        assert isinstance(rsa_entry.key, TokenKey)
        assert (store.storage, store.label) == ("PKCS11", "citizen")


def test_the_issuer_certificate_on_the_token_becomes_the_chain(
    softhsm: SoftHsm, demo: dict[str, Any]
) -> None:
    entry = demo["citizen_sign"].open()
    assert entry.chain, "the demo key file carries its issuing CA"
    softhsm.init_token("chain")
    softhsm.import_entry("chain", entry, RSA_ID)
    softhsm.activate()
    with _login(softhsm) as store:
        assert store.entries()[0].chain[0] == entry.chain[0]


def test_a_key_without_a_certificate_is_left_out_and_said_so(
    softhsm: SoftHsm, demo: dict[str, Any]
) -> None:
    softhsm.init_token("bare")
    softhsm.import_entry("bare", demo["citizen_sign"].open(), RSA_ID, certificate=False)
    softhsm.activate()
    with _login(softhsm) as store:
        assert store.entries() == ()
        assert store.skipped == ["key 01: no certificate"]


# ----------------------------------------------------------------------------- signing


def test_rsa_signature_on_the_token_equals_the_key_files(
    token: SoftHsm, demo: dict[str, Any]
) -> None:
    # PKCS#1 v1.5 is deterministic: the token's DigestInfo must be byte-for-byte right.
    file_key = demo["citizen_sign"].open().key
    with _login(token) as store:
        token_key = _by_algorithm(store, KeyAlgorithm.RSA).key
        for digest in (DigestAlgorithm.SHA256, DigestAlgorithm.SHA384):
            assert token_key.sign(b"data", digest) == file_key.sign(b"data", digest)


def test_ecdsa_signature_on_the_token_is_der_and_verifies(token: SoftHsm) -> None:
    with _login(token) as store:
        entry = _by_algorithm(store, KeyAlgorithm.EC)
        signature = entry.key.sign(b"data", DigestAlgorithm.SHA256)
        public = entry.certificate.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, b"data", ec.ECDSA(hashes.SHA256()))
        assert signature[0] == 0x30


def test_a_digest_of_the_wrong_size_is_refused_before_the_token(token: SoftHsm) -> None:
    with _login(token) as store, pytest.raises(ValueError, match="32 bytes"):
        _by_algorithm(store, KeyAlgorithm.RSA).key.sign_digest(b"short", DigestAlgorithm.SHA256)


def test_digest_info_is_rfc8017s_encoding() -> None:
    prefix = bytes.fromhex("3031300d060960864801650304020105000420")
    assert digest_info(b"\x00" * 32, DigestAlgorithm.SHA256) == prefix + b"\x00" * 32


@pytest.mark.interop
@pytest.mark.parametrize("algorithm", [KeyAlgorithm.RSA, KeyAlgorithm.EC])
def test_cms_signed_with_a_token_key_verifies_with_openssl(
    token: SoftHsm, algorithm: KeyAlgorithm, openssl: str, trust_chain_pem: Path, tmp_path: Path
) -> None:
    with _login(token) as store:
        signed = cms.sign(b"token-signed document", _by_algorithm(store, algorithm))
    (tmp_path / "sig.der").write_bytes(signed)
    out = tmp_path / "out.bin"
    result = subprocess.run(
        [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig.der"),
         "-CAfile", str(trust_chain_pem), "-purpose", "any", "-out", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == b"token-signed document"


def test_one_session_serves_many_signatures_and_closing_ends_it(token: SoftHsm) -> None:
    store = _login(token)
    key = _by_algorithm(store, KeyAlgorithm.RSA).key
    signatures = {key.sign(bytes([i]), DigestAlgorithm.SHA256) for i in range(5)}
    assert len(signatures) == 5
    store.close()
    store.close()  # twice is harmless
    assert store.closed
    with pytest.raises(TokenError):
        key.sign(b"after close", DigestAlgorithm.SHA256)


# ----------------------------------------------------------------------------- PIN


def test_wrong_pin_twice_then_right_shows_the_flags_and_opens(token: SoftHsm) -> None:
    module = load_module(token.lib)
    errors = []
    for _ in range(2):
        with pytest.raises(WrongPassword) as caught:
            module.login("00000000")
        errors.append(caught.value)
    # SoftHSM2 raises CKF_USER_PIN_COUNT_LOW after a wrong PIN, as real tokens do.
    assert all(isinstance(e, PinCountLow) for e in errors)
    assert errors[0].retriable
    assert module.tokens()[0].pin_state is PinState.COUNT_LOW
    assert errors[1].message("ru").startswith("Неверный пароль.")
    with module.login(PIN) as store:
        assert len(store.entries()) == 2
    assert module.tokens()[0].pin_state is PinState.OK


def test_final_try_is_told_with_ncalayers_wording(token: SoftHsm) -> None:
    token.set_pin_flags("citizen", TokenFlag.USER_PIN_FINAL_TRY)
    token.activate()
    module = load_module(token.lib)
    assert module.tokens()[0].pin_state.tries_left == 1
    with pytest.raises(PinFinalTry) as caught:
        module.login("00000000")
    assert caught.value.message("ru").startswith("Неверный пароль. Осталось попыток: 1")
    assert "Tries left: 1" in caught.value.message("en")


def test_a_locked_pin_is_refused_without_another_attempt(token: SoftHsm) -> None:
    token.set_pin_flags("citizen", TokenFlag.USER_PIN_LOCKED)
    token.activate()
    module = load_module(token.lib)
    assert module.tokens()[0].pin_state is PinState.LOCKED
    # SoftHSM2 itself never locks, so it would accept the right PIN: refusing it proves that
    # Qalam stopped before asking the token, and no try is spent.
    with pytest.raises(PinLocked) as caught:
        module.login(PIN)
    assert not caught.value.retriable
    assert not isinstance(caught.value, WrongPassword)
    assert "blocked" in caught.value.message("en")
    assert "заблокирован" in caught.value.message("ru")
    assert "бұғатталған" in caught.value.message("kk")


def test_an_empty_pin_spends_no_try(token: SoftHsm) -> None:
    module = load_module(token.lib)
    with pytest.raises(PinIncorrect):
        module.login("")
    assert module.tokens()[0].pin_state is PinState.OK


def test_the_pin_never_appears_in_an_error(token: SoftHsm) -> None:
    secret = "secret-pin-4242"
    with pytest.raises(WrongPassword) as caught:
        load_module(token.lib).login(secret)
    error = caught.value
    texts = [str(error), repr(error), error.detail, *map(error.message, ("en", "ru", "kk"))]
    assert not any(secret in t for t in texts)


def test_the_pin_can_be_changed(token: SoftHsm) -> None:
    module = load_module(token.lib)
    module.change_pin(PIN, "11223344")
    with pytest.raises(PinIncorrect):
        module.login(PIN)
    with module.login("11223344") as store:
        assert store.entries()
    with pytest.raises(PinIncorrect):
        module.change_pin("wrong-old", "55667788")
    with pytest.raises(InvalidInput):
        module.change_pin("11223344", "")


# ----------------------------------------------------------------------------- one token, two users


def _logged_in(hsm: SoftHsm) -> bool:
    """Whether this process is still logged in to the token (private keys are visible)."""
    token = load_module(hsm.lib).token_info()
    slot_token = next(
        t
        for s in p11.lib(str(hsm.lib)).get_slots(token_present=True)
        if (t := s.get_token()).serial.decode().strip() == token.serial
    )
    with slot_token.open() as session:
        return any(True for _ in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))


def test_two_requests_on_one_token_share_its_login_and_each_signs(token: SoftHsm) -> None:
    first, second = _login(token), _login(token)  # PKCS#11 has one login per application
    for store in (first, second):
        assert _by_algorithm(store, KeyAlgorithm.RSA).key.sign(b"x", DigestAlgorithm.SHA256)
    first.close()  # the first one's logout must not log the second one out
    assert _by_algorithm(second, KeyAlgorithm.EC).key.sign(b"y", DigestAlgorithm.SHA256)
    assert _logged_in(token)
    second.close()
    assert not _logged_in(token)
    with _login(token) as again:  # and a later request logs in afresh
        assert again.entries()


def test_joining_a_login_still_needs_the_right_pin(token: SoftHsm) -> None:
    with _login(token) as first:
        with pytest.raises(PinIncorrect):
            _login(token, "00000000")
        with pytest.raises(PinIncorrect):
            _login(token, "")
        assert _by_algorithm(first, KeyAlgorithm.RSA).key.sign(b"x", DigestAlgorithm.SHA256)
    assert not _logged_in(token)


def test_the_pin_changed_during_a_login_is_the_one_a_joiner_needs(token: SoftHsm) -> None:
    module = load_module(token.lib)
    with _login(token) as first:
        with pytest.raises(PinIncorrect):
            module.change_pin("wrong-old", "11223344")  # the token itself checks the old PIN
        module.change_pin(PIN, "11223344")
        with pytest.raises(PinIncorrect):
            _login(token, PIN)
        with _login(token, "11223344") as second:
            assert second.entries()
        assert first.entries()
    with _login(token, "11223344") as store:
        assert store.entries()


# ----------------------------------------------------------------------------- tokens


def test_two_tokens_at_once_each_sign_with_their_own_key(
    softhsm: SoftHsm, demo: dict[str, Any]
) -> None:
    softhsm.init_token("first")
    softhsm.init_token("second", pin="1234567890")
    softhsm.import_entry("first", demo["citizen_sign"].open(), RSA_ID)
    softhsm.import_entry("second", demo["ceo_sign"].open(), RSA_ID, pin="1234567890")
    softhsm.activate()
    module = load_module(softhsm.lib)
    assert sorted(i.label for i in module.tokens()) == ["first", "second"]
    with pytest.raises(InvalidInput, match="several tokens"):
        module.login(PIN)
    serial = next(i.serial for i in module.tokens() if i.label == "second")
    with module.login(PIN, "first") as one, module.login("1234567890", serial) as two:
        for store, who in ((one, "citizen_sign"), (two, "ceo_sign")):
            entry = store.entries()[0]
            assert entry.certificate == demo[who].open().certificate
            signature = entry.key.sign(b"both", DigestAlgorithm.SHA256)
            public = entry.certificate.public_key()
            assert isinstance(public, rsa.RSAPublicKey)
            public.verify(signature, b"both", padding.PKCS1v15(), hashes.SHA256())


def test_two_drivers_at_once(token: SoftHsm, second_softhsm: SoftHsm) -> None:
    first = token.load()  # reads SOFTHSM2_CONF now, so before the second one does
    second_softhsm.init_token("other")
    second = second_softhsm.load()
    assert [i.label for i in first.tokens()] == ["citizen"]
    assert [i.label for i in second.tokens()] == ["other"]


def test_a_token_that_is_not_there_is_token_not_found(token: SoftHsm) -> None:
    with pytest.raises(TokenNotFound):
        load_module(token.lib).login(PIN, "no-such-serial")


def test_a_token_removed_mid_use_is_a_clear_error_and_closes_quietly(token: SoftHsm) -> None:
    store = _login(token)
    key = _by_algorithm(store, KeyAlgorithm.RSA).key
    key.sign(b"before", DigestAlgorithm.SHA256)
    token.remove("citizen")
    with pytest.raises(TokenRemoved) as caught:
        key.sign(b"after", DigestAlgorithm.SHA256)
    assert caught.value.retriable
    assert "Connect it" in caught.value.message("en")
    store.close()


# ----------------------------------------------------------------------------- modules


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: tmp / "missing-driver.so", "does not exist"),
        (lambda tmp: tmp, "does not exist"),
        (lambda tmp: _file(tmp / "text.so", b"not a library"), "does not load"),
    ],
    ids=["missing", "directory", "not-a-library"],
)
def test_a_driver_that_cannot_load_is_a_clear_error(tmp_path: Path, make: Any, words: str) -> None:
    with pytest.raises(Pkcs11ModuleError) as caught:
        load_module(make(tmp_path))
    assert words in caught.value.message("en")


def test_a_library_that_is_not_pkcs11_is_a_clear_error() -> None:
    libz = next(
        (p for p in ("/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1",
                     "/lib/aarch64-linux-gnu/libz.so.1") if os.path.exists(p)),
        None,
    )  # fmt: skip
    if libz is None:
        pytest.skip("no libz.so.1 at a known place to stand in for a non-PKCS#11 library")
    with pytest.raises(Pkcs11ModuleError) as caught:
        load_module(libz)
    assert "C_GetFunctionList" in caught.value.message("en")


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
