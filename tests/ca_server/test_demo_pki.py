"""The committed demo PKI in certs/ is what certs/README.md and shared/KZ_PKI.md say it is."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from ca_server import demo_pki
from signer_app.crypto.identity import is_valid_bin, is_valid_iin

CERTS = Path(__file__).resolve().parents[2] / "certs"
HIERARCHIES = ("nac", "gov")
BASE_URL = "http://127.0.0.1:8080"

EXPECTED_IDS = [
    "ceo_auth",
    "ceo_sign",
    "citizen_auth",
    "citizen_ec_sign",
    "citizen_gost_auth",
    "citizen_gost_sign",
    "citizen_rsa4096_sign",
    "citizen_sign",
    "civil_servant_auth",
    "civil_servant_sign",
    "employee_auth",
    "employee_sign",
    "expired_auth",
    "expired_sign",
    "psc_operator_auth",
    "psc_operator_sign",
    "revoked_auth",
    "revoked_sign",
    "signer_auth",
    "signer_sign",
]

ROLE_EKU = {
    "individual": {"1.2.398.3.3.4.1.1"},
    "head": {"1.2.398.3.3.4.1.2", "1.2.398.3.3.4.1.2.1"},
    "signer": {"1.2.398.3.3.4.1.2", "1.2.398.3.3.4.1.2.2"},
    "employee": {"1.2.398.3.3.4.1.2", "1.2.398.3.3.4.1.2.5"},
    "civil_servant": {"1.2.398.3.3.4.1.2", "1.2.398.3.3.4.1.2.5"},
    "psc_operator": {"1.2.398.3.3.4.1.2", "1.2.398.3.3.4.1.2.5", "1.2.398.3.3.4.2.3"},
}
POLICY = {
    ("sign", False): "1.2.398.3.3.2.3",
    ("sign", True): "1.2.398.3.3.2.1",
    ("auth", False): "1.2.398.3.3.2.4",
    ("auth", True): "1.2.398.3.3.2.2",
}


@cache
def all_rows() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8")))


@cache
def index() -> tuple[dict[str, Any], ...]:
    """The RSA/EC rows, which `cryptography` and openssl open; the GOST line has its own
    specification (test_gost_demo_pki.py)."""
    return tuple(e for e in all_rows() if e["algorithm"] != "GOST2015")


@cache
def opened(entry_id: str) -> pkcs12.PKCS12KeyAndCertificates:
    entry = next(e for e in index() if e["id"] == entry_id)
    data = (CERTS / entry["path"]).read_bytes()
    return pkcs12.load_pkcs12(data, entry["password"].encode())


def leaf(entry: dict[str, Any]) -> x509.Certificate:
    bundle = opened(entry["id"])
    assert bundle.cert is not None
    return bundle.cert.certificate


def load_pem(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def ca_cert(ca: str, which: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((CERTS / ca / f"{which}.pem").read_bytes())


def crl(ca: str, name: str = "crl") -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl((CERTS / ca / f"{name}.der").read_bytes())


def ski(certificate: x509.Certificate) -> bytes:
    return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def by_id() -> list[Any]:
    return [pytest.param(e, id=e["id"]) for e in index()]


def test_index_lists_every_demo_key_once_in_id_order() -> None:
    ids = [e["id"] for e in all_rows()]
    assert ids == EXPECTED_IDS
    assert all(e["id"] == f"{e['person']}_{e['purpose']}" for e in all_rows())


def test_iins_and_bins_pass_the_check_digit() -> None:
    for entry in index():
        for number in (entry["iin"], entry["bin"]):
            if number is not None:
                assert re.fullmatch(r"\d{12}", number)
                assert is_valid_iin(number) or is_valid_bin(number), number


def test_each_person_has_a_distinct_iin_and_the_citizen_variants_share_one() -> None:
    iin_of = {e["person"]: e["iin"] for e in index()}
    assert iin_of["citizen"] == iin_of["citizen_ec"] == iin_of["citizen_rsa4096"]
    others = [iin for person, iin in iin_of.items() if not person.startswith("citizen_")]
    assert len(set(others)) == len(others)


@pytest.mark.parametrize("entry", by_id())
def test_every_demo_key_opens_with_its_indexed_password(entry: dict[str, Any]) -> None:
    bundle = opened(entry["id"])
    assert bundle.key is not None
    assert bundle.cert is not None
    assert bundle.key.public_key() == bundle.cert.certificate.public_key()
    with pytest.raises(ValueError):  # noqa: PT011 - cryptography's only error for this
        pkcs12.load_pkcs12((CERTS / entry["path"]).read_bytes(), b"wrong password")


@pytest.mark.parametrize("entry", by_id())
def test_key_files_are_named_and_aliased_by_the_subject_key_identifier(
    entry: dict[str, Any],
) -> None:
    certificate = leaf(entry)
    identifier = ski(certificate).hex()
    prefix = {("auth", "RSA"): "AUTH_RSA256_", ("sign", "RSA"): "RSA256_", ("sign", "EC"): "EC256_"}
    assert entry["path"] == f"demo/{prefix[entry['purpose'], entry['algorithm']]}{identifier}.p12"
    assert entry["ski"] == identifier
    bundle = opened(entry["id"])
    assert bundle.cert is not None
    assert bundle.cert.friendly_name == identifier.encode()


@pytest.mark.parametrize("entry", by_id())
def test_subject_key_identifier_is_rfc5280_method_one(entry: dict[str, Any]) -> None:
    """SHA-1 over the subjectPublicKey BIT STRING contents, as NCA's 2022 CAs compute it."""
    key = leaf(entry).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        bits = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        bits = key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    assert ski(leaf(entry)) == hashlib.sha1(bits, usedforsecurity=False).digest()


