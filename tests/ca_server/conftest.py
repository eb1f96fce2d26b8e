"""Fixtures of the CA tests: databases (SQLite and a real, throwaway PostgreSQL) and CA instances.

PostgreSQL: the private cluster of tests/postgres.py, started once per test session and only if
a test asks for it; every test gets a database of its own.

Instances: initialising one (opening 18 demo key files, making four service keys) costs about a
second, so each database kind gets one template instance per session; a test gets a copy (the
SQLite file with the data directory, or `CREATE DATABASE … TEMPLATE` on PostgreSQL).
"""

from __future__ import annotations

import itertools
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from postgres import PostgresServer, postgres_server  # noqa: F401 - postgres_server is a fixture
from sqlalchemy import func, select

from ca_server.authority import CertificationAuthority
from ca_server.db import (
    AuditEntry,
    CertificateRecord,
    CrlState,
    Database,
    Employment,
    LegalEntity,
    Operator,
    Person,
    Ticket,
)
from ca_server.instance import Instance, init_instance, load_instance

ROOT = Path(__file__).resolve().parents[2]
CERTS = ROOT / "certs"
PASSPHRASE = b"test-instance-passphrase"
DB_KINDS = ("sqlite", "postgresql")


# -- PostgreSQL: tests/postgres.py (one cluster per session, shared with tests/interop) --------


@pytest.fixture(params=DB_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind: an SQLite file, a new database on the test cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'qalam-ca.sqlite'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


# -- CA instances -----------------------------------------------------------------------------


@dataclass
class _Template:
    data_dir: Path
    pg_database: str | None
    # Opened once: each CA key costs ~0.07 s of PBKDF2 to decrypt, and every copy has the same.
    authorities: dict[str, CertificationAuthority] = field(default_factory=dict)

    def share_keys(self, copy: Instance) -> None:
        if not self.authorities:
            self.authorities.update(copy.authorities)
        copy._authorities.update(self.authorities)


def _template(
    factory: pytest.TempPathFactory, kind: str, request: pytest.FixtureRequest
) -> _Template:
    data_dir = factory.mktemp(f"template-{kind}") / "ca"
    if kind == "sqlite":
        init_instance(data_dir, certs_dir=CERTS, passphrase=PASSPHRASE)
        return _Template(data_dir, None)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    init_instance(data_dir, certs_dir=CERTS, passphrase=PASSPHRASE, db_url=server.url(name))
    return _Template(data_dir, name)


_templates: dict[str, _Template] = {}


@pytest.fixture(params=DB_KINDS)
def instance(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Instance]:
    """A fresh copy of a CA instance that adopted the demo PKI, on each database kind."""
    kind: str = request.param
    if kind not in _templates:
        _templates[kind] = _template(tmp_path_factory, kind, request)
    template = _templates[kind]
    data_dir = tmp_path / "ca"
    shutil.copytree(template.data_dir, data_dir)
    db_url = None
    pg_name = None
    if template.pg_database is not None:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        pg_name = server.create_database(template=template.pg_database)
        db_url = server.url(pg_name)
    # The template is migrated already; test_db.py tests migrating.
    loaded = load_instance(data_dir, db_url=db_url, passphrase=PASSPHRASE, migrate=False)
    template.share_keys(loaded)
    try:
        yield loaded
    finally:
        loaded.close()
        if pg_name is not None:
            server.drop_database(pg_name)


@pytest.fixture
def sqlite_instance(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Instance]:
    """A demo instance on SQLite only, for tests about files and the command line."""
    if "sqlite" not in _templates:
        _templates["sqlite"] = _template(tmp_path_factory, "sqlite", request)
    data_dir = tmp_path / "ca"
    shutil.copytree(_templates["sqlite"].data_dir, data_dir)
    loaded = load_instance(data_dir, passphrase=PASSPHRASE, migrate=False)
    _templates["sqlite"].share_keys(loaded)
    try:
        yield loaded
    finally:
        loaded.close()


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    """Poll `predicate()` until it is true (helper for process tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


# -- requests and counting --------------------------------------------------------------------


# RSA-2048 key generation costs ~0.1 s; tests take distinct keys from a pool made once per
# session (every test has a database of its own, so reusing a key across tests is harmless).
_POOL_SIZE = 8
_pool: list[rsa.RSAPrivateKey] = []


def _rsa_key(bits: int, turn: Iterator[int]) -> rsa.RSAPrivateKey:
    if bits != 2048:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    while len(_pool) < _POOL_SIZE:
        _pool.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _pool[next(turn) % _POOL_SIZE]


CsrFactory = Callable[..., tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, bytes]]


@pytest.fixture
def make_csr() -> CsrFactory:
    """make_csr(iin=None, key=None, bits=2048, subject=None) -> (key, CSR DER).

    Within one test every call gets a different key (up to 8 RSA-2048 keys).
    """
    turn = itertools.count()

    def make(
        iin: str | None = None,
        *,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
        bits: int = 2048,
        subject: x509.Name | None = None,
    ) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, bytes]:
        key = key if key is not None else _rsa_key(bits, turn)
        if subject is None:
            attributes = [x509.NameAttribute(NameOID.COMMON_NAME, "applicant")]
            if iin is not None:
                attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}"))
            subject = x509.Name(attributes)
        csr = (
            x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        )
        return key, csr.public_bytes(serialization.Encoding.DER)

    return make


@pytest.fixture
def counts() -> Callable[[Database], dict[str, int]]:
    """counts(db): rows per table, and successful audit rows (what a refusal leaves alone)."""
    return _table_counts


@pytest.fixture
def newest_audit() -> Callable[[Database], AuditEntry]:
    """newest_audit(db): the last audit row written."""
    return _last_audit


def _table_counts(db: Database) -> dict[str, int]:
    """Rows per table, plus the successful audit rows: what a refusal must leave unchanged."""
    with db.reading() as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (CertificateRecord, Person, LegalEntity, Employment, Ticket, Operator)
        }
        counts["revoked"] = (
            session.scalar(
                select(func.count())
                .select_from(CertificateRecord)
                .where(CertificateRecord.status == "revoked")
            )
            or 0
        )
        counts["used_tickets"] = (
            session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.used_at.is_not(None))
            )
            or 0
        )
        counts["audit_ok"] = (
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.outcome == "ok")
            )
            or 0
        )
        counts["crl_state_stale"] = (
            session.scalar(
                select(func.count()).select_from(CrlState).where(CrlState.stale.is_(True))
            )
            or 0
        )
    return counts


def _last_audit(db: Database) -> AuditEntry:
    """The newest audit row."""
    with db.reading() as session:
        row = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        return row


@pytest.fixture(scope="session")
def demo_rows() -> dict[str, dict[str, Any]]:
    """certs/demo/index.json rows by id, as written (with serial, ski, organisation)."""
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    return {row["id"]: row for row in rows}
