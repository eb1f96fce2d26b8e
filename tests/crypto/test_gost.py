"""GOST primitives: Streebog and GOST R 34.10-2012 against the standards' own examples, NCA's
encodings, and certificate signatures of NCA's real GOST 2015 test CA."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from signer_app.crypto import gost
from signer_app.crypto.algorithms import DigestAlgorithm, KeyAlgorithm
from signer_app.crypto.errors import CorruptKeyStore, UnsupportedAlgorithm

# GOST R 34.11-2012 appendix A: message M1 (63 ASCII digits) and M2 (a line of the Igor Tale in
# CP1251), with their Streebog-512 and -256 hashes as the standard prints them.
M1 = b"012345678901234567890123456789012345678901234567890123456789012"
M2 = "Се ветри, Стрибожи внуци, веютъ с моря стрелами на храбрыя плъкы Игоревы".encode("cp1251")
STREEBOG_EXAMPLES = [
    (
        M1,
        "streebog512",
        "1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa"
        "00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48",
    ),
    (M1, "streebog256", "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"),
    (
        M2,
        "streebog512",
        "1e88e62226bfca6f9994f1f2d51569e0daf8475a3b0fe61a5300eee46d961376"
        "035fe83549ada2b8620fcd7c496ce5b33f0cb9dddc2b6460143b03dabac9fb28",
    ),
    (M2, "streebog256", "9dd2fe4e90409e5da87f53976d7405b0c0cac628fc669a741d50063c557e8f50"),
]


def _h(text: str) -> int:
    return int(text, 16)


# GOST R 34.10-2012 appendix A.2: the 512-bit example curve, key, digest, nonce and signature.
EXAMPLE_512 = gost.GostCurve(
    "GOST R 34.10-2012 A.2",
    p=_h(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D"
        "F1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373"
    ),
    a=7,
    b=_h(
        "1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC43"
        "61834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC"
    ),
    q=_h(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D"
        "A82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF"
    ),
    x=_h(
        "24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762"
        "FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A"
    ),
    y=_h(
        "2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C"
        "83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E"
    ),
    size=64,
)
D = _h(
    "0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B1020"
    "72E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4"
)
QX = _h(
    "115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD"
    "5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1"
)
QY = _h(
    "37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61"
    "EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC"
)
ALPHA = _h(
    "3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C591"
    "7184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C"
)
K = _h(
    "0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F3658"
    "86748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1"
)
R = _h(
    "2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD3"
    "5492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36"
)
S = _h(
    "1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5"
    "823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A"
)

GOST2015_CA = "ncanode/nca_gost2015_test.cer"
GOST2015_CERTIFICATES = [
    "p12/KEY_INDIVIDUAL_VALID_2015.crt.pem",
    "p12/KEY_CEO_REVOKED_2015.crt.pem",
    "gokalkan/gost1.cer",
    "gokalkan/gost2.cer",
    "kalkan-tests/k0.pem",
    "kalkan-tests/k1.pem",
]


def _certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    begin = data.find(b"-----BEGIN CERTIFICATE")
    if begin >= 0:  # openssl's dumps start with "Bag Attributes" lines
        return x509.load_pem_x509_certificate(data[begin:])
    return x509.load_der_x509_certificate(data)


# -- known answers from the standards --------------------------------------------------------


@pytest.mark.parametrize(("message", "name", "expected"), STREEBOG_EXAMPLES)
def test_streebog_matches_the_examples_of_gost_r_34_11_2012(
    message: bytes, name: str, expected: str
) -> None:
    assert gost.Streebog(name, message).digest().hex() == expected


def test_streebog_fed_in_pieces_equals_one_call() -> None:
    hasher = DigestAlgorithm.STREEBOG512.new()
    for piece in (M2[:5], memoryview(M2)[5:70], M2[70:]):
        hasher.update(piece)
    assert hasher.digest() == DigestAlgorithm.STREEBOG512.digest(M2) == gost.streebog512(M2)


def test_public_key_of_the_34_10_2012_example_is_d_times_g() -> None:
    assert gost.public_point(EXAMPLE_512, D) == (QX, QY)


def test_signature_of_the_34_10_2012_example_with_its_nonce() -> None:
    assert gost.sign_int(EXAMPLE_512, D, ALPHA, k=K) == (R, S)


def test_the_34_10_2012_example_signature_verifies_and_a_changed_one_does_not() -> None:
    public = EXAMPLE_512.point(QX, QY)
    assert gost.verify_int(EXAMPLE_512, public, ALPHA, R, S)
    assert not gost.verify_int(EXAMPLE_512, public, ALPHA + 1, R, S)
    assert not gost.verify_int(EXAMPLE_512, public, ALPHA, R, S + 1)
    assert not gost.verify_int(EXAMPLE_512, public, ALPHA, 0, S)


def test_a_point_off_the_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="not on the curve"):
        EXAMPLE_512.point(QX, QY + 1)


# -- NCA's encodings and keys ----------------------------------------------------------------


def test_nca_signature_value_is_r_then_s_each_little_endian() -> None:
    value = gost.encode_signature(R, S, 64)
    assert value[:64] == R.to_bytes(64, "little")
    assert value[64:] == S.to_bytes(64, "little")
    assert gost.decode_signature(value, 64) == (R, S)
    assert gost.decode_signature(value[:-1], 64) is None


def test_a_fresh_gost_2015_key_signs_and_verifies_on_paramset_a() -> None:
    key = gost.GostPrivateKey(123456789 * 2**300 + 17)
    signature = key.sign(b"payload", DigestAlgorithm.STREEBOG512)
    assert len(signature) == 128
    assert key.public_key.verify(signature, b"payload")
    assert not key.public_key.verify(signature, b"payloae")
    assert key.algorithm is KeyAlgorithm.GOST2015
    assert key.key_size == 512


def test_a_gost_key_refuses_a_sha2_digest() -> None:
    key = gost.GostPrivateKey(5)
    with pytest.raises(UnsupportedAlgorithm):
        key.sign(b"x", DigestAlgorithm.SHA256)


def test_pkcs8_with_a_short_scalar_is_a_damaged_key() -> None:
    head = bytes.fromhex(
        "020100302306092a830e030a010102023016060a2a830e030a010102020106082a830e030a010303"
    )
    inner = bytes.fromhex("0420") + b"\x01" * 32
    body = head + bytes([0x04, len(inner)]) + inner
    pkcs8 = bytes([0x30, len(body)]) + body
    with pytest.raises(CorruptKeyStore):
        gost.private_key_from_pkcs8(pkcs8)


# -- real NCA certificates -------------------------------------------------------------------


@pytest.mark.parametrize("name", GOST2015_CERTIFICATES)
def test_real_nca_gost_2015_certificate_verifies_against_the_gost_2015_test_ca(
    nca_vectors: Path, name: str
) -> None:
    ca = _certificate(nca_vectors / GOST2015_CA)
    certificate = _certificate(nca_vectors / name)
    key = gost.public_key_from_certificate(certificate)
    assert key is not None
    assert key.algorithm is KeyAlgorithm.GOST2015
    assert gost.certificate_signed_by(certificate, ca)


def test_a_gost_certificate_does_not_verify_against_another_gost_key(nca_vectors: Path) -> None:
    certificate = _certificate(nca_vectors / GOST2015_CERTIFICATES[0])
    other = _certificate(nca_vectors / GOST2015_CERTIFICATES[2])
    assert not gost.certificate_signed_by(certificate, other)


def test_rsa_certificate_has_no_gost_key(nca_vectors: Path) -> None:
    rsa = _certificate(nca_vectors / "ncanode" / "nca_rsa_test.crt")
    assert gost.public_key_from_certificate(rsa) is None


def test_gost_2004_certificate_key_lies_on_cryptopro_a(nca_vectors: Path) -> None:
    certificate = _certificate(nca_vectors / "p12" / "KEY_CEO_SIGN_REVOKED_2004.crt.pem")
    key = gost.public_key_from_certificate(certificate)
    assert key is not None
    assert key.algorithm is KeyAlgorithm.GOST2004
    key.point  # noqa: B018 - raises ValueError when off the curve


GOSTPROV = Path("/usr/lib/x86_64-linux-gnu/ossl-modules/gostprov.so")


@pytest.mark.skipif(not GOSTPROV.exists(), reason="gost-engine's OpenSSL provider not installed")
def test_streebog_runs_on_openssl_where_the_gost_provider_is_installed() -> None:
    """CI installs libengine-gost-openssl: Streebog must then be OpenSSL's (300x gostcrypto)."""
    assert gost.BACKEND == "openssl"


def test_both_backends_agree_on_long_and_split_input() -> None:
    from gostcrypto import gosthash

    data = bytes(range(256)) * 1000
    whole = gost.Streebog("streebog512", data).digest()
    split = gost.Streebog("streebog512")
    for at in range(0, len(data), 4097):
        split.update(memoryview(data)[at : at + 4097])
    assert split.digest() == whole == bytes(gosthash.new("streebog512", data=data).digest())
    assert len(gost.Streebog("streebog256", data).digest()) == 32
    with pytest.raises(ValueError, match="unknown Streebog"):
        gost.Streebog("streebog384")
