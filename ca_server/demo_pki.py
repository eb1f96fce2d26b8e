"""The fixed demo PKI in certs/ (TEST ONLY): two CA hierarchies, demo people and their keys.

Tests and the demo read it through certs/demo/index.json. The layout is deterministic; key
material, serial numbers and hence the key file names change on every run.

The GOST 2015 line (certs/nac-gost/: NAC's GOST root and issuing CA, and the demo citizen's
GOST512_*.p12 keys) is made by ``add_gost``, an additive step: it writes only what is missing
and never touches the RSA/EC material, so it can be added to a committed demo PKI without
changing any key the tests know. ``generate`` runs it too.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from ca_server.profiles import (
    PROFILES,
    Person,
    Purpose,
    Role,
    build_ca_certificate,
    build_ca_subject,
    build_end_entity_certificate,
)
from signer_app.crypto import gost, gost_pkcs8, gost_pkcs12, gost_x509
from signer_app.crypto.identity import check_digit
from signer_app.crypto.keystores import dump_pkcs12

__all__ = ["CA_KEY_PASSPHRASE", "GOST_CA", "KEY_PASSWORD", "add_gost", "generate"]

# Published on purpose: these protect test keys only. NCA's own test keys use Qwerty12 too.
KEY_PASSWORD = "Qwerty12"  # noqa: S105
CA_KEY_PASSPHRASE = "demo-ca-passphrase"  # noqa: S105

# Far longer than NCA's one year, so the committed files stay usable.
_LEAF_DAYS = 3650
_ROOT_DAYS = 20 * 365
_ISSUING_DAYS = 15 * 365
# CAs start three years back, so the expired demo key was issued while its CA was valid.
_CA_BACKDATE = dt.timedelta(days=3 * 365)
_CRL_DAYS = 3650

_GENERATED_DIRS = ("demo", "nac", "gov", "trust", "nac-gost")
_STS = "РМК «МЕМЛЕКЕТТІК ТЕХНИКАЛЫҚ ҚЫЗМЕТ» TEST"
_GOV = "МЕМЛЕКЕТТІК ОРГАНДАРДЫҢ КУӘЛАНДЫРУШЫ ОРТАЛЫҒЫ TEST"


@dataclass(frozen=True)
class _Hierarchy:
    name: str  # "nac" / "gov": directory and the CA's name in URLs
    root_cn: str
    issuing_cn: str
    organisation: str


# cryptography allows 64 UTF-8 bytes in a CN, 32 Cyrillic letters, so the longer names are
# abbreviated the way NCA's own test root is ("НЕГІЗГІ КО TEST (RSA)"); O carries GOV's full name.
_HIERARCHIES = (
    _Hierarchy("nac", "НЕГІЗГІ КО (RSA) TEST", "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA) TEST", _STS),
    _Hierarchy("gov", "МО НЕГІЗГІ КО (RSA) TEST", "МЕМЛЕКЕТТІК ОРГАНДАРДЫҢ КО (RSA) TEST", _GOV),
)


@dataclass(frozen=True)
class _DemoKey:
    person_id: str
    person: Person
    role: Role
    ca: str
    purposes: tuple[Purpose, ...] = (Purpose.AUTH, Purpose.SIGN)
    algorithm: str = "RSA"
    key_size: int = 2048
    legacy: bool = False  # NCA's 3DES/SHA-1 PKCS#12 instead of AES
    status: str = "valid"


_CITIZEN = Person(
    surname="ЖҰМАБЕКОВ",
    given_name="АСХАТ",
    patronymic="НҰРЛАНҰЛЫ",
    iin="850101300124",
    email="citizen@qalam.test",
)
_COMPANY = {"organisation": "ТОО «QALAM DEMO» TEST", "bin": "940140000385"}
_MINISTRY = {
    "organisation": "ҚР ЦИФРЛЫҚ ДАМУ МИНИСТРЛІГІ TEST",
    "bin": "990140004654",
}
_PSC = {"organisation": "«АЗАМАТТАРҒА АРНАЛҒАН ҮКІМЕТ» МК КЕАҚ TEST", "bin": "160240000018"}

_DEMO_KEYS = (
    _DemoKey("citizen", _CITIZEN, Role.INDIVIDUAL, "nac", legacy=True),
    _DemoKey(
        "citizen_ec",
        _CITIZEN,
        Role.INDIVIDUAL,
        "nac",
        (Purpose.SIGN,),
        algorithm="EC",
        key_size=256,
    ),
    _DemoKey("citizen_rsa4096", _CITIZEN, Role.INDIVIDUAL, "nac", (Purpose.SIGN,), key_size=4096),
    _DemoKey(
        "ceo",
        Person("ӘБДІҒАЛИЕВ", "ҚАНАТ", "750315300018", "СЕРІКҰЛЫ", **_COMPANY),
        Role.HEAD,
        "nac",
    ),
    _DemoKey(
        "employee",
        Person("ТӨЛЕГЕНОВА", "ӘЙГЕРІМ", "900705400126", "БОЛАТҚЫЗЫ", **_COMPANY),
        Role.EMPLOYEE,
        "nac",
    ),
    _DemoKey(
        "signer",
        Person("ҮСЕНОВ", "ДӘУРЕН", "821109300016", "МАРАТҰЛЫ", **_COMPANY),
        Role.SIGNER,
        "nac",
    ),
    _DemoKey(
        "civil_servant",
        Person("ҚАСЫМОВА", "ГҮЛНАР", "790424400014", "ЕРЛАНҚЫЗЫ", **_MINISTRY),
        Role.CIVIL_SERVANT,
        "gov",
    ),
    _DemoKey(
        "psc_operator",
        Person("СӘРСЕНБАЕВ", "ЕРЖАН", "880612300019", "ҒАЛЫМҰЛЫ", **_PSC),
        Role.PSC_OPERATOR,
        "gov",
    ),
    _DemoKey(
        "expired",
        Person("ИБРАЕВА", "ТАҢШОЛПАН", "950228400013", "ӨМІРЗАҚҚЫЗЫ"),
        Role.INDIVIDUAL,
        "nac",
        status="expired",
    ),
    _DemoKey(
        "revoked",
        Person("ОРАЗБАЕВА", "АЙДАНА", "000101600127", "ДӘУЛЕТҚЫЗЫ"),
        Role.INDIVIDUAL,
        "nac",
        status="revoked",
    ),
)


def _require_valid_number(number: str) -> None:
    if check_digit(number[:11]) != int(number[11]):
        raise ValueError(f"demo IIN/BIN {number} fails the check digit")


@dataclass(frozen=True)
class _CA:
    hierarchy: _Hierarchy
    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    issuing: x509.Certificate
    issuing_key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class _Issued:
    demo: _DemoKey
    purpose: Purpose
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def ski(self) -> str:
        ext = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return ext.value.digest.hex()

    @property
    def path(self) -> str:
        algorithm = "RSA256" if self.demo.algorithm == "RSA" else "EC256"
        prefix = "AUTH_" if self.purpose is Purpose.AUTH else ""
        return f"demo/{prefix}{algorithm}_{self.ski}.p12"


def _make_ca(hierarchy: _Hierarchy, start: dt.datetime) -> _CA:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    root = build_ca_certificate(
        subject=build_ca_subject(hierarchy.root_cn, hierarchy.organisation),
        public_key=root_key.public_key(),
        signing_key=root_key,
        not_before=start,
        validity_days=_ROOT_DAYS,
    )
    # RSA-2048 for the issuing CA keeps every verification in the test suite fast.
    issuing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuing = build_ca_certificate(
        subject=build_ca_subject(hierarchy.issuing_cn, hierarchy.organisation),
        public_key=issuing_key.public_key(),
        signing_key=root_key,
        not_before=start,
        validity_days=_ISSUING_DAYS,
        issuer=root,
        issuer_name=f"{hierarchy.name}-root",
        path_length=0,
    )
    return _CA(hierarchy, root, root_key, issuing, issuing_key)


def _validity(status: str, today: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    if status == "expired":
        return today - dt.timedelta(days=730), today - dt.timedelta(days=365)
    # The revoked key was in use for a while before it was revoked yesterday.
    start = today - dt.timedelta(days=30 if status == "revoked" else 0)
    return start, start + dt.timedelta(days=_LEAF_DAYS)


def _issue(demo: _DemoKey, purpose: Purpose, ca: _CA, today: dt.datetime) -> _Issued:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if demo.algorithm == "EC":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=demo.key_size)
    not_before, not_after = _validity(demo.status, today)
    certificate = build_end_entity_certificate(
        person=demo.person,
        public_key=key.public_key(),
        profile=replace(PROFILES[purpose, demo.role], validity_days=_LEAF_DAYS),
        issuer=ca.issuing,
        issuer_key=ca.issuing_key,
        issuer_name=ca.hierarchy.name,
        not_before=not_before,
        not_after=not_after,
    )
    return _Issued(demo, purpose, key, certificate)


def _crl(
    issuer: x509.Certificate,
    key: rsa.RSAPrivateKey,
    revoked: list[x509.Certificate],
    now: dt.datetime,
    revoked_at: dt.datetime,
) -> x509.CertificateRevocationList:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=_CRL_DAYS))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    for certificate in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(certificate.serial_number)
            .revocation_date(revoked_at)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(key, hashes.SHA256())


def _p12(issued: _Issued, ca: _CA) -> bytes:
    password = KEY_PASSWORD.encode()
    encryption: serialization.KeySerializationEncryption
    if issued.demo.legacy:
        # What NCA's files use (3DES key bag, SHA-1 MAC), so readers of real keys get tested.
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())  # noqa: S303
            .build(password)
        )
    else:
        encryption = serialization.BestAvailableEncryption(password)
    return pkcs12.serialize_key_and_certificates(
        issued.ski.encode(), issued.key, issued.certificate, [ca.issuing, ca.root], encryption
    )


def _index_entry(issued: _Issued) -> dict[str, object]:
    demo, person = issued.demo, issued.demo.person
    return {
        "id": f"{demo.person_id}_{issued.purpose.value}",
        "person": demo.person_id,
        "iin": person.iin,
        "bin": person.bin,
        "name": person.common_name,
        "role": demo.role.value,
        "purpose": issued.purpose.value,
        "ca": demo.ca,
        "path": issued.path,
        "password": KEY_PASSWORD,
        "status": demo.status,
        "algorithm": demo.algorithm,
        "key_size": demo.key_size,
        "encryption": "legacy" if demo.legacy else "aes",
        "serial": f"{issued.certificate.serial_number:040x}",
        "ski": issued.ski,
        "organisation": person.organisation,
    }


def _pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(CA_KEY_PASSPHRASE.encode()),
    )


def generate(out_dir: Path, *, now: dt.datetime | None = None) -> None:
    """Replace the demo PKI under `out_dir` (demo/, nac/, gov/, trust/; other files stay)."""
    for demo in _DEMO_KEYS:
        for number in (demo.person.iin, demo.person.bin):
            if number is not None:
                _require_valid_number(number)
    now = dt.datetime.now(dt.UTC) if now is None else now
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)

    # Build everything in memory first: a failure leaves the old files in place.
    cas = {h.name: _make_ca(h, today - _CA_BACKDATE) for h in _HIERARCHIES}
    issued = [
        _issue(demo, purpose, cas[demo.ca], today)
        for demo in _DEMO_KEYS
        for purpose in demo.purposes
    ]
    files: dict[str, bytes] = {}
    for name, ca in cas.items():
        revoked = [
            i.certificate for i in issued if i.demo.ca == name and i.demo.status == "revoked"
        ]
        crl = _crl(ca.issuing, ca.issuing_key, revoked, now, today - dt.timedelta(days=1))
        root_crl = _crl(ca.root, ca.root_key, [], now, now)
        files[f"{name}/root.pem"] = _pem(ca.root)
        files[f"{name}/root.key.pem"] = _key_pem(ca.root_key)
        files[f"{name}/ca.pem"] = _pem(ca.issuing)
        files[f"{name}/ca.key.pem"] = _key_pem(ca.issuing_key)
        files[f"{name}/crl.der"] = crl.public_bytes(serialization.Encoding.DER)
        files[f"{name}/root-crl.der"] = root_crl.public_bytes(serialization.Encoding.DER)
    roots = [ca.root for ca in cas.values()]
    files["trust/demo-roots.pem"] = _pem(*roots)
    files["trust/demo-chain.pem"] = _pem(*roots, *(ca.issuing for ca in cas.values()))
    for item in issued:
        files[item.path] = _p12(item, cas[item.demo.ca])
    index = sorted((_index_entry(i) for i in issued), key=lambda e: str(e["id"]))
    files["demo/index.json"] = (json.dumps(index, ensure_ascii=False, indent=2) + "\n").encode()

    for directory in _GENERATED_DIRS:
        shutil.rmtree(out_dir / directory, ignore_errors=True)
    for relative, data in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    add_gost(out_dir, now=now)


# -- the GOST 2015 line (additive) -----------------------------------------------------------

GOST_CA = "nac-gost"  # its directory under certs/ and its name in URLs
# NCA's own names are "НЕГІЗГІ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022" and "ҰЛТТЫҚ
# КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022"; ours fit cryptography's 64-byte CN like the RSA ones.
_GOST_HIERARCHY = _Hierarchy(
    GOST_CA, "НЕГІЗГІ КО (GOST) TEST", "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST", _STS
)
# The demo citizen's GOST 2015 keys; "ca" in the index stays the centre ("nac", as identity.py
# and the registry name it) and "issuer" names the GOST issuing CA.
_GOST_PERSON = "citizen_gost"


@dataclass(frozen=True)
class _GostCA:
    root: x509.Certificate
    root_key: gost.GostPrivateKey
    issuing: x509.Certificate
    issuing_key: gost.GostPrivateKey


def _gost_crl(certificate: x509.Certificate, key: gost.GostPrivateKey, now: dt.datetime) -> bytes:
    ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    return gost_x509.sign_crl(
        issuer=certificate.subject.public_bytes(),
        this_update=now,
        next_update=now + dt.timedelta(days=_CRL_DAYS),
        revoked=[],
        extensions=[
            x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(1)),
            x509.Extension(x509.AuthorityKeyIdentifier.oid, False, aki),
        ],
        key=key,
    )


def _make_gost_ca(start: dt.datetime, files: dict[str, bytes], now: dt.datetime) -> _GostCA:
    h = _GOST_HIERARCHY
    root_key, issuing_key = gost.generate_private_key(), gost.generate_private_key()
    root = build_ca_certificate(
        subject=build_ca_subject(h.root_cn, h.organisation),
        public_key=root_key.public_key,
        signing_key=root_key,
        not_before=start,
        validity_days=_ROOT_DAYS,
    )
    issuing = build_ca_certificate(
        subject=build_ca_subject(h.issuing_cn, h.organisation),
        public_key=issuing_key.public_key,
        signing_key=root_key,
        not_before=start,
        validity_days=_ISSUING_DAYS,
        issuer=root,
        issuer_name=f"{h.name}-root",
        path_length=0,
    )
    secret = CA_KEY_PASSPHRASE.encode()
    files[f"{h.name}/root.pem"] = _pem(root)
    files[f"{h.name}/root.key.pem"] = gost_pkcs8.encrypt_private_key(root_key, secret)
    files[f"{h.name}/ca.pem"] = _pem(issuing)
    files[f"{h.name}/ca.key.pem"] = gost_pkcs8.encrypt_private_key(issuing_key, secret)
    files[f"{h.name}/crl.der"] = _gost_crl(issuing, issuing_key, now)
    files[f"{h.name}/root-crl.der"] = _gost_crl(root, root_key, now)
    # Kept apart from demo-chain.pem: tools that read that file (openssl, xmlsec1, node) would
    # meet keys they cannot parse.
    files["trust/demo-gost-chain.pem"] = _pem(root, issuing)
    return _GostCA(root, root_key, issuing, issuing_key)


def _load_gost_ca(out_dir: Path) -> _GostCA:
    folder = out_dir / GOST_CA
    secret = CA_KEY_PASSPHRASE.encode()
    return _GostCA(
        x509.load_pem_x509_certificate((folder / "root.pem").read_bytes()),
        gost_pkcs8.decrypt_private_key((folder / "root.key.pem").read_bytes(), secret),
        x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes()),
        gost_pkcs8.decrypt_private_key((folder / "ca.key.pem").read_bytes(), secret),
    )


def _gost_key_row(
    purpose: Purpose, key: gost.GostPrivateKey, certificate: x509.Certificate, path: str
) -> dict[str, object]:
    person = _CITIZEN
    return {
        "id": f"{_GOST_PERSON}_{purpose.value}",
        "person": _GOST_PERSON,
        "iin": person.iin,
        "bin": person.bin,
        "name": person.common_name,
        "role": Role.INDIVIDUAL.value,
        "purpose": purpose.value,
        "ca": "nac",
        "issuer": GOST_CA,
        "path": path,
        "password": KEY_PASSWORD,
        "status": "valid",
        "algorithm": "GOST2015",
        "key_size": key.key_size,
        "encryption": "legacy",
        "serial": f"{certificate.serial_number:040x}",
        "ski": key.public_key.key_identifier().hex(),
        "organisation": person.organisation,
    }


def add_gost(out_dir: Path, *, now: dt.datetime | None = None) -> list[str]:
    """Add the GOST 2015 line to the demo PKI in `out_dir` where it is missing: the GOST root
    and issuing CA (nac-gost/), the citizen's AUTH and SIGN GOST512_*.p12 with their
    index.json rows. Nothing that exists is changed; returns the files written."""
    now = dt.datetime.now(dt.UTC) if now is None else now
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    index_path = out_dir / "demo" / "index.json"
    index: list[dict[str, object]] = json.loads(index_path.read_text(encoding="utf-8"))
    files: dict[str, bytes] = {}
    if (out_dir / GOST_CA / "ca.pem").exists():
        ca = _load_gost_ca(out_dir)
    else:
        ca = _make_gost_ca(today - _CA_BACKDATE, files, now)
    have = {str(row["id"]) for row in index}
    for purpose in (Purpose.AUTH, Purpose.SIGN):
        if f"{_GOST_PERSON}_{purpose.value}" in have:
            continue
        key = gost.generate_private_key()
        not_before, not_after = _validity("valid", today)
        certificate = build_end_entity_certificate(
            person=_CITIZEN,
            public_key=key.public_key,
            profile=replace(PROFILES[purpose, Role.INDIVIDUAL], validity_days=_LEAF_DAYS),
            issuer=ca.issuing,
            issuer_key=ca.issuing_key,
            issuer_name=GOST_CA,
            not_before=not_before,
            not_after=not_after,
        )
        path = "demo/" + gost_pkcs12.gost_file_name(key, auth=purpose is Purpose.AUTH)
        # The chain goes in, as in every demo key file (NCA's own files carry none), so the
        # client can build the path without the network.
        files[path] = dump_pkcs12(
            key, certificate, KEY_PASSWORD, chain=[ca.issuing, ca.root], encryption="legacy"
        )
        index.append(_gost_key_row(purpose, key, certificate, path))
    if not files:
        return []
    index.sort(key=lambda row: str(row["id"]))
    files["demo/index.json"] = (json.dumps(index, ensure_ascii=False, indent=2) + "\n").encode()
    for relative, data in files.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return sorted(files)