@pytest.mark.parametrize("entry", by_id())
def test_key_files_carry_the_chain_up_to_the_root(entry: dict[str, Any]) -> None:
    bundle = opened(entry["id"])
    chain = [c.certificate for c in bundle.additional_certs]
    assert chain == [ca_cert(entry["ca"], "ca"), ca_cert(entry["ca"], "root")]


@pytest.mark.parametrize("entry", by_id())
def test_index_records_match_the_certificate(entry: dict[str, Any]) -> None:
    certificate = leaf(entry)
    subject = certificate.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == entry["name"]
    serial = subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
    assert serial == f"IIN{entry['iin']}"
    units = subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert [u.value for u in units] == ([f"BIN{entry['bin']}"] if entry["bin"] else [])
    orgs = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert [o.value for o in orgs] == ([entry["organisation"]] if entry["organisation"] else [])
    assert f"{certificate.serial_number:040x}" == entry["serial"]
    key = certificate.public_key()
    if entry["algorithm"] == "EC":
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert key.curve.name == "secp256r1"
        assert entry["key_size"] == 256
    else:
        assert isinstance(key, rsa.RSAPublicKey)
        assert key.key_size == entry["key_size"]


@pytest.mark.parametrize("entry", by_id())
def test_subject_dn_follows_the_kz_order_and_string_types(entry: dict[str, Any]) -> None:
    certificate = leaf(entry)
    rdns = list(certificate.subject.rdns)
    assert all(len(rdn) == 1 for rdn in rdns)
    attributes = [next(iter(rdn)) for rdn in rdns]
    order = [a.oid for a in attributes]
    expected = [NameOID.COMMON_NAME, NameOID.SURNAME, NameOID.SERIAL_NUMBER, NameOID.COUNTRY_NAME]
    if entry["bin"]:
        expected += [NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME]
    expected.append(NameOID.GIVEN_NAME)
    if entry["person"].startswith("citizen"):
        expected.append(NameOID.EMAIL_ADDRESS)
    assert order == expected
    values = {a.oid: a.value for a in attributes}
    assert values[NameOID.COUNTRY_NAME] == "KZ"
    surname = values[NameOID.SURNAME]
    assert isinstance(surname, str)
    assert entry["name"].startswith(f"{surname} ")
    for attribute in attributes:
        if attribute.oid != NameOID.EMAIL_ADDRESS:
            assert isinstance(attribute.value, str)
            assert attribute.value == attribute.value.upper()
    # PrintableString for SERIALNUMBER and C, UTF8String elsewhere (DER tags 0x13 and 0x0c).
    der = certificate.tbs_certificate_bytes
    assert b"\x13\x0fIIN" + entry["iin"].encode() in der
    assert b"\x13\x02KZ" in der
    assert b"\x0c" + bytes([len(surname.encode())]) + surname.encode() in der


