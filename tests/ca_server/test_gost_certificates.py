"""Certificates and CRLs signed by a GOST 2015 CA key: the same profiles as RSA, NCA's GOST
signature algorithm and encodings, signatures that verify, structure that parsers accept."""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ca_server.profiles import (
    PROFILES,
    Person,
    Purpose,
    Role,
    build_ca_certificate,
    build_ca_subject,
    build_end_entity_certificate,
)
from signer_app.crypto import gost
from signer_app.crypto.gost_x509 import RevokedEntry, sign_crl

NOW = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
PERSON = Person("ЖҰМАБЕКОВ", "АСХАТ", "850101300124", "НҰРЛАНҰЛЫ")
GOST_SIGNATURE = {"algorithm": gost.GOST2015_512_SIGNATURE_OID, "parameters": None}


@dataclass(frozen=True)
class Line:
    root: x509.Certificate
    root_key: gost.GostPrivateKey
    ca: x509.Certificate
    ca_key: gost.GostPrivateKey


@pytest.fixture(scope="module")
def line() -> Line:
    root_key, ca_key = gost.generate_private_key(), gost.generate_private_key()
    root = build_ca_certificate(
        subject=build_ca_subject("НЕГІЗГІ КО (GOST) TEST"),
        public_key=root_key.public_key,
        signing_key=root_key,
        not_before=NOW,
        validity_days=3650,
    )
    ca = build_ca_certificate(
        subject=build_ca_subject("ҰЛТТЫҚ КО (GOST) TEST"),
        public_key=ca_key.public_key,
        signing_key=root_key,
        not_before=NOW,
        validity_days=1825,
        issuer=root,
        issuer_name="nac-gost-root",
        path_length=0,
    )
    return Line(root, root_key, ca, ca_key)


def _citizen(
    line: Line, purpose: Purpose = Purpose.SIGN
) -> tuple[gost.GostPrivateKey, x509.Certificate]:
    key = gost.generate_private_key()
    certificate = build_end_entity_certificate(
        person=PERSON,
        public_key=key.public_key,
        profile=PROFILES[purpose, Role.INDIVIDUAL],
        issuer=line.ca,
        issuer_key=line.ca_key,
        issuer_name="nac-gost",
        not_before=NOW,
        serial_number=0x1234,
    )
    return key, certificate


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def test_root_ca_and_citizen_chain_by_gost_signatures_and_names(line: Line) -> None:
    _, citizen = _citizen(line)
    assert gost.certificate_signed_by(line.root, line.root)
    assert gost.certificate_signed_by(line.ca, line.root)
    assert gost.certificate_signed_by(citizen, line.ca)
    assert not gost.certificate_signed_by(citizen, line.root)
    assert citizen.issuer == line.ca.subject
    assert line.ca.issuer == line.root.subject


def test_a_changed_byte_of_the_signed_part_breaks_the_signature(line: Line) -> None:
    _, citizen = _citizen(line)
    raw = bytearray(_der(citizen))
    at = raw.index("ЖҰМАБЕКОВ".encode())
    raw[at + 1] ^= 0x01
    tampered = x509.load_der_x509_certificate(bytes(raw))
    assert not gost.certificate_signed_by(tampered, line.ca)


def test_the_certificate_has_ncas_gost_structure_parsed_by_asn1crypto(line: Line) -> None:
    key, citizen = _citizen(line)
    parsed = asn1_x509.Certificate.load(_der(citizen), strict=True)
    tbs = parsed["tbs_certificate"]
    assert tbs["version"].native == "v3"
    assert tbs["serial_number"].native == 0x1234
    assert tbs["signature"].native == GOST_SIGNATURE
    assert parsed["signature_algorithm"].native == GOST_SIGNATURE
    assert len(parsed["signature_value"].native) == 128  # r‖s, 64 bytes each
    assert tbs["subject_public_key_info"].dump() == key.public_key.subject_public_key_info()
    issuer_subject = asn1_x509.Certificate.load(_der(line.ca))["tbs_certificate"]["subject"]
    assert tbs["issuer"].dump() == issuer_subject.dump()
    assert tbs["validity"]["not_after"].native - tbs["validity"]["not_before"].native == (
        dt.timedelta(days=365)
    )
    ski = citizen.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski.digest == key.public_key.key_identifier()


