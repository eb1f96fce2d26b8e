"""The CA's state in one database: SQLAlchemy 2 models, the engine, transactions, migrations.

One code path for SQLite (the default: one file in the data directory, WAL, foreign keys on) and
PostgreSQL (``postgresql+psycopg://…``, which several stateless workers can share). The schema is
owned by the Alembic revisions in ``ca_server/migrations`` (shipped inside the package), which
``open_database`` applies up to head; the models here must match them (a test compares both).

Concurrency rules the rest of ca_server relies on:

* Every write happens inside ``Database.transaction()``. On SQLite it starts with
  ``BEGIN IMMEDIATE``, so writers queue on the database lock (busy timeout) instead of failing
  half-way with "database is locked"; on PostgreSQL it is an ordinary READ COMMITTED transaction
  and conflicts are settled by row locks and unique constraints.
* Whatever must be decided one certificate holder at a time (a superseding re-issue checks
  that the holder got nothing newer, then revokes their old certificates) first calls
  ``Database.lock_holder``: on PostgreSQL a transaction-scoped advisory lock keyed by the IIN
  (it works before the person's certificates exist and locks no row anyone else reads); on
  SQLite the ``BEGIN IMMEDIATE`` writer lock already serialises every writer.
* Single-use things (one-time codes) are consumed with a conditional ``UPDATE … WHERE used_at IS
  NULL`` and the row count decides who won; counters with ``UPDATE … RETURNING``.
* ``audit_log`` is append-only: the code has no update or delete path, and a trigger created by
  the migration makes the database itself refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
    update,
)
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from ca_server.errors import CaError

__all__ = [
    "DATABASE_FILE",
    "GOOD",
    "MIGRATIONS_DIR",
    "REVOKED",
    "AuditEntry",
    "Authority",
    "Base",
    "CertificateRecord",
    "Counter",
    "CrlState",
    "Database",
    "Employment",
    "LegalEntity",
    "Operator",
    "OperatorChallenge",
    "OperatorSession",
    "Person",
    "Ticket",
    "default_url",
    "next_counter",
    "normalise_url",
    "open_database",
    "utcnow",
    "without_password",
]

DATABASE_FILE = "qalam-ca.sqlite"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

GOOD = "good"
REVOKED = "revoked"

# A fixed key for pg_advisory_xact_lock: workers starting together migrate one after another.
_MIGRATION_LOCK = 0x51414C414D  # "QALAM"
_WRITE = "qalam_write"
_SQLITE_BUSY_MS = 30_000


def utcnow() -> dt.datetime:
    """Now, timezone-aware UTC, to the microsecond (what every timestamp column stores)."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on both databases.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC text (one fixed format, so comparisons in SQL order correctly) and read back as aware UTC.
    Naive datetimes are refused: a time without a zone is a bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# SQLite makes a rowid alias only of a column declared exactly INTEGER PRIMARY KEY.
_BIGINT_ID = BigInteger().with_variant(Integer(), "sqlite")

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The declarative base of every CA table."""

    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime(), bytes: LargeBinary(), dict[str, Any]: JSON()}


class Authority(Base):
    """An issuing CA of this instance ("nac", "gov") and the certificates that identify it."""

    __tablename__ = "authorities"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    certificate: Mapped[bytes]
    root_certificate: Mapped[bytes | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Person(Base):
    """A natural person as the state register of individuals knows them."""

    __tablename__ = "persons"
    __table_args__ = (CheckConstraint("length(iin) = 12", name="iin_length"),)

    iin: Mapped[str] = mapped_column(String(12), primary_key=True)
    surname: Mapped[str] = mapped_column(String(128))
    given_name: Mapped[str] = mapped_column(String(128))
    patronymic: Mapped[str | None] = mapped_column(String(128))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    id_document_number: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LegalEntity(Base):
    """A company or a state agency, as the state register of legal entities knows it."""

    __tablename__ = "legal_entities"
    __table_args__ = (
        CheckConstraint("length(bin) = 12", name="bin_length"),
        CheckConstraint("kind IN ('company', 'state_agency')", name="kind"),
    )

    bin: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16), default="company")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Employment(Base):
    """A person's role in a legal entity: head, signer, employee, civil_servant, psc_operator."""

    __tablename__ = "employments"
    __table_args__ = (UniqueConstraint("bin", "iin", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bin: Mapped[str] = mapped_column(ForeignKey("legal_entities.bin"), index=True)
    iin: Mapped[str] = mapped_column(ForeignKey("persons.iin"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CertificateRecord(Base):
    """Every certificate an issuing CA of this instance signed, and its revocation status."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("status IN ('good', 'revoked')", name="status"),
        CheckConstraint(
            "(status = 'good' AND revoked_at IS NULL) OR "
            "(status = 'revoked' AND revoked_at IS NOT NULL)",
            name="revocation_time",
        ),
        Index(None, "iin", "status"),
        Index(None, "ca_id", "status"),
    )

    # Lower-case hex, at least 40 digits (20 bytes): see authority.serial_hex.
    serial: Mapped[str] = mapped_column(String(64), primary_key=True)
    ca_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"))
    iin: Mapped[str | None] = mapped_column(ForeignKey("persons.iin"))
    bin: Mapped[str | None] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(16))
    profile: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    ski: Mapped[str] = mapped_column(String(64), index=True)
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    der: Mapped[bytes]
    status: Mapped[str] = mapped_column(String(16), default=GOOD)
    revoked_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(String(32))
    superseded_by: Mapped[str | None] = mapped_column(ForeignKey("certificates.serial"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    """A one-time enrolment or re-issue code. Only the code's SHA-256 is stored."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    iin: Mapped[str] = mapped_column(ForeignKey("persons.iin"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class Operator(Base):
    """A PSC or CA staff member allowed to act on the CA, known by their GOV CA certificate."""

    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint("certificate_serial IS NOT NULL OR ski IS NOT NULL", name="credential"),
        CheckConstraint("role IN ('operator', 'admin', 'auditor')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    iin: Mapped[str] = mapped_column(ForeignKey("persons.iin"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    certificate_serial: Mapped[str | None] = mapped_column(
        ForeignKey("certificates.serial"), unique=True
    )
    ski: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None]


class OperatorChallenge(Base):
    """A random challenge an operator signs to sign in: single-use, short-lived.

    Kept in the database (not in a worker's memory) so that any worker can check the answer.
    Only its SHA-256 is stored; the challenge itself is no secret, but the row needs no more.
    """

    __tablename__ = "operator_challenges"

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True, autoincrement=True)
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class OperatorSession(Base):
    """A signed-in operator's bearer token (only its SHA-256 is stored) and how long it lives."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    certificate_serial: Mapped[str] = mapped_column(ForeignKey("certificates.serial"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class AuditEntry(Base):
    """One line of the append-only audit log: who did what to what, when, from where, outcome."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(256), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(256))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CrlState(Base):
    """The current CRL of an issuing CA, its number, and whether a revocation made it stale."""

    __tablename__ = "crl_state"

    ca_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), primary_key=True)
    crl_number: Mapped[int] = mapped_column(BigInteger)
    this_update: Mapped[dt.datetime | None]
    next_update: Mapped[dt.datetime | None]
    der: Mapped[bytes | None]
    stale: Mapped[bool] = mapped_column(Boolean, default=True)