def test_names_use_kazakh_letters() -> None:
    text = "".join(e["name"] for e in index())
    assert set("ӘҒҚҢӨҰҮІ") <= set(text)


def test_subjects_say_test() -> None:
    """Every CA and organisation says TEST; every end-entity certificate is issued by one."""
    for ca in HIERARCHIES:
        for which in ("root", "ca"):
            subject = ca_cert(ca, which).subject
            for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
                value = subject.get_attributes_for_oid(oid)[0].value
                assert isinstance(value, str)
                assert value.endswith("TEST")
    for entry in index():
        certificate = leaf(entry)
        assert "TEST" in certificate.issuer.rfc4514_string()
        for org in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME):
            assert isinstance(org.value, str)
            assert org.value.endswith("TEST")


@pytest.mark.parametrize("entry", by_id())
def test_auth_and_sign_key_usage_follow_the_profile(entry: dict[str, Any]) -> None:
    extensions = leaf(entry).extensions
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.key_cert_sign
    assert not usage.value.crl_sign
    auth = entry["purpose"] == "auth"
    assert usage.value.key_encipherment is auth
    assert usage.value.content_commitment is not auth
    eku = {
        oid.dotted_string for oid in extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    }
    purpose_eku = ExtendedKeyUsageOID.CLIENT_AUTH if auth else ExtendedKeyUsageOID.EMAIL_PROTECTION
    assert eku == {purpose_eku.dotted_string} | ROLE_EKU[entry["role"]]
    policies = extensions.get_extension_for_class(x509.CertificatePolicies).value
    legal = entry["role"] != "individual"
    assert [p.policy_identifier.dotted_string for p in policies] == [
        POLICY[entry["purpose"], legal]
    ]
    constraints = extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is False


@pytest.mark.parametrize("entry", by_id())
def test_end_entities_point_at_the_bundled_ca_services(entry: dict[str, Any]) -> None:
    certificate = leaf(entry)
    ca = entry["ca"]
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    assert [(d.access_method, d.access_location.value) for d in access.value] == [
        (AuthorityInformationAccessOID.OCSP, f"{BASE_URL}/ocsp"),
        (AuthorityInformationAccessOID.CA_ISSUERS, f"{BASE_URL}/ca/{ca}.crt"),
    ]
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for p in points for n in p.full_name or []] == [f"{BASE_URL}/crl/{ca}.crl"]
    aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski(ca_cert(ca, "ca"))


@pytest.mark.parametrize("entry", by_id())
def test_serials_are_twenty_random_positive_bytes(entry: dict[str, Any]) -> None:
    raw = leaf(entry).serial_number.to_bytes(20, "big")
    assert 0x10 <= raw[0] <= 0x7F


def test_serials_are_unique() -> None:
    serials = [e["serial"] for e in index()]
    assert len(set(serials)) == len(serials)


@pytest.mark.parametrize("entry", by_id())
def test_end_entities_are_signed_by_their_issuing_ca_with_sha256_rsa(
    entry: dict[str, Any],
) -> None:
    certificate = leaf(entry)
    issuing = ca_cert(entry["ca"], "ca")
    assert certificate.issuer == issuing.subject
    assert certificate.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSA_WITH_SHA256
    certificate.verify_directly_issued_by(issuing)


