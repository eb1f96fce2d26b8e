"""A CA instance on disk: its data directory, configuration, keys and database.

``init_instance`` creates one. By default it *adopts* the demo PKI in certs/, so the committed
demo keys and a running CA agree from the first request: the NAC and GOV root and issuing CA
certificates and keys (re-encrypted with the instance passphrase), every demo certificate with
its status (the revoked ones as the demo CRL says), and the registry (the demo people, their
company and agencies, their roles; the demo PSC operator as an operator). Each demo person gets
an identity card number, ``demo_id_document_number(iin)`` ("0" and the IIN's last eight digits),
so that a PSC operator can check "their document" before making a re-issue code in the demo.
``fresh=True`` makes new roots (RSA-4096) and issuing CAs (RSA-2048) and an empty registry
instead. Either way each issuing CA gets a delegated OCSP responder and a TSA certificate of its
own.

A demo PKI with a GOST 2015 line (certs/nac-gost) is adopted too: the GOST root and issuing CA
(keys re-encrypted with the instance passphrase as encrypted PKCS#8, like the others), its CRL
and the demo GOST certificates. It is listed apart in ca.json (``gost_authorities``): it has no
OCSP responder or TSA of its own, and NAC hands it the GOST CSRs (``CertificationAuthority.gost``).

Layout of a data directory (0700; private keys 0600, encrypted PKCS#8)::

    ca.json                  configuration (no secrets)
    passphrase               only if init generated the passphrase (0600)
    qalam-ca.sqlite          the database, unless ca.json or --db names another
    nac/ root.pem root.key.pem root-crl.der ca.pem ca.key.pem ocsp.pem ocsp.key.pem tsa.pem …
    gov/ …

Init is all or nothing: it builds the instance in a temporary sibling directory and renames it
into place last; on an existing instance it refuses and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ca_server import audit, ocsp, tsa
from ca_server.authority import (
    CertificationAuthority,
    GostCaSigner,
    import_certificate,
    serial_hex,
)
from ca_server.ca_keys import (
    CaPrivateKey,
    FileCaSigner,
    generate_passphrase_file,
    read_certificate,
    read_key,
    resolve_passphrase,
    write_certificate,
    write_key,
)
from ca_server.crl import build_crl
from ca_server.db import (
    DATABASE_FILE,
    Authority,
    CrlState,
    Database,
    Employment,
    LegalEntity,
    Operator,
    Person,
    default_url,
    open_database,
    utcnow,
    without_password,
)
from ca_server.errors import CaError
from ca_server.profiles import (
    DEFAULT_BASE_URL,
    PROFILES,
    Purpose,
    Role,
    build_ca_certificate,
    build_ca_subject,
)
from signer_app.crypto import gost, gost_pkcs8
from signer_app.crypto.atomicfile import atomic_write
from signer_app.crypto.identity import iin_birth_date
from signer_app.crypto.keystores import load_pkcs12

__all__ = [
    "AUTHORITIES",
    "CONFIG_FILE",
    "DEFAULT_CERTS_DIR",
    "DEMO_CA_PASSPHRASE",
    "HOME_ENV",
    "PASSPHRASE_FILE",
    "AuthorityFiles",
    "InitResult",
    "Instance",
    "InstanceConfig",
    "default_data_dir",
    "demo_id_document_number",
    "init_instance",
    "load_instance",
]

CONFIG_FILE = "ca.json"
PASSPHRASE_FILE = "passphrase"  # noqa: S105 - a file name
HOME_ENV = "QALAM_CA_HOME"
DEFAULT_CERTS_DIR = Path(__file__).resolve().parent.parent / "certs"
# The demo PKI's CA keys are encrypted with this published passphrase (certs/README.md).
DEMO_CA_PASSPHRASE = b"demo-ca-passphrase"
AUTHORITIES = ("nac", "gov")
# GOST 2015 issuing CAs adopted from the demo PKI, each the GOST sibling of "<centre>".
GOST_AUTHORITIES = ("nac-gost",)
_GOST_SUFFIX = "-gost"
_CONFIG_VERSION = 1

_OCSP_VALIDITY = dt.timedelta(days=2 * 365)
_TSA_VALIDITY = dt.timedelta(days=3 * 365)  # NCA's TSA certificate runs three years
_ROOT_VALIDITY_DAYS = 20 * 365
_ISSUING_VALIDITY_DAYS = 15 * 365
_ROOT_CRL_VALIDITY = dt.timedelta(days=3650)

# Fresh hierarchies carry the demo PKI's names (demo_pki.py); only the keys are new.
_STS = "РМК «МЕМЛЕКЕТТІК ТЕХНИКАЛЫҚ ҚЫЗМЕТ» TEST"
_GOV = "МЕМЛЕКЕТТІК ОРГАНДАРДЫҢ КУӘЛАНДЫРУШЫ ОРТАЛЫҒЫ TEST"
_FRESH_NAMES = {
    "nac": ("НЕГІЗГІ КО (RSA) TEST", "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA) TEST", _STS),
    "gov": ("МО НЕГІЗГІ КО (RSA) TEST", "МЕМЛЕКЕТТІК ОРГАНДАРДЫҢ КО (RSA) TEST", _GOV),
}


def default_data_dir() -> Path:
    """``$QALAM_CA_HOME``, else ``$XDG_DATA_HOME/qalam-ca``, else ``~/.local/share/qalam-ca``."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "qalam-ca"


