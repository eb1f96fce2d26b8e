"""keystores.py: PKCS#12 files open, fail with the right error, and change password safely."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509

from signer_app.crypto import gost, keystores, pkcs12_kdf
from signer_app.crypto.algorithms import DigestAlgorithm, KeyAlgorithm
from signer_app.crypto.errors import (
    CorruptKeyStore,
    FileNotFound,
    KeyTypeMismatch,
    QalamError,
    UnsupportedAlgorithm,
    WrongPassword,
)
from signer_app.crypto.keystores import (
    SoftwareKey,
    change_password,
    dump_pkcs12,
    load_pkcs12,
    open_pkcs12,
)

SECRET = "Сенімді-Құпия-42"


def _copy(src: Path, folder: Path) -> Path:
    dst = folder / src.name
    dst.write_bytes(src.read_bytes())
    return dst


def test_the_legacy_nca_style_demo_file_opens_and_reports_legacy_encryption(demo) -> None:
    key = demo["citizen_sign"]
    store = open_pkcs12(key.path, key.password)
    assert store.encryption == key.encryption
    assert store.storage == "PKCS12"
    assert store.entry.alias == key.path.stem.split("_")[-1]


@pytest.mark.parametrize(
    ("key_id", "algorithm", "bits"),
    [
        ("citizen_sign", KeyAlgorithm.RSA, 2048),
        ("citizen_rsa4096_sign", KeyAlgorithm.RSA, 4096),
        ("citizen_ec_sign", KeyAlgorithm.EC, 256),
    ],
)
def test_rsa2048_rsa4096_and_p256_files_open(demo, key_id: str, algorithm, bits: int) -> None:
    entry = demo[key_id].open()
    assert entry.key.algorithm is algorithm
    assert entry.key.key_size == bits


def test_a_file_carries_its_issuing_chain(demo) -> None:
    entry = demo["citizen_sign"].open()
    assert entry.chain, "the demo files hold the issuing CA and root"
    assert entry.certificate.issuer == entry.chain[0].subject


def test_a_wrong_password_is_wrong_password_and_names_no_password(demo) -> None:
    key = demo["citizen_sign"]
    with pytest.raises(WrongPassword) as caught:
        open_pkcs12(key.path, SECRET)
    error = caught.value
    assert error.code == "wrong_password"
    assert error.retriable
    for text in (
        str(error),
        repr(error),
        error.detail,
        *(error.message(lang) for lang in ("en", "ru", "kk")),
    ):
        assert SECRET not in text
        assert key.password not in text


def test_a_wrong_password_on_an_aes_file_is_wrong_password(demo) -> None:
    aes = next(k for k in demo.values() if k.encryption == "aes")
    with pytest.raises(WrongPassword):
        open_pkcs12(aes.path, "not-it")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:10], id="first-bytes-only"),
        pytest.param(lambda b: os.urandom(len(b)), id="random-bytes"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(
            lambda b: b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", id="pem"
        ),
        pytest.param(lambda b: b"\x30\x03\x02\x01\x03", id="wrong-asn1-shape"),
    ],
)
def test_damaged_or_foreign_files_are_corrupt_keystore(demo, tmp_path: Path, damage) -> None:
    key = demo["citizen_sign"]
    broken = tmp_path / "broken.p12"
    broken.write_bytes(damage(key.path.read_bytes()))
    with pytest.raises(CorruptKeyStore) as caught:
        open_pkcs12(broken, key.password)
    assert caught.value.code == "corrupt_keystore"


def test_a_flipped_byte_inside_the_file_is_refused(demo, tmp_path: Path) -> None:
    key = demo["citizen_sign"]
    data = bytearray(key.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    broken = tmp_path / "flipped.p12"
    broken.write_bytes(bytes(data))
    # A changed byte breaks the MAC or the structure: both are refusals, neither a crash.
    with pytest.raises((CorruptKeyStore, WrongPassword)):
        open_pkcs12(broken, key.password)


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFound):
        open_pkcs12(tmp_path / "nope.p12", "x")


def test_a_directory_is_not_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(CorruptKeyStore):
        open_pkcs12(tmp_path, "x")


def test_a_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.p12"
    with big.open("wb") as handle:
        handle.truncate(keystores.MAX_KEYSTORE_SIZE + 1)
    with pytest.raises(CorruptKeyStore):
        open_pkcs12(big, "x")


def test_a_cyrillic_password_round_trips(demo) -> None:
    entry = demo["citizen_sign"].open()
    assert isinstance(entry.key, SoftwareKey)
    data = dump_pkcs12(entry.key.private_key, entry.certificate, SECRET, chain=entry.chain)
    assert load_pkcs12(data, SECRET).entry.certificate == entry.certificate
    with pytest.raises(WrongPassword):
        load_pkcs12(data, SECRET.lower())


@pytest.mark.parametrize("encryption", ["aes", "legacy"])
def test_written_files_open_with_openssl_conventions(demo, encryption) -> None:
    entry = demo["citizen_sign"].open()
    assert isinstance(entry.key, SoftwareKey)
    data = dump_pkcs12(entry.key.private_key, entry.certificate, "pw-1", encryption=encryption)
    assert load_pkcs12(data, "pw-1").encryption == encryption


def test_changing_the_password_keeps_the_key_and_drops_the_backup(demo, tmp_path: Path) -> None:
    key = demo["citizen_sign"]
    path = _copy(key.path, tmp_path)
    before = open_pkcs12(path, key.password).entry
    store = change_password(path, key.password, SECRET)
    assert store.entry.certificate == before.certificate
    assert store.encryption == key.encryption, "legacy files stay legacy so NCALayer reads them"
    with pytest.raises(WrongPassword):
        open_pkcs12(path, key.password)
    assert open_pkcs12(path, SECRET).entry.alias == before.alias
    assert not keystores.backup_path(path).exists()
    assert (path.stat().st_mode & 0o777) == 0o600
    signature = store.entry.key.sign(b"x", DigestAlgorithm.SHA256)
    assert len(signature) == 256


def test_a_wrong_old_password_changes_nothing(demo, tmp_path: Path) -> None:
    key = demo["citizen_sign"]
    path = _copy(key.path, tmp_path)
    original = path.read_bytes()
    with pytest.raises(WrongPassword):
        change_password(path, "wrong", SECRET)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_failed_write_leaves_the_original_key_file(demo, tmp_path: Path, monkeypatch) -> None:
    key = demo["citizen_sign"]
    path = _copy(key.path, tmp_path)
    original = path.read_bytes()
    real_write = keystores.atomic_write
    calls = []

    def failing_second_write(target: Path, data: bytes, mode: int = 0o600) -> None:
        calls.append(target)
        if len(calls) == 2:  # the backup is written first, then the new key file
            raise QalamError("disk full")
        real_write(target, data, mode)

    monkeypatch.setattr(keystores, "atomic_write", failing_second_write)
    with pytest.raises(QalamError):
        change_password(path, key.password, SECRET)
    assert path.read_bytes() == original
    assert open_pkcs12(path, key.password).entry.certificate is not None


def test_a_crash_between_backup_and_rename_leaves_a_backup_that_opens(
    demo, tmp_path: Path, monkeypatch
) -> None:
    key = demo["citizen_sign"]
    path = _copy(key.path, tmp_path)
    real_write = keystores.atomic_write

    def die_after_backup(target: Path, data: bytes, mode: int = 0o600) -> None:
        if target == path:
            raise KeyboardInterrupt  # the process is stopped before the rename
        real_write(target, data, mode)

    monkeypatch.setattr(keystores, "atomic_write", die_after_backup)
    with pytest.raises(KeyboardInterrupt):
        change_password(path, key.password, SECRET)
    assert open_pkcs12(path, key.password).entry is not None


def test_real_nca_rsa_key_files_open_with_their_published_password(nca_vectors: Path) -> None:
    store = open_pkcs12(nca_vectors / "p12" / "KEY_INDIVIDUAL_VALID_SIGN_2004.p12", "Qwerty12")
    assert store.encryption == "legacy"
    assert store.entry.key.algorithm is KeyAlgorithm.RSA
    assert store.entry.alias == "e3fe35adda3b45cbea3a3f1ed48f263dc55c556e"


# Every GOST 2015 key file of shared/vectors/nca with its published password.
GOST2015_FILES = [
    ("p12/KEY_INDIVIDUAL_VALID_2015.p12", "Aa123456"),
    ("p12/KEY_CEO_REVOKED_2015.p12", "Aa123456"),
    ("gokalkan/gost1.p12", "Qwerty12"),
    ("gokalkan/gost2.p12", "Qwerty12"),
    ("kalkan-tests/k0.p12", "Qwerty12"),
    ("kalkan-tests/k1.p12", "Qwerty12"),
    ("kalkan-tests/k2.p12", "Qwerty12"),
    ("kalkan-tests/k3.p12", "Qwerty12"),
]


@pytest.mark.parametrize(("name", "password"), GOST2015_FILES)
def test_real_nca_gost_2015_files_open_and_their_key_is_their_certificates(
    nca_vectors: Path, name: str, password: str
) -> None:
    store = open_pkcs12(nca_vectors / name, password)
    entry = store.entry
    assert store.encryption == "legacy"
    assert entry.key.algorithm is KeyAlgorithm.GOST2015
    assert entry.key.key_size == 512
    public = gost.public_key_from_certificate(entry.certificate)
    assert isinstance(entry.key, gost.GostPrivateKey)
    assert public is not None
    assert (public.x, public.y) == (entry.key.public_key.x, entry.key.public_key.y)
    # The alias is NCA's friendlyName: the subject key identifier in lower-case hex.
    ski = entry.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert entry.alias == ski.value.digest.hex()


def test_a_real_gost_2015_key_signs_what_its_certificate_verifies(nca_vectors: Path) -> None:
    entry = open_pkcs12(nca_vectors / "gokalkan" / "gost1.p12", "Qwerty12").entry
    signature = entry.key.sign(b"document", DigestAlgorithm.STREEBOG512)
    public = gost.public_key_from_certificate(entry.certificate)
    assert public is not None
    assert public.verify(signature, b"document")


def test_real_nca_gost_2004_file_is_named_as_unsupported_not_as_a_wrong_password(
    nca_vectors: Path,
) -> None:
    with pytest.raises(UnsupportedAlgorithm) as caught:
        open_pkcs12(nca_vectors / "p12" / "KEY_CEO_SIGN_REVOKED_2004.p12", "Qwerty12")
    assert "GOST 34.310-2004" in caught.value.message("en")


def test_gost_key_where_rsa_is_required_says_which_is_which(nca_vectors: Path) -> None:
    entry = open_pkcs12(nca_vectors / "gokalkan" / "gost1.p12", "Qwerty12").entry
    with pytest.raises(KeyTypeMismatch) as caught:
        keystores.require_key_algorithm(entry.key, KeyAlgorithm.RSA)
    assert caught.value.message("en") == (
        "This needs a RSA key, but the chosen key is GOST 34.10-2015. "
        "Choose a key of the right kind."
    )
    assert "GOST 34.10-2015" in caught.value.message("ru")
    assert "GOST 34.10-2015" in caught.value.message("kk")


def test_changing_the_password_of_a_real_gost_file_keeps_the_key_and_no_backup(
    nca_vectors: Path, tmp_path: Path
) -> None:
    path = _copy(nca_vectors / "gokalkan" / "gost1.p12", tmp_path)
    before = open_pkcs12(path, "Qwerty12").entry
    after = change_password(path, "Qwerty12", SECRET).entry
    assert isinstance(after.key, gost.GostPrivateKey)
    assert isinstance(before.key, gost.GostPrivateKey)
    assert after.key.d == before.key.d
    assert after.alias == before.alias
    assert after.certificate == before.certificate
    with pytest.raises(WrongPassword):
        open_pkcs12(path, "Qwerty12")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gost1.p12"]


def _with_truncated_key_bag(data: bytes, password: bytes) -> bytes:
    """The file with its key bag's ciphertext cut by one 3DES block, MAC recomputed."""
    pfx = asn1_pkcs12.Pfx.load(data)
    infos = []
    for info in asn1_pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native):
        if info["content_type"].native == "data":
            bags = asn1_pkcs12.SafeContents.load(info["content"].native)
            for bag in bags:
                if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                    value = bag["bag_value"]
                    value["encrypted_data"] = value["encrypted_data"].native[:-8]
            info = asn1_cms.ContentInfo({"content_type": "data", "content": bags.dump(force=True)})
        infos.append(info)
    content = asn1_pkcs12.AuthenticatedSafe(infos).dump(force=True)
    mac = pfx["mac_data"]
    salt, rounds = mac["mac_salt"].native, mac["iterations"].native
    key = pkcs12_kdf.derive("sha1", password, salt, pkcs12_kdf.PURPOSE_MAC, rounds, 20)
    mac["mac"]["digest"] = hmac.new(key, content, "sha1").digest()
    pfx["auth_safe"] = {"content_type": "data", "content": content}
    return bytes(pfx.dump(force=True))


def test_truncated_gost_key_bag_is_a_damaged_file_not_a_wrong_password(
    nca_vectors: Path,
) -> None:
    data = (nca_vectors / "gokalkan" / "gost1.p12").read_bytes()
    broken = _with_truncated_key_bag(data, b"Qwerty12")
    with pytest.raises(CorruptKeyStore) as caught:
        load_pkcs12(broken, "Qwerty12", label="gost1.p12")
    assert "Qwerty12" not in str(caught.value)


def test_a_cut_gost_file_is_a_damaged_file(nca_vectors: Path) -> None:
    data = (nca_vectors / "gokalkan" / "gost1.p12").read_bytes()
    with pytest.raises(CorruptKeyStore):
        load_pkcs12(data[: len(data) // 2], "Qwerty12")


def test_real_nca_gost_file_with_a_wrong_password_is_still_wrong_password(
    nca_vectors: Path,
) -> None:
    with pytest.raises(WrongPassword):
        open_pkcs12(nca_vectors / "gokalkan" / "gost1.p12", "Qwerty13")