def test_valid_and_revoked_keys_last_ten_years_and_are_in_force_now() -> None:
    now = dt.datetime.now(dt.UTC)
    for entry in index():
        if entry["status"] == "expired":
            continue
        certificate = leaf(entry)
        lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
        assert lifetime == dt.timedelta(days=3650)
        assert certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc


def test_expired_keys_ended_about_a_year_ago() -> None:
    now = dt.datetime.now(dt.UTC)
    expired = [e for e in index() if e["status"] == "expired"]
    assert {e["person"] for e in expired} == {"expired"}
    for entry in expired:
        certificate = leaf(entry)
        assert certificate.not_valid_after_utc < now - dt.timedelta(days=300)
        issuing = ca_cert(entry["ca"], "ca")
        assert issuing.not_valid_before_utc <= certificate.not_valid_before_utc


def test_revoked_people_are_listed_in_their_ca_crl() -> None:
    for ca in HIERARCHIES:
        listed = {r.serial_number: r for r in crl(ca)}
        revoked = {
            int(e["serial"], 16) for e in index() if e["ca"] == ca and e["status"] == "revoked"
        }
        assert set(listed) == revoked
        for entry in listed.values():
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value
            assert reason.reason == x509.ReasonFlags.key_compromise
    assert any(e["status"] == "revoked" for e in index())


@pytest.mark.parametrize("ca", HIERARCHIES)
@pytest.mark.parametrize("name", ["crl", "root-crl"])
def test_crls_are_v2_numbered_and_signed_by_their_ca(ca: str, name: str) -> None:
    issuer = ca_cert(ca, "ca" if name == "crl" else "root")
    revocation_list = crl(ca, name)
    assert revocation_list.issuer == issuer.subject
    key = issuer.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert revocation_list.is_signature_valid(key)
    assert revocation_list.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    aki = revocation_list.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski(issuer)
    assert revocation_list.next_update_utc is not None
    lifetime = revocation_list.next_update_utc - revocation_list.last_update_utc
    assert lifetime >= dt.timedelta(days=3650)


@pytest.mark.parametrize("ca", HIERARCHIES)
def test_ca_certificates_follow_the_ca_profile(ca: str) -> None:
    root, issuing = ca_cert(ca, "root"), ca_cert(ca, "ca")
    for certificate, bits, days, path_length in (
        (root, 4096, 20 * 365, None),
        (issuing, 2048, 15 * 365, 0),
    ):
        key = certificate.public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        assert key.key_size == bits
        lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
        assert lifetime == dt.timedelta(days=days)
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical
        assert constraints.value.ca
        assert constraints.value.path_length == path_length
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical
        assert usage.value.key_cert_sign
        assert usage.value.crl_sign
        assert not usage.value.digital_signature
        certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert root.issuer == root.subject
    root.verify_directly_issued_by(root)
    issuing.verify_directly_issued_by(root)
    aki = issuing.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski(root)


@pytest.mark.parametrize("ca", HIERARCHIES)
def test_ca_private_keys_open_with_the_documented_passphrase(ca: str) -> None:
    for which in ("root", "ca"):
        pem = (CERTS / ca / f"{which}.key.pem").read_bytes()
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        key = serialization.load_pem_private_key(pem, b"demo-ca-passphrase")
        assert key.public_key() == ca_cert(ca, which).public_key()


def test_trust_bundles_hold_the_roots_and_the_whole_chain() -> None:
    roots = [ca_cert(ca, "root") for ca in HIERARCHIES]
    issuing = [ca_cert(ca, "ca") for ca in HIERARCHIES]
    assert load_pem(CERTS / "trust" / "demo-roots.pem") == roots
    assert load_pem(CERTS / "trust" / "demo-chain.pem") == roots + issuing


