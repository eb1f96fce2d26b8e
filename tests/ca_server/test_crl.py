"""CRLs from ca_server.crl are RFC 5280 v2 CRLs shaped like NCA's, signed by the issuing CA.

Read back with cryptography; the issuer is the demo NAC issuing CA (certs/nac).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ca_server.crl import MAX_CRL_NUMBER, RevokedEntry, build_crl

CERTS = Path(__file__).resolve().parents[2] / "certs"
THIS_UPDATE = dt.datetime(2030, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
NEXT_UPDATE = THIS_UPDATE + dt.timedelta(days=1)
AT = dt.datetime(2030, 5, 20, 9, 30, 15, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def ca() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    certificate = x509.load_pem_x509_certificate((CERTS / "nac" / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key(
        (CERTS / "nac" / "ca.key.pem").read_bytes(), b"demo-ca-passphrase"
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return certificate, key


def ca_public_key(ca: tuple[x509.Certificate, rsa.RSAPrivateKey]) -> rsa.RSAPublicKey:
    """The public key in the CA's certificate (what relying parties verify with)."""
    public_key = ca[0].public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    return public_key


ENTRIES = [
    RevokedEntry(0x30, AT, x509.ReasonFlags.superseded),
    RevokedEntry(0x10, AT, x509.ReasonFlags.key_compromise, AT - dt.timedelta(days=3)),
    RevokedEntry(0x20, AT + dt.timedelta(hours=1), x509.ReasonFlags.certificate_hold),
    RevokedEntry(0x40, AT),
    RevokedEntry(0x50, AT, x509.ReasonFlags.unspecified),
]


def crl_of(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
    entries: list[RevokedEntry],
    number: int = 7,
    **options: int,
) -> x509.CertificateRevocationList:
    der = build_crl(ca[0], ca[1], entries, number, THIS_UPDATE, NEXT_UPDATE, **options)
    return x509.load_der_x509_crl(der)


def test_the_crl_is_v2_from_the_ca_and_its_signature_verifies(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    crl = crl_of(ca, ENTRIES)
    assert crl.issuer == ca[0].subject
    assert crl.is_signature_valid(ca_public_key(ca))
    assert crl.last_update_utc == THIS_UPDATE
    assert crl.next_update_utc == NEXT_UPDATE
    der = crl.public_bytes(serialization.Encoding.DER)
    assert asn1_crl.CertificateList.load(der)["tbs_cert_list"]["version"].native == "v2"


def test_the_crl_carries_its_number_and_the_ca_s_key_identifier(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    crl = crl_of(ca, ENTRIES, number=12345)
    number = crl.extensions.get_extension_for_class(x509.CRLNumber)
    assert number.value.crl_number == 12345
    assert not number.critical
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca[0].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert len(crl.extensions) == 2


def test_every_entry_is_listed_by_serial_with_its_time(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    crl = crl_of(ca, ENTRIES)
    assert [entry.serial_number for entry in crl] == [0x10, 0x20, 0x30, 0x40, 0x50]
    for entry in ENTRIES:
        listed = crl.get_revoked_certificate_by_serial_number(entry.serial_number)
        assert listed is not None
        assert listed.revocation_date_utc == entry.revocation_time


def test_entries_carry_their_reason_codes(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    crl = crl_of(ca, ENTRIES)

    def reason(serial: int) -> x509.ReasonFlags | None:
        listed = crl.get_revoked_certificate_by_serial_number(serial)
        assert listed is not None
        try:
            return listed.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            return None

    assert reason(0x10) is x509.ReasonFlags.key_compromise
    assert reason(0x20) is x509.ReasonFlags.certificate_hold
    assert reason(0x30) is x509.ReasonFlags.superseded
    assert reason(0x40) is None
    assert reason(0x50) is None  # RFC 5280 §5.3.1: absent rather than "unspecified"


def test_an_entry_may_carry_an_invalidity_date(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    crl = crl_of(ca, ENTRIES)
    listed = crl.get_revoked_certificate_by_serial_number(0x10)
    assert listed is not None
    invalidity = listed.extensions.get_extension_for_class(x509.InvalidityDate).value
    assert invalidity.invalidity_date_utc == AT - dt.timedelta(days=3)
    other = crl.get_revoked_certificate_by_serial_number(0x30)
    assert other is not None
    with pytest.raises(x509.ExtensionNotFound):
        other.extensions.get_extension_for_class(x509.InvalidityDate)


def test_an_empty_crl_is_valid(ca: tuple[x509.Certificate, rsa.RSAPrivateKey]) -> None:
    crl = crl_of(ca, [])
    assert len(crl) == 0
    assert crl.is_signature_valid(ca_public_key(ca))


def test_the_same_input_gives_the_same_crl(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    first = build_crl(ca[0], ca[1], ENTRIES, 3, THIS_UPDATE, NEXT_UPDATE)
    second = build_crl(ca[0], ca[1], list(reversed(ENTRIES)), 3, THIS_UPDATE, NEXT_UPDATE)
    assert first == second


def test_times_are_written_in_whole_seconds_utc(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    almaty = dt.timezone(dt.timedelta(hours=5))
    moment = dt.datetime(2030, 6, 1, 17, 0, 0, 999999, tzinfo=almaty)
    entry = RevokedEntry(0x99, moment)
    der = build_crl(ca[0], ca[1], [entry], 1, moment, moment + dt.timedelta(hours=6))
    crl = x509.load_der_x509_crl(der)
    assert crl.last_update_utc == THIS_UPDATE
    listed = crl.get_revoked_certificate_by_serial_number(0x99)
    assert listed is not None
    assert listed.revocation_date_utc == THIS_UPDATE


def test_a_delta_crl_names_its_base_and_may_remove_from_crl(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    entries = [RevokedEntry(0x20, AT, x509.ReasonFlags.remove_from_crl)]
    crl = crl_of(ca, entries, number=8, delta_base=7)
    indicator = crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert indicator.critical
    assert indicator.value.crl_number == 7


@pytest.mark.parametrize(
    ("entries", "number", "message"),
    [
        ([RevokedEntry(1, AT), RevokedEntry(1, AT)], 1, "listed twice"),
        ([RevokedEntry(1, AT, x509.ReasonFlags.remove_from_crl)], 1, "delta CRLs only"),
        ([], -1, "CRL number"),
        ([], MAX_CRL_NUMBER + 1, "CRL number"),
    ],
    ids=["duplicate serial", "removeFromCRL in a full CRL", "negative number", "huge number"],
)
def test_a_crl_no_one_could_use_is_refused(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
    entries: list[RevokedEntry],
    number: int,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        build_crl(ca[0], ca[1], entries, number, THIS_UPDATE, NEXT_UPDATE)


def test_next_update_must_follow_this_update(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    with pytest.raises(ValueError, match="after thisUpdate"):
        build_crl(ca[0], ca[1], [], 1, THIS_UPDATE, THIS_UPDATE)


def test_a_key_that_is_not_the_ca_s_is_refused(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError, match="does not belong"):
        build_crl(ca[0], other, [], 1, THIS_UPDATE, NEXT_UPDATE)


def test_naive_times_and_non_positive_serials_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        RevokedEntry(1, dt.datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="positive"):
        RevokedEntry(0, AT)


def test_the_max_number_fits_in_twenty_octets(
    ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
) -> None:
    crl = crl_of(ca, [], number=MAX_CRL_NUMBER)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == (
        MAX_CRL_NUMBER
    )
