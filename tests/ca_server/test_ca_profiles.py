"""The KZ certificate profiles and builders of ca_server.profiles, and the qalam-ca CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ca_server import cli, demo_pki
from ca_server.profiles import (
    DEFAULT_BASE_URL,
    PROFILES,
    KeyUsageBit,
    Person,
    Purpose,
    Role,
    build_ca_certificate,
    build_ca_subject,
    build_end_entity_certificate,
    build_subject,
    random_serial_number,
)

EMPLOYEE = Person(
    surname="Төлегенова",
    given_name="Әйгерім",
    iin="900705400126",
    patronymic="Болатқызы",
    organisation="ТОО «QALAM DEMO» TEST",
    bin="940140000385",
    email="a@qalam.test",
)


def test_there_is_a_profile_for_every_purpose_and_role() -> None:
    assert set(PROFILES) == {(p, r) for p in Purpose for r in Role}
    for (purpose, role), profile in PROFILES.items():
        assert profile.purpose is purpose
        assert profile.name == f"{purpose.name}_{role.name}"
        assert profile.validity_days == 365


@pytest.mark.parametrize(
    ("purpose", "usage", "eku"),
    [
        (
            Purpose.AUTH,
            {KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.KEY_ENCIPHERMENT},
            ExtendedKeyUsageOID.CLIENT_AUTH,
        ),
        (
            Purpose.SIGN,
            {KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.NON_REPUDIATION},
            ExtendedKeyUsageOID.EMAIL_PROTECTION,
        ),
    ],
)
def test_auth_and_sign_profiles_differ_in_usage_and_eku(
    purpose: Purpose, usage: set[KeyUsageBit], eku: x509.ObjectIdentifier
) -> None:
    for role in Role:
        profile = PROFILES[purpose, role]
        assert profile.key_usage == usage
        assert profile.extended_key_usage[0] == eku


@pytest.mark.parametrize(
    ("role", "sign_policy", "auth_policy"),
    [
        (Role.INDIVIDUAL, "1.2.398.3.3.2.3", "1.2.398.3.3.2.4"),
        (Role.HEAD, "1.2.398.3.3.2.1", "1.2.398.3.3.2.2"),
        (Role.CIVIL_SERVANT, "1.2.398.3.3.2.1", "1.2.398.3.3.2.2"),
        (Role.PSC_OPERATOR, "1.2.398.3.3.2.1", "1.2.398.3.3.2.2"),
    ],
)
def test_policies_tell_individuals_from_legal_entities(
    role: Role, sign_policy: str, auth_policy: str
) -> None:
    assert PROFILES[Purpose.SIGN, role].policy.dotted_string == sign_policy
    assert PROFILES[Purpose.AUTH, role].policy.dotted_string == auth_policy


def test_only_the_psc_operator_carries_the_operator_oid() -> None:
    operator = x509.ObjectIdentifier("1.2.398.3.3.4.2.3")
    for (_, role), profile in PROFILES.items():
        assert (operator in profile.extended_key_usage) is (role is Role.PSC_OPERATOR)


def test_build_subject_orders_an_employee_dn_like_nca_and_upper_cases_names() -> None:
    fields = [(a.oid, a.value) for rdn in build_subject(EMPLOYEE).rdns for a in rdn]
    assert fields == [
        (NameOID.COMMON_NAME, "ТӨЛЕГЕНОВА ӘЙГЕРІМ"),
        (NameOID.SURNAME, "ТӨЛЕГЕНОВА"),
        (NameOID.SERIAL_NUMBER, "IIN900705400126"),
        (NameOID.COUNTRY_NAME, "KZ"),
        (NameOID.ORGANIZATION_NAME, "ТОО «QALAM DEMO» TEST"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "BIN940140000385"),
        (NameOID.GIVEN_NAME, "БОЛАТҚЫЗЫ"),
        (NameOID.EMAIL_ADDRESS, "a@qalam.test"),
    ]


def test_build_subject_leaves_out_what_an_individual_does_not_have() -> None:
    person = Person(surname="ЖҰМАБЕКОВ", given_name="АСХАТ", iin="850101300124")
    oids = [next(iter(rdn)).oid for rdn in build_subject(person).rdns]
    assert oids == [
        NameOID.COMMON_NAME,
        NameOID.SURNAME,
        NameOID.SERIAL_NUMBER,
        NameOID.COUNTRY_NAME,
    ]


def test_build_ca_subject_reads_cn_o_c() -> None:
    name = build_ca_subject("ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA) TEST", "РМК TEST")
    assert [next(iter(rdn)).oid for rdn in name.rdns] == [
        NameOID.COMMON_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.COUNTRY_NAME,
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"iin": "85010130012"},
        {"iin": "IIN850101300124"},
        {"bin": "94014000038X"},
        {"bin": None},
        {"organisation": None},
    ],
)
def test_person_rejects_malformed_identifiers_and_half_an_employer(
    changes: dict[str, str | None],
) -> None:
    with pytest.raises(ValueError, match=r"12 digits|go together"):
        dataclasses.replace(EMPLOYEE, **changes)  # type: ignore[arg-type]


def test_person_accepts_an_iin_with_a_wrong_check_digit_like_ncas_test_keys() -> None:
    assert Person(surname="ТЕСТОВ", given_name="ТЕСТ", iin="123456789011").iin == "123456789011"


def test_random_serial_numbers_are_twenty_positive_bytes() -> None:
    for _ in range(500):
        raw = random_serial_number().to_bytes(20, "big")
        assert 0x10 <= raw[0] <= 0x7F


def test_end_entity_validity_defaults_to_the_profile_and_urls_to_the_base_url() -> None:
    # EC keys keep this test fast; the demo PKI's CAs are RSA.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ca = build_ca_certificate(
        subject=build_ca_subject("CA TEST"),
        public_key=ca_key.public_key(),
        signing_key=ca_key,
        not_before=start,
        validity_days=3650,
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = build_end_entity_certificate(
        person=EMPLOYEE,
        public_key=key.public_key(),
        profile=PROFILES[Purpose.AUTH, Role.EMPLOYEE],
        issuer=ca,
        issuer_key=ca_key,
        issuer_name="demo",
        not_before=start,
    )
    assert certificate.not_valid_after_utc - start == dt.timedelta(days=365)
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for p in points for n in p.full_name or []] == [
        f"{DEFAULT_BASE_URL}/crl/demo.crl"
    ]
    certificate.verify_directly_issued_by(ca)


def test_a_ca_under_an_issuer_needs_the_issuers_name() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    root = build_ca_certificate(
        subject=build_ca_subject("ROOT TEST"),
        public_key=key.public_key(),
        signing_key=key,
        not_before=start,
        validity_days=10,
    )
    with pytest.raises(ValueError, match="issuer's name"):
        build_ca_certificate(
            subject=build_ca_subject("CA TEST"),
            public_key=key.public_key(),
            signing_key=key,
            not_before=start,
            validity_days=10,
            issuer=root,
        )


def test_cli_demo_pki_generates_into_the_out_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(demo_pki, "generate", calls.append)
    assert cli.main(["demo-pki", "--out", str(tmp_path)]) == 0
    assert calls == [tmp_path]
    assert str(tmp_path) in capsys.readouterr().out


def test_cli_demo_pki_defaults_to_certs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(demo_pki, "generate", calls.append)
    assert cli.main(["demo-pki"]) == 0
    assert calls == [Path("certs")]


def test_cli_without_a_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