def _extension_map(certificate: x509.Certificate) -> dict[str, tuple[bool, bytes]]:
    return {
        e.oid.dotted_string: (e.critical, e.value.public_bytes()) for e in certificate.extensions
    }


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_gost_certificate_says_what_the_rsa_profile_says_plus_ncas_keystore_type(
    line: Line, purpose: Purpose
) -> None:
    rsa_ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_ca = build_ca_certificate(
        subject=line.ca.subject,
        public_key=rsa_ca_key.public_key(),
        signing_key=rsa_ca_key,
        not_before=NOW,
        validity_days=1825,
    )
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_citizen = build_end_entity_certificate(
        person=PERSON,
        public_key=rsa_key.public_key(),
        profile=PROFILES[purpose, Role.INDIVIDUAL],
        issuer=rsa_ca,
        issuer_key=rsa_ca_key,
        issuer_name="nac-gost",
        not_before=NOW,
    )
    _, gost_citizen = _citizen(line, purpose)
    ours, theirs = _extension_map(gost_citizen), _extension_map(rsa_citizen)
    # Key identifiers differ with the keys; everything else is the one profile.
    for oid in ("2.5.29.14", "2.5.29.35"):
        assert ours.pop(oid)[0] is theirs.pop(oid)[0] is False
    assert ours.pop("1.2.398.3.3.5") == (False, bytes.fromhex("300a06082a830e0303050101"))
    assert ours == theirs
    assert gost_citizen.subject == rsa_citizen.subject


def test_a_gost_key_cannot_be_certified_by_an_rsa_ca(line: Line) -> None:
    rsa_ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError, match="GOST CA"):
        build_end_entity_certificate(
            person=PERSON,
            public_key=gost.generate_private_key().public_key,
            profile=PROFILES[Purpose.SIGN, Role.INDIVIDUAL],
            issuer=line.ca,
            issuer_key=rsa_ca_key,
            issuer_name="nac",
            not_before=NOW,
        )


def _issuer_name(certificate: x509.Certificate) -> bytes:
    return bytes(asn1_x509.Certificate.load(_der(certificate))["tbs_certificate"]["subject"].dump())


def test_a_gost_crl_lists_its_entries_and_verifies_with_the_cas_key(line: Line) -> None:
    ski = line.ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    extensions = [
        x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(7)),
        x509.Extension(
            x509.AuthorityKeyIdentifier.oid,
            False,
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
        ),
    ]
    data = sign_crl(
        issuer=_issuer_name(line.ca),
        this_update=NOW,
        next_update=NOW + dt.timedelta(days=1),
        revoked=[RevokedEntry(0x1234, NOW, x509.ReasonFlags.key_compromise), RevokedEntry(5, NOW)],
        extensions=extensions,
        key=line.ca_key,
    )
    crl = x509.load_der_x509_crl(data)
    assert crl.issuer == line.ca.subject
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    entry = crl.get_revoked_certificate_by_serial_number(0x1234)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.key_compromise
    )
    public = gost.public_key_from_certificate(line.ca)
    assert public is not None
    assert public.verify(crl.signature, crl.tbs_certlist_bytes)
    assert not public.verify(crl.signature, crl.tbs_certlist_bytes + b"\x00")
    parsed = asn1_crl.CertificateList.load(data, strict=True)
    assert parsed["tbs_cert_list"]["version"].native == "v2"
    assert parsed["signature_algorithm"].native == GOST_SIGNATURE


@pytest.mark.interop
def test_openssl_reads_a_gost_certificate_with_its_extensions(
    line: Line, tmp_path: Path, openssl: str
) -> None:
    _, citizen = _citizen(line)
    path = tmp_path / "citizen.der"
    path.write_bytes(_der(citizen))
    shown = subprocess.run(
        [openssl, "x509", "-in", str(path), "-inform", "DER", "-noout", "-text"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "Signature Algorithm: 1.2.398.3.10.1.1.2.3.2" in shown
    assert "Public Key Algorithm: 1.2.398.3.10.1.1.2.2" in shown
    assert "serialNumber = IIN850101300124" in shown
    assert "Digital Signature, Non Repudiation" in shown
    assert "E-mail Protection, 1.2.398.3.3.4.1.1" in shown
    assert "CA Issuers - URI:http://127.0.0.1:8080/ca/nac-gost.crt" in shown