def demo_id_document_number(iin: str) -> str:
    """The identity card number an adopted demo PKI registers for demo person `iin`."""
    return "0" + iin[-8:]


# -- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorityFiles:
    """Where one hierarchy's files are, relative to the data directory."""

    id: str

    def path(self, name: str) -> str:
        return f"{self.id}/{name}"

    @property
    def certificate(self) -> str:
        return self.path("ca.pem")

    @property
    def key(self) -> str:
        return self.path("ca.key.pem")

    @property
    def root(self) -> str:
        return self.path("root.pem")

    @property
    def root_key(self) -> str:
        return self.path("root.key.pem")

    @property
    def root_crl(self) -> str:
        return self.path("root-crl.der")

    @property
    def ocsp_certificate(self) -> str:
        return self.path("ocsp.pem")

    @property
    def ocsp_key(self) -> str:
        return self.path("ocsp.key.pem")

    @property
    def tsa_certificate(self) -> str:
        return self.path("tsa.pem")

    @property
    def tsa_key(self) -> str:
        return self.path("tsa.key.pem")


@dataclass(frozen=True)
class InstanceConfig:
    """ca.json: what an instance is made of. Holds no secret."""

    origin: str  # "demo" (adopted certs/) or "fresh"
    base_url: str
    database: str | None  # None: qalam-ca.sqlite in the data directory; never a password
    passphrase_file: str | None  # relative to the data directory, or absolute; None: env only
    authorities: tuple[str, ...]
    created_at: str
    version: int = _CONFIG_VERSION
    gost_authorities: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        data = {
            "version": self.version,
            "origin": self.origin,
            "base_url": self.base_url,
            "database": self.database,
            "passphrase_file": self.passphrase_file,
            "created_at": self.created_at,
            "authorities": {
                ca: {
                    "certificate": AuthorityFiles(ca).certificate,
                    "key": AuthorityFiles(ca).key,
                    "root": AuthorityFiles(ca).root,
                    "root_key": AuthorityFiles(ca).root_key,
                    "root_crl": AuthorityFiles(ca).root_crl,
                    "ocsp_certificate": AuthorityFiles(ca).ocsp_certificate,
                    "ocsp_key": AuthorityFiles(ca).ocsp_key,
                    "tsa_certificate": AuthorityFiles(ca).tsa_certificate,
                    "tsa_key": AuthorityFiles(ca).tsa_key,
                }
                for ca in self.authorities
            },
            "gost_authorities": {
                ca: {
                    "certificate": AuthorityFiles(ca).certificate,
                    "key": AuthorityFiles(ca).key,
                    "root": AuthorityFiles(ca).root,
                    "root_key": AuthorityFiles(ca).root_key,
                    "root_crl": AuthorityFiles(ca).root_crl,
                }
                for ca in self.gost_authorities
            },
        }
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> InstanceConfig:
        try:
            data: dict[str, Any] = json.loads(raw)
            if data.get("version") != _CONFIG_VERSION:
                raise CaError("internal", f"{CONFIG_FILE} version {data.get('version')!r}")
            return cls(
                origin=str(data["origin"]),
                base_url=str(data["base_url"]),
                database=data.get("database"),
                passphrase_file=data.get("passphrase_file"),
                authorities=tuple(data["authorities"]),
                created_at=str(data["created_at"]),
                gost_authorities=tuple(data.get("gost_authorities", ())),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CaError("internal", f"{CONFIG_FILE} is damaged: {exc}") from None


@dataclass(frozen=True)
class InitResult:
    """What `init_instance` made."""

    data_dir: Path
    origin: str
    database: str
    generated_passphrase_file: Path | None
    authorities: tuple[str, ...]
    certificates: int
    persons: int


# -- the instance ---------------------------------------------------------------------------------


@dataclass
class Instance:
    """A loaded instance: configuration and database now, CA keys when first needed."""

    data_dir: Path
    config: InstanceConfig
    db: Database
    _passphrase: bytes | None = field(default=None, repr=False)
    _authorities: dict[str, CertificationAuthority] = field(default_factory=dict, repr=False)
    _services: dict[tuple[str, str], FileCaSigner] = field(default_factory=dict, repr=False)

    def _file(self, relative: str) -> Path:
        return self.data_dir / relative

    def passphrase(self) -> bytes:
        """The CA key passphrase: given to load_instance, else $QALAM_CA_PASSPHRASE, else the
        passphrase file of ca.json."""
        if self._passphrase is None:
            configured = self.config.passphrase_file
            self._passphrase = resolve_passphrase(
                fallback_file=self.data_dir / configured if configured else None
            )
            if self._passphrase is None:
                raise CaError("passphrase_missing")
        return self._passphrase

    def _files(self, ca_id: str) -> AuthorityFiles:
        if ca_id not in (*self.config.authorities, *self.config.gost_authorities):
            raise CaError("unknown_ca", f"{ca_id!r}; this instance has {self.config.authorities}")
        return AuthorityFiles(ca_id)

    def authority(self, ca_id: str) -> CertificationAuthority:
        """The issuing CA `ca_id` ("nac", "gov", "nac-gost") with its key opened; NAC carries
        its GOST sibling when the instance has one."""
        if ca_id not in self._authorities:
            files = self._files(ca_id)
            signer: FileCaSigner | GostCaSigner
            if ca_id in self.config.gost_authorities:
                signer = GostCaSigner(
                    read_certificate(self._file(files.certificate)),
                    _read_gost_key(self._file(files.key), self.passphrase()),
                )
            else:
                signer = FileCaSigner.load(
                    self._file(files.certificate), self._file(files.key), self.passphrase()
                )
            sibling = f"{ca_id}{_GOST_SUFFIX}"
            self._authorities[ca_id] = CertificationAuthority(
                id=ca_id,
                signer=signer,
                root=read_certificate(self._file(files.root)),
                base_url=self.config.base_url,
                gost=self.authority(sibling) if sibling in self.config.gost_authorities else None,
            )
        return self._authorities[ca_id]

    @property
    def authorities(self) -> Mapping[str, CertificationAuthority]:
        """Every issuing CA, keys opened."""
        return {ca: self.authority(ca) for ca in self.config.authorities}

    def _service(self, ca_id: str, kind: str) -> FileCaSigner:
        if (ca_id, kind) not in self._services:
            files = self._files(ca_id)
            cert, key = (
                (files.ocsp_certificate, files.ocsp_key)
                if kind == "ocsp"
                else (files.tsa_certificate, files.tsa_key)
            )
            self._services[ca_id, kind] = FileCaSigner.load(
                self._file(cert), self._file(key), self.passphrase()
            )
        return self._services[ca_id, kind]

    def ocsp_signer(self, ca_id: str) -> FileCaSigner:
        """The delegated OCSP responder of CA `ca_id`."""
        return self._service(ca_id, "ocsp")

    def tsa_signer(self, ca_id: str) -> FileCaSigner:
        """The time-stamping authority certified by CA `ca_id`."""
        return self._service(ca_id, "tsa")

    def certificate(self, ca_id: str) -> x509.Certificate:
        """The issuing CA's certificate (no key needed)."""
        return read_certificate(self._file(self._files(ca_id).certificate))

    def root_certificate(self, ca_id: str) -> x509.Certificate:
        """The root above issuing CA `ca_id`."""
        return read_certificate(self._file(self._files(ca_id).root))

    def root_crl(self, ca_id: str) -> bytes:
        """The root's CRL (DER), signed at init."""
        return self._file(self._files(ca_id).root_crl).read_bytes()

    def close(self) -> None:
        """Close the database connections."""
        self.db.dispose()


def _config_path(data_dir: Path) -> Path:
    return data_dir / CONFIG_FILE


def load_instance(
    data_dir: Path,
    db_url: str | None = None,
    *,
    passphrase: bytes | None = None,
    migrate: bool = True,
) -> Instance:
    """Open the instance in `data_dir` (its database migrated to the newest schema)."""
    path = _config_path(data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CaError("instance_missing", str(data_dir)) from None
    except OSError as exc:
        raise CaError("instance_missing", f"{path}: {exc.strerror}") from None
    config = InstanceConfig.from_json(raw)
    url = db_url or config.database or default_url(data_dir)
    return Instance(data_dir, config, open_database(url, migrate=migrate), passphrase)


# -- init -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hierarchy:
    id: str
    root: x509.Certificate
    root_key: CaPrivateKey
    issuing: x509.Certificate
    issuing_key: CaPrivateKey
    root_crl: bytes
    crl: x509.CertificateRevocationList | None  # the demo issuing CA's CRL, adopted as is


@dataclass(frozen=True)
class _GostHierarchy:
    """A demo GOST 2015 line, adopted as is (no OCSP responder or TSA of its own)."""

    id: str
    root: x509.Certificate
    root_key: gost.GostPrivateKey
    issuing: x509.Certificate
    issuing_key: gost.GostPrivateKey
    root_crl: bytes
    crl: x509.CertificateRevocationList


def _read_gost_key(path: Path, passphrase: bytes) -> gost.GostPrivateKey:
    """A GOST CA key at rest (gost_pkcs8.py); a wrong passphrase is `ca_key_locked`."""
    try:
        return gost_pkcs8.decrypt_private_key(path.read_bytes(), passphrase)
    except OSError as exc:
        raise CaError("ca_key_locked", f"{path}: {exc.strerror}") from None
    except ValueError:
        raise CaError("ca_key_locked", str(path)) from None


def _demo_gost_hierarchies(certs_dir: Path) -> dict[str, _GostHierarchy]:
    found = {}
    for ca_id in GOST_AUTHORITIES:
        folder = certs_dir / ca_id
        if not (folder / "ca.pem").exists():
            continue
        try:
            crl = x509.load_der_x509_crl((folder / "crl.der").read_bytes())
            root_crl = (folder / "root-crl.der").read_bytes()
        except (OSError, ValueError) as exc:
            raise CaError("internal", f"the GOST line in {folder} is incomplete: {exc}") from None
        found[ca_id] = _GostHierarchy(
            id=ca_id,
            root=read_certificate(folder / "root.pem"),
            root_key=_read_gost_key(folder / "root.key.pem", DEMO_CA_PASSPHRASE),
            issuing=read_certificate(folder / "ca.pem"),
            issuing_key=_read_gost_key(folder / "ca.key.pem", DEMO_CA_PASSPHRASE),
            root_crl=root_crl,
            crl=crl,
        )
    return found


def _write_gost_files(staging: Path, hierarchy: _GostHierarchy, passphrase: bytes) -> None:
    files = AuthorityFiles(hierarchy.id)
    (staging / hierarchy.id).mkdir(mode=0o700)
    write_certificate(staging / files.root, hierarchy.root)
    write_certificate(staging / files.certificate, hierarchy.issuing)
    for path, key in ((files.root_key, hierarchy.root_key), (files.key, hierarchy.issuing_key)):
        atomic_write(staging / path, gost_pkcs8.encrypt_private_key(key, passphrase), mode=0o600)
    atomic_write(staging / files.root_crl, hierarchy.root_crl, mode=0o644)


def _demo_hierarchy(certs_dir: Path, ca_id: str) -> _Hierarchy:
    folder = certs_dir / ca_id
    try:
        crl = x509.load_der_x509_crl((folder / "crl.der").read_bytes())
        root_crl = (folder / "root-crl.der").read_bytes()
    except (OSError, ValueError) as exc:
        raise CaError("internal", f"the demo PKI in {certs_dir} is incomplete: {exc}") from None
    return _Hierarchy(
        id=ca_id,
        root=read_certificate(folder / "root.pem"),
        root_key=read_key(folder / "root.key.pem", DEMO_CA_PASSPHRASE),
        issuing=read_certificate(folder / "ca.pem"),
        issuing_key=read_key(folder / "ca.key.pem", DEMO_CA_PASSPHRASE),
        root_crl=root_crl,
        crl=crl,
    )


def _fresh_hierarchy(ca_id: str, now: dt.datetime, base_url: str) -> _Hierarchy:
    root_cn, issuing_cn, organisation = _FRESH_NAMES[ca_id]
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    root = build_ca_certificate(
        subject=build_ca_subject(root_cn, organisation),
        public_key=root_key.public_key(),
        signing_key=root_key,
        not_before=now,
        validity_days=_ROOT_VALIDITY_DAYS,
        base_url=base_url,
    )
    issuing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuing = build_ca_certificate(
        subject=build_ca_subject(issuing_cn, organisation),
        public_key=issuing_key.public_key(),
        signing_key=root_key,
        not_before=now,
        validity_days=_ISSUING_VALIDITY_DAYS,
        issuer=root,
        issuer_name=f"{ca_id}-root",
        path_length=0,
        base_url=base_url,
    )
    root_crl = build_crl(root, root_key, [], 1, now, now + _ROOT_CRL_VALIDITY)
    return _Hierarchy(ca_id, root, root_key, issuing, issuing_key, root_crl, None)


def _service_validity(
    issuing: x509.Certificate, now: dt.datetime, wanted: dt.timedelta
) -> dt.timedelta:
    return min(wanted, issuing.not_valid_after_utc - now)


@dataclass(frozen=True)
class _Service:
    kind: str  # "ocsp" / "tsa"
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


def _services(hierarchy: _Hierarchy, now: dt.datetime, base_url: str) -> tuple[_Service, _Service]:
    ocsp_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    responder = ocsp.make_responder_certificate(
        hierarchy.issuing,
        hierarchy.issuing_key,
        ocsp_key.public_key(),
        validity=_service_validity(hierarchy.issuing, now, _OCSP_VALIDITY),
        not_before=now,
    )
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_cert = tsa.make_tsa_certificate(
        hierarchy.issuing,
        hierarchy.issuing_key,
        tsa_key.public_key(),
        validity=_service_validity(hierarchy.issuing, now, _TSA_VALIDITY),
        not_before=now,
        ocsp_url=f"{base_url}/ocsp",
        ca_issuers_url=f"{base_url}/ca/{hierarchy.id}.crt",
        crl_url=f"{base_url}/crl/{hierarchy.id}.crl",
    )
    return _Service("ocsp", responder, ocsp_key), _Service("tsa", tsa_cert, tsa_key)


def _write_files(
    staging: Path, hierarchy: _Hierarchy, services: tuple[_Service, _Service], passphrase: bytes
) -> None:
    files = AuthorityFiles(hierarchy.id)
    (staging / hierarchy.id).mkdir(mode=0o700)
    write_certificate(staging / files.root, hierarchy.root)
    write_key(staging / files.root_key, hierarchy.root_key, passphrase)
    write_certificate(staging / files.certificate, hierarchy.issuing)
    write_key(staging / files.key, hierarchy.issuing_key, passphrase)
    atomic_write(staging / files.root_crl, hierarchy.root_crl, mode=0o644)
    for service in services:
        cert, key = (
            (files.ocsp_certificate, files.ocsp_key)
            if service.kind == "ocsp"
            else (files.tsa_certificate, files.tsa_key)
        )
        write_certificate(staging / cert, service.certificate)
        write_key(staging / key, service.key, passphrase)


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _text(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


@dataclass(frozen=True)
class _DemoCertificate:
    row: Mapping[str, Any]
    certificate: x509.Certificate


def _demo_certificates(certs_dir: Path) -> list[_DemoCertificate]:
    index_path = certs_dir / "demo" / "index.json"
    try:
        rows = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CaError("internal", f"cannot read {index_path}: {exc}") from None
    found = []
    for row in rows:
        data = (certs_dir / row["path"]).read_bytes()
        certificate: x509.Certificate | None
        if row.get("algorithm") == "GOST2015":
            certificate = load_pkcs12(data, row["password"], label=row["path"]).entry.certificate
        else:
            _, certificate, _ = pkcs12.load_key_and_certificates(data, row["password"].encode())
        if certificate is None or serial_hex(certificate.serial_number) != row["serial"]:
            raise CaError("internal", f"{row['path']} does not hold serial {row['serial']}")
        found.append(_DemoCertificate(row, certificate))
    return found


def _issuer_id(row: Mapping[str, Any]) -> str:
    """The issuing CA of an index row: "issuer" where the centre has several (nac-gost)."""
    return str(row.get("issuer") or row["ca"])


def _seed_demo(
    session: Session,
    hierarchies: Mapping[str, _Hierarchy | _GostHierarchy],
    demo: list[_DemoCertificate],
) -> int:
    persons: dict[str, Person] = {}
    entities: dict[str, LegalEntity] = {}
    jobs: set[tuple[str, str, str]] = set()
    for item in demo:
        row, subject = item.row, item.certificate.subject
        iin = row["iin"]
        if iin not in persons:
            surname = _text(subject, NameOID.SURNAME) or row["name"].split()[0]
            common = _text(subject, NameOID.COMMON_NAME) or row["name"]
            persons[iin] = Person(
                iin=iin,
                surname=surname,
                given_name=common.removeprefix(surname).strip() or common,
                patronymic=_text(subject, NameOID.GIVEN_NAME),
                birth_date=iin_birth_date(iin),
                id_document_number=demo_id_document_number(iin),
                email=_text(subject, NameOID.EMAIL_ADDRESS),
            )
        bin_ = row.get("bin")
        if bin_:
            kind = "state_agency" if row["ca"] == "gov" else "company"
            entities.setdefault(bin_, LegalEntity(bin=bin_, name=row["organisation"], kind=kind))
            jobs.add((bin_, iin, row["role"]))
    session.add_all(persons.values())
    session.add_all(entities.values())
    session.flush()
    session.add_all(Employment(bin=b, iin=i, role=r) for b, i, r in sorted(jobs))
    revocations = {
        ca_id: {
            entry.serial_number: entry
            for entry in (hierarchy.crl if hierarchy.crl is not None else [])
        }
        for ca_id, hierarchy in hierarchies.items()
    }
    for item in demo:
        row, certificate = item.row, item.certificate
        revoked_at, reason = None, None
        if row["status"] == "revoked":
            entry = revocations[_issuer_id(row)].get(certificate.serial_number)
            revoked_at = entry.revocation_date_utc if entry is not None else utcnow()
            reason = x509.ReasonFlags.key_compromise
            if entry is not None:
                try:
                    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
                except x509.ExtensionNotFound:
                    reason = x509.ReasonFlags.unspecified
        role, purpose = Role(row["role"]), Purpose(row["purpose"])
        import_certificate(
            session,
            _issuer_id(row),
            certificate,
            iin=row["iin"],
            bin=row.get("bin"),
            role=role.value,
            purpose=purpose.value,
            profile=PROFILES[purpose, role].name,
            revoked_at=revoked_at,
            reason=reason,
        )
    session.flush()
    for item in demo:
        row = item.row
        if row["role"] == Role.PSC_OPERATOR.value and row["purpose"] == Purpose.AUTH.value:
            ski = item.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            session.add(
                Operator(
                    iin=row["iin"],
                    role="operator",
                    certificate_serial=row["serial"],
                    ski=ski.value.digest.hex(),
                )
            )
    return len(persons)


def _prepare_target(data_dir: Path) -> None:
    if _config_path(data_dir).exists():
        raise CaError("instance_exists", str(data_dir))
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise CaError("data_dir_not_empty", str(data_dir))


def init_instance(
    data_dir: Path,
    *,
    fresh: bool = False,
    certs_dir: Path = DEFAULT_CERTS_DIR,
    passphrase: bytes | None = None,
    passphrase_file: Path | None = None,
    base_url: str = DEFAULT_BASE_URL,
    db_url: str | None = None,
    actor: str = "system",
    now: dt.datetime | None = None,
) -> InitResult:
    """Create a CA instance in `data_dir` (see the module's description); refuse an existing one.

    The passphrase that encrypts the CA keys: `passphrase`, else `passphrase_file`, else
    $QALAM_CA_PASSPHRASE, else a new random one written to ``<data_dir>/passphrase`` (0600);
    `InitResult.generated_passphrase_file` says when that happened.
    """
    data_dir = data_dir.expanduser().absolute()
    _prepare_target(data_dir)
    secret = resolve_passphrase(passphrase=passphrase, passphrase_file=passphrase_file)
    moment = (now or utcnow()).replace(microsecond=0)
    origin = "fresh" if fresh else "demo"
    gost_lines: dict[str, _GostHierarchy] = {}
    if fresh:
        hierarchies = {ca: _fresh_hierarchy(ca, moment, base_url) for ca in AUTHORITIES}
        demo: list[_DemoCertificate] = []
    else:
        hierarchies = {ca: _demo_hierarchy(certs_dir, ca) for ca in AUTHORITIES}
        gost_lines = _demo_gost_hierarchies(certs_dir)
        demo = _demo_certificates(certs_dir)
    services = {ca: _services(h, moment, base_url) for ca, h in hierarchies.items()}

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.init-", dir=data_dir.parent))
    try:
        generated = None
        if secret is None:
            secret = generate_passphrase_file(staging / PASSPHRASE_FILE)
            generated = data_dir / PASSPHRASE_FILE
        configured_file = (
            PASSPHRASE_FILE
            if generated is not None
            else str(passphrase_file.expanduser().absolute())
            if passphrase_file is not None
            else None
        )
        for ca_id, hierarchy in hierarchies.items():
            _write_files(staging, hierarchy, services[ca_id], secret)
        for gost_line in gost_lines.values():
            _write_gost_files(staging, gost_line, secret)
        url = db_url or default_url(staging)
        database = open_database(url)
        try:
            with database.transaction() as session:
                if session.scalar(select(func.count()).select_from(Authority)):
                    raise CaError("instance_exists", "the database already holds a CA instance")
                every: dict[str, _Hierarchy | _GostHierarchy] = {**hierarchies, **gost_lines}
                for ca_id, line in every.items():
                    session.add(
                        Authority(
                            id=ca_id,
                            subject=line.issuing.subject.rfc4514_string(),
                            certificate=_der(line.issuing),
                            root_certificate=_der(line.root),
                        )
                    )
                session.flush()
                for ca_id, gost_line in gost_lines.items():
                    session.add(_crl_state(ca_id, gost_line.crl))
                for ca_id, hierarchy in hierarchies.items():
                    crl = hierarchy.crl
                    session.add(_crl_state(ca_id, crl))
                    for service in services[ca_id]:
                        import_certificate(
                            session,
                            ca_id,
                            service.certificate,
                            iin=None,
                            bin=None,
                            role="ocsp_responder" if service.kind == "ocsp" else "tsa",
                            purpose=service.kind,
                            profile="OCSP_RESPONDER" if service.kind == "ocsp" else "TSA",
                        )
                persons = _seed_demo(session, every, demo) if demo else 0
                audit.record(
                    session,
                    actor,
                    "instance.init",
                    str(data_dir),
                    details={
                        "origin": origin,
                        "authorities": list(hierarchies),
                        "certificates": len(demo) + 2 * len(hierarchies),
                        "persons": persons,
                    },
                )
        finally:
            database.dispose()
        if db_url is None:
            (staging / DATABASE_FILE).chmod(0o600)  # personal data; its WAL files follow
        config = InstanceConfig(
            origin=origin,
            base_url=base_url,
            database=without_password(db_url) if db_url else None,
            passphrase_file=configured_file,
            authorities=tuple(hierarchies),
            created_at=moment.isoformat(),
            gost_authorities=tuple(gost_lines),
        )
        atomic_write(staging / CONFIG_FILE, config.to_json(), mode=0o600)
        if data_dir.exists():
            data_dir.rmdir()  # empty, checked above
        os.replace(staging, data_dir)
        data_dir.chmod(0o700)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return InitResult(
        data_dir=data_dir,
        origin=origin,
        database=without_password(db_url) if db_url else default_url(data_dir),
        generated_passphrase_file=generated,
        authorities=tuple(hierarchies),
        certificates=len(demo) + 2 * len(hierarchies),
        persons=persons,
    )


def _crl_state(ca_id: str, crl: x509.CertificateRevocationList | None) -> CrlState:
    if crl is None:
        return CrlState(ca_id=ca_id, crl_number=0, stale=True)
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = 0
    return CrlState(
        ca_id=ca_id,
        crl_number=number,
        this_update=crl.last_update_utc,
        next_update=crl.next_update_utc,
        der=crl.public_bytes(serialization.Encoding.DER),
        stale=False,
    )