def test_files_follow_the_documented_pkcs12_encryption() -> None:
    algorithms = {}
    for entry in index():
        pfx = asn1_pkcs12.Pfx.load((CERTS / entry["path"]).read_bytes())
        mac = pfx["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native
        found = {mac}
        for content in pfx.authenticated_safe:
            if content["content_type"].native == "encrypted_data":
                info = content["content"]["encrypted_content_info"]
                found.add(info["content_encryption_algorithm"]["algorithm"].native)
            else:
                for bag in asn1_pkcs12.SafeContents.load(content["content"].native):
                    if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                        found.add(bag["bag_value"]["encryption_algorithm"]["algorithm"].native)
        algorithms[entry["id"]] = (entry["encryption"], found)
    for encryption, found in algorithms.values():
        if encryption == "legacy":
            assert found == {"sha1", "pkcs12_sha1_tripledes_3key"}
        else:
            assert encryption == "aes"
            assert "sha1" not in found
            assert "pbes2" in found
    assert {e["id"] for e in index() if e["encryption"] == "legacy"} == {
        "citizen_auth",
        "citizen_sign",
    }


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize("entry", by_id())
def test_openssl_verifies_each_chain_and_sees_expiry_and_revocation(
    entry: dict[str, Any], tmp_path: Path
) -> None:
    ca = CERTS / entry["ca"]
    leaf_pem = tmp_path / "leaf.pem"
    leaf_pem.write_bytes(leaf(entry).public_bytes(serialization.Encoding.PEM))
    crls = []
    for name in ("crl", "root-crl"):
        pem = tmp_path / f"{name}.pem"
        pem.write_bytes(crl(entry["ca"], name).public_bytes(serialization.Encoding.PEM))
        crls += ["-CRLfile", str(pem)]
    chain = ["-CAfile", str(ca / "root.pem"), "-untrusted", str(ca / "ca.pem")]
    plain = _openssl("verify", *chain, str(leaf_pem))
    checked = _openssl("verify", "-crl_check_all", *crls, *chain, str(leaf_pem))
    if entry["status"] == "expired":
        assert plain.returncode != 0
        assert "certificate has expired" in plain.stdout + plain.stderr
    elif entry["status"] == "revoked":
        assert plain.returncode == 0, plain.stderr
        assert checked.returncode != 0
        assert "certificate revoked" in checked.stdout + checked.stderr
    else:
        assert plain.returncode == 0, plain.stderr
        assert checked.returncode == 0, checked.stderr


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_opens_the_legacy_key_files(tmp_path: Path) -> None:
    for entry in index():
        if entry["encryption"] != "legacy":
            continue
        result = _openssl(
            "pkcs12",
            "-in",
            str(CERTS / entry["path"]),
            "-passin",
            f"pass:{entry['password']}",
            "-nokeys",
            "-legacy",
        )
        assert result.returncode == 0, result.stderr
        assert f"friendlyName: {entry['ski']}" in result.stdout


def _pattern(path: str) -> str:
    return re.sub(r"[0-9a-f]{40}", "<ski>", path)


def _layout(root: Path) -> set[str]:
    return {
        _pattern(p.relative_to(root).as_posix())
        for p in root.rglob("*")
        if p.is_file() and p.name != "README.md"
    }


@pytest.mark.slow
def test_generate_writes_the_committed_layout(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("kept\n")
    stale = tmp_path / "demo" / "RSA256_stale.p12"
    stale.parent.mkdir()
    stale.write_bytes(b"old")

    demo_pki.generate(tmp_path)

    assert (tmp_path / "README.md").read_text() == "kept\n"
    assert not stale.exists()
    fresh = json.loads((tmp_path / "demo" / "index.json").read_text(encoding="utf-8"))
    assert [e["id"] for e in fresh] == [e["id"] for e in all_rows()]
    assert [_pattern(e["path"]) for e in fresh] == [_pattern(e["path"]) for e in all_rows()]
    assert _layout(tmp_path) == _layout(CERTS)
    stable = ("person", "iin", "bin", "name", "role", "purpose", "ca", "status", "algorithm")
    for new, old in zip(fresh, all_rows(), strict=True):
        assert {k: new[k] for k in stable} == {k: old[k] for k in stable}