class Counter(Base):
    """Monotonic counters shared by all workers ("tsa": the TSA's serial numbers)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


def next_counter(session: Session, name: str, step: int = 1) -> int:
    """Increment counter `name` by `step` and return its new value; unique across workers and
    processes. With ``step > 1`` the caller owns the whole block ``value - step + 1 .. value``."""
    if step < 1:
        raise ValueError("a counter only grows")
    stmt = update(Counter).where(Counter.name == name).values(value=Counter.value + step)
    value = session.execute(stmt.returning(Counter.value)).scalar_one_or_none()
    if value is None:
        raise CaError("internal", f"no counter named {name!r}")
    return value


# -- engine and sessions ------------------------------------------------------------------------


def _holder_key(iin: str) -> int:
    """A signed 64-bit advisory-lock key for holder `iin`.

    Two holders (or the migration lock) share a key with a chance of 2**-64: harmless, they
    would only wait for each other.
    """
    digest = hashlib.sha256(b"qalam-ca holder\n" + iin.encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def default_url(data_dir: Path) -> str:
    """The SQLite file of an instance: ``<data-dir>/qalam-ca.sqlite``."""
    return f"sqlite:///{(data_dir / DATABASE_FILE).resolve()}"


def without_password(url: str) -> str:
    """`url` with any password removed (for ca.json and messages): libpq finds it in PGPASSWORD
    or ~/.pgpass instead."""
    parsed = make_url(normalise_url(url))
    bare = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as psycopg 3 URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Take transaction control away from the sqlite3 module: we emit BEGIN ourselves (below),
    # which also makes SAVEPOINTs work.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": _SQLITE_BUSY_MS / 1000, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """An open CA database: the engine and the two kinds of session it hands out."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = _create_engine(self.url)
        self._writer = sessionmaker(
            bind=self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        Nothing done inside is visible to anyone, nor durable, before the commit at the end.
        """
        session = self._writer()
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise CaError("database_error", type(exc.orig).__name__) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only look: whatever was changed inside is rolled back.

        Objects read stay usable after the block (closing detaches them without expiring them).
        """
        session = self._reader()
        try:
            yield session
        except OperationalError as exc:
            raise CaError("database_error", type(exc.orig).__name__) from None
        finally:
            session.close()

    def lock_holder(self, session: Session, iin: str) -> None:
        """Hold the write lock of certificate holder `iin` until `session`'s transaction ends."""
        if self.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _holder_key(iin)})
        else:
            # The first statement begins the transaction, and BEGIN IMMEDIATE is the lock.
            session.execute(text("SELECT 1"))

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (one worker at a time)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.execution_options(**{_WRITE: True}).begin() as connection:
            if self.dialect == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        """Close every pooled connection (an SQLite WAL is checkpointed when the last closes)."""
        self.engine.dispose()


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect to `url` and (by default) migrate it to the newest schema."""
    database = Database(url)
    if migrate:
        try:
            database.migrate()
        except OperationalError as exc:
            database.dispose()
            raise CaError("database_error", type(exc.orig).__name__) from None
    return database
