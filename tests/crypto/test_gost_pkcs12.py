"""GOST 2015 key generation, NCA's public-key and PKCS#8 encodings, and GOST512_*.p12 files we
write: our reader opens them, and they have the structure of NCA's own files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from asn1crypto import core
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signer_app.crypto import gost, gost_pkcs12, keystores, pkcs12_kdf
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.errors import WrongPassword

GOST_FILES = [
    ("gokalkan/gost1.p12", "Qwerty12"),
    ("p12/KEY_INDIVIDUAL_VALID_2015.p12", "Aa123456"),
    ("kalkan-tests/k0.p12", "Qwerty12"),
]


def test_generated_keys_are_distinct_in_range_and_sign_what_they_verify() -> None:
    keys = [gost.generate_private_key() for _ in range(3)]
    assert len({k.d for k in keys}) == 3
    for key in keys:
        assert 0 < key.d < gost.PARAMSET_512_A.q
        assert key.key_size == 512
        public = key.public_key
        signature = key.sign(b"qalam", DigestAlgorithm.STREEBOG512)
        assert public.verify(signature, b"qalam")
        assert not public.verify(signature, b"qalan")


def test_spki_of_a_generated_key_parses_as_a_gost_2015_key_with_nca_parameters() -> None:
    public = gost.generate_private_key().public_key
    # asn1crypto's PublicKeyInfo refuses to decode an unknown key, so read it generically.
    spki = core.Sequence.load(public.subject_public_key_info(), strict=True)
    algorithm, bits = spki[0], spki[1]
    assert algorithm[0].dotted == gost.GOST2015_512_KEY_OID
    params = algorithm[1]
    assert [params[i].dotted for i in range(len(params))] == [
        gost.GOST2015_512_PARAMS_OID,
        gost.STREEBOG512_OID,
    ]
    assert isinstance(bits, core.BitString)
    assert bits.contents[1:] == public.subject_public_key


@pytest.mark.parametrize(("name", "password"), GOST_FILES)
def test_our_spki_pkcs8_and_key_id_are_byte_for_byte_ncas(
    nca_vectors: Path, name: str, password: str
) -> None:
    pfx = asn1_pkcs12.Pfx.load((nca_vectors / name).read_bytes())
    ((pkcs8, _),) = pkcs12_kdf.shrouded_keys(pfx, password.encode())
    key = gost.private_key_from_pkcs8(pkcs8)
    certificate = keystores.load_pkcs12((nca_vectors / name).read_bytes(), password).entry
    assert key.to_pkcs8() == pkcs8
    tbs = asn1_x509.Certificate.load(certificate.certificate_der)["tbs_certificate"]
    assert key.public_key.subject_public_key_info() == tbs["subject_public_key_info"].dump()
    ski = certificate.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert key.public_key.key_identifier() == ski.value.digest


def _real(nca_vectors: Path) -> tuple[gost.GostPrivateKey, x509.Certificate]:
    entry = keystores.open_pkcs12(nca_vectors / "gokalkan" / "gost1.p12", "Qwerty12").entry
    assert isinstance(entry.key, gost.GostPrivateKey)
    return entry.key, entry.certificate


def test_a_written_gost_file_opens_with_the_same_key_alias_and_certificate(
    nca_vectors: Path, tmp_path: Path
) -> None:
    key, certificate = _real(nca_vectors)
    path = tmp_path / gost_pkcs12.gost_file_name(key)
    keystores.write_pkcs12(path, key, certificate, "Жаңа-Құпия-1")
    assert path.name == "GOST512_8147287582df9bb4710e461804acd49b88bf45c4.p12"
    assert path.stat().st_mode & 0o777 == 0o600
    store = keystores.open_pkcs12(path, "Жаңа-Құпия-1")
    assert store.encryption == "legacy"
    entry = store.entry
    assert isinstance(entry.key, gost.GostPrivateKey)
    assert entry.key.d == key.d
    assert entry.certificate == certificate
    assert entry.alias == "8147287582df9bb4710e461804acd49b88bf45c4"
    assert entry.chain == ()
    with pytest.raises(WrongPassword):
        keystores.open_pkcs12(path, "Жаңа-Құпия-2")


def _shape(data: bytes, password: bytes) -> dict[str, object]:
    """What a PKCS#12 looks like, without its random salts and ciphertexts."""
    pfx = asn1_pkcs12.Pfx.load(data)
    mac = pfx["mac_data"]
    contents = []
    for info in asn1_pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native):
        kind = info["content_type"].native
        if kind == "encrypted_data":
            algorithm = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
            contents.append(
                (
                    kind,
                    algorithm["parameters"]["iterations"].native,
                    len(algorithm["parameters"]["salt"].native),
                )
            )
        else:
            contents.append((kind, 0, 0))
    ((_, bag),) = pkcs12_kdf.shrouded_keys(pfx, password)
    key_algorithm = bag["bag_value"]["encryption_algorithm"]
    return {
        "version": pfx["version"].native,
        "mac": (
            mac["mac"]["digest_algorithm"]["algorithm"].native,
            mac["iterations"].native,
            len(mac["mac_salt"].native),
        ),
        "contents": contents,
        "key_bag": (
            key_algorithm["algorithm"].native,
            key_algorithm["parameters"]["iterations"].native,
            len(key_algorithm["parameters"]["salt"].native),
        ),
        "key_bag_attributes": [a["type"].native for a in bag["bag_attributes"]],
    }


def test_a_written_gost_file_has_the_structure_of_ncas(nca_vectors: Path) -> None:
    key, certificate = _real(nca_vectors)
    ours = keystores.dump_pkcs12(key, certificate, "Qwerty12")
    theirs = (nca_vectors / "gokalkan" / "gost1.p12").read_bytes()
    assert _shape(ours, b"Qwerty12") == _shape(theirs, b"Qwerty12")
    assert _shape(ours, b"Qwerty12")["key_bag"] == ("pkcs12_sha1_tripledes_3key", 1024, 20)


def test_a_gost_file_refuses_an_empty_password_and_a_certificate_of_another_key(
    nca_vectors: Path,
) -> None:
    key, certificate = _real(nca_vectors)
    with pytest.raises(ValueError, match="password"):
        keystores.dump_pkcs12(key, certificate, "")
    with pytest.raises(ValueError, match="not the key's"):
        keystores.dump_pkcs12(gost.generate_private_key(), certificate, "Qwerty12")


@pytest.mark.interop
def test_openssl_reads_the_bags_and_the_certificate_of_a_written_gost_file(
    nca_vectors: Path, tmp_path: Path, openssl: str
) -> None:
    key, certificate = _real(nca_vectors)
    path = tmp_path / "GOST512.p12"
    keystores.write_pkcs12(path, key, certificate, "Qwerty12")
    info = subprocess.run(
        [openssl, "pkcs12", "-in", str(path), "-info", "-nokeys", "-passin", "pass:Qwerty12"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "MAC: sha1, Iteration 1024" in info.stderr
    assert "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 1024" in info.stderr
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    assert pem.strip() in info.stdout
