"""identity.py: IIN/BIN check digits and who a certificate belongs to."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from signer_app.crypto.identity import (
    CentreKind,
    Purpose,
    Role,
    check_digit,
    identity_of,
    iin_birth_date,
    is_valid_bin,
    is_valid_iin,
)

# Worked examples from shared/KZ_PKI.md.
KNOWN_GOOD_IINS = ["850101300124", "900705400126", "000101600127", "980102200348", "061211600012"]


@pytest.mark.parametrize("iin", KNOWN_GOOD_IINS)
def test_the_worked_examples_of_kz_pki_are_valid_iins(iin: str) -> None:
    assert is_valid_iin(iin)


def test_an_iin_needing_the_second_pass_gets_its_digit_from_the_second_weights() -> None:
    assert check_digit("06121160001") == 2


@pytest.mark.parametrize("bin_", ["940140000385", "990140004654"])
def test_known_bins_are_valid(bin_: str) -> None:
    assert is_valid_bin(bin_)


@pytest.mark.parametrize(
    "number", ["123456789011", "85010130012", "8501013001245", "85010130012x", "", "850101300125"]
)
def test_malformed_or_wrong_check_digit_iins_are_invalid_without_raising(number: str) -> None:
    assert not is_valid_iin(number)


def test_an_iin_with_a_century_digit_out_of_range_is_invalid() -> None:
    first = "8501017001"  # seventh digit 7 is no century/sex code
    for serial in "0123456789":
        digit = check_digit(first + serial)
        if digit is not None:
            assert not is_valid_iin(first + serial + str(digit))


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_the_check_digit_is_the_only_twelfth_digit_that_validates(first: str) -> None:
    digit = check_digit(first)
    valid_last = [d for d in "0123456789" if is_valid_bin(first + d) or is_valid_iin(first + d)]
    if digit is None:
        assert valid_last == []
    else:
        assert set(valid_last) <= {str(digit)}


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from("12"),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
def test_an_iin_made_from_a_birth_date_gives_that_date_back(
    born: date, sex: str, serial: str
) -> None:
    century_digit = {1900: "3", 2000: "5"}[born.year // 100 * 100]
    century_digit = str(int(century_digit) + (sex == "2"))
    first = born.strftime("%y%m%d") + century_digit + serial
    digit = check_digit(first)
    if digit is None:
        return
    iin = first + str(digit)
    assert is_valid_iin(iin)
    assert iin_birth_date(iin) == born


def test_an_iin_whose_digits_are_no_date_has_no_birth_date_but_may_be_valid() -> None:
    assert iin_birth_date("991399300000") is None


def test_the_demo_citizen_is_an_individual_with_a_valid_iin(demo) -> None:
    key = demo["citizen_sign"]
    who = identity_of(key.open().certificate)
    assert who.iin == key.iin
    assert who.iin_valid
    assert who.bin is None
    assert who.purpose is Purpose.SIGN
    assert Role.INDIVIDUAL in who.roles
    assert who.centre is CentreKind.NAC
    assert who.common_name == key.name
    assert who.subject_dn.startswith("CN=")
    assert f"SERIALNUMBER=IIN{key.iin}" in who.subject_dn


def test_every_demo_certificate_reads_back_as_indexed(demo) -> None:
    for key in demo.values():
        who = identity_of(key.open().certificate)
        assert who.iin == key.iin, key.id
        assert who.iin_valid, key.id
        assert who.bin == key.bin, key.id
        if key.bin:
            assert who.bin_valid, key.id
            assert who.is_legal_entity, key.id
        assert who.purpose.value == key.purpose, key.id
        assert who.centre.value == key.ca, key.id
        assert "TEST" in who.issuer_common_name, key.id


def test_the_company_head_has_the_head_role_and_a_bin(demo) -> None:
    who = identity_of(demo["ceo_sign"].open().certificate)
    assert Role.HEAD in who.roles
    assert Role.LEGAL_ENTITY in who.roles
    assert who.organisation


def test_the_psc_operator_certificate_is_from_gov_ca_with_the_operator_role(demo) -> None:
    who = identity_of(demo["psc_operator_auth"].open().certificate)
    assert who.centre is CentreKind.GOV
    assert Role.OPERATOR in who.roles
    assert who.purpose is Purpose.AUTH


def _load(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def test_real_nca_test_certificates_report_their_checksum_failing_iin(nca_vectors: Path) -> None:
    who = identity_of(_load(nca_vectors / "ncanode" / "individual_valid_sign_2004_rsa.cer"))
    assert who.iin == "123456789011"
    assert not who.iin_valid
    assert who.full_name == "ТЕСТОВ ТЕСТ ТЕСТОВИЧ"
    assert who.purpose is Purpose.SIGN
    assert who.centre is CentreKind.NAC


def test_real_nca_auth_certificate_is_auth(nca_vectors: Path) -> None:
    who = identity_of(_load(nca_vectors / "ncanode" / "individual_valid_sign_2004_rsa_auth.cer"))
    assert who.purpose is Purpose.AUTH
    assert Role.INDIVIDUAL in who.roles


def test_real_nca_ceo_certificate_names_the_company_and_its_bin(nca_vectors: Path) -> None:
    who = identity_of(_load(nca_vectors / "ncanode" / "ceo_valid_sign_2004_gost.cer"))
    assert who.bin == "123456789021"
    assert not who.bin_valid
    assert Role.HEAD in who.roles
    assert who.organisation
