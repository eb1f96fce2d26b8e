"""The CA database: one schema by Alembic on SQLite and PostgreSQL, UTC times, an audit log that
the database itself keeps append-only, counters that never repeat."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, StatementError

from ca_server import audit
from ca_server.db import (
    MIGRATIONS_DIR,
    AuditEntry,
    Base,
    Database,
    Person,
    next_counter,
    normalise_url,
    open_database,
    without_password,
)
from ca_server.errors import CaError

TABLES = {
    "authorities",
    "certificates",
    "persons",
    "legal_entities",
    "employments",
    "tickets",
    "operators",
    "audit_log",
    "crl_state",
    "counters",
}


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.dispose()


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_opening_an_empty_database_migrates_it_to_the_newest_revision(db: Database) -> None:
    with db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == _head()
        assert set(inspect(connection).get_table_names()) >= TABLES


def test_the_migration_creates_exactly_what_the_models_describe(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_opening_a_migrated_database_again_changes_nothing(db_url: str) -> None:
    first = open_database(db_url)
    with first.transaction() as session:
        audit.record(session, "tester", "test.action", None)
    first.dispose()
    again = open_database(db_url)
    assert [entry.action for entry in audit.read(again)] == ["test.action"]
    again.dispose()


def test_the_migration_can_be_undone_and_redone(db: Database) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    with db.engine.connect() as connection:
        assert not TABLES & set(inspect(connection).get_table_names())
    db.migrate()
    with db.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= TABLES


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_runs_in_wal_mode_with_foreign_keys_enforced(db: Database) -> None:
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(DBAPIError), db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO employments (bin, iin, role, created_at) "
                "VALUES ('940140000385', '850101300124', 'head', CURRENT_TIMESTAMP)"
            )
        )


def test_audit_rows_can_be_added_but_never_changed_or_deleted(db: Database) -> None:
    with db.transaction() as session:
        audit.record(session, "operator:1", "certificate.revoke", "ab" * 20, details={"n": 1})
    for statement in (
        "UPDATE audit_log SET outcome = 'forged'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
            session.execute(text(statement))
    (entry,) = audit.read(db)
    assert (entry.actor, entry.action, entry.outcome) == ("operator:1", "certificate.revoke", "ok")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_also_refuses_to_truncate_the_audit_log(db: Database) -> None:
    with db.transaction() as session:
        audit.record(session, "tester", "test.action", None)
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
        session.execute(text("TRUNCATE audit_log"))
    assert len(audit.read(db)) == 1


def test_the_orm_has_no_way_around_the_append_only_audit_log(db: Database) -> None:
    with db.transaction() as session:
        audit.record(session, "tester", "test.action", None)
    with db.transaction() as session:
        row = session.get(AuditEntry, 1)
        assert row is not None
        session.delete(row)
        with pytest.raises(DBAPIError, match="append-only"):
            session.flush()
        session.rollback()


def test_times_are_stored_and_read_back_as_aware_utc(db: Database) -> None:
    almaty = dt.timezone(dt.timedelta(hours=5))
    written = dt.datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=almaty)
    with db.transaction() as session:
        audit.record(session, "tester", "test.action", None, at=written)
    (entry,) = audit.read(db)
    assert entry.at == written
    assert entry.at.tzinfo == dt.UTC


def test_a_naive_time_is_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive"), db.transaction() as session:
        audit.record(session, "tester", "test.action", None, at=dt.datetime(2025, 1, 1))


def _add_and_fail(db: Database) -> None:
    with db.transaction() as session:
        session.add(Person(iin="850101300124", surname="A", given_name="B"))
        session.flush()
        raise RuntimeError("boom")


def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(RuntimeError):
        _add_and_fail(db)
    with db.reading() as session:
        assert session.get(Person, "850101300124") is None


def test_counters_count_up_without_repeating_across_threads(db: Database) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def take(n: int) -> None:
        for _ in range(n):
            with db.transaction() as session:
                value = next_counter(session, "tsa")
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=take, args=(10,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 41))


def test_an_unknown_counter_is_an_internal_error(db: Database) -> None:
    with pytest.raises(CaError) as caught, db.transaction() as session:
        next_counter(session, "nonexistent")
    assert caught.value.code == "internal"


def test_a_database_password_is_never_written_into_the_configuration() -> None:
    assert (
        without_password("postgresql://qalam:s3cret@db.example:5432/ca")
        == "postgresql+psycopg://qalam@db.example:5432/ca"
    )
    assert without_password("sqlite:////var/lib/qalam/ca.sqlite") == (
        "sqlite:////var/lib/qalam/ca.sqlite"
    )


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_an_unreachable_database_is_a_database_error_without_the_url() -> None:
    with pytest.raises(CaError) as caught:
        open_database("postgresql+psycopg://qalam:secret-password@127.0.0.1:9/none")
    assert caught.value.code == "database_error"
    assert caught.value.status == 503
    assert "secret-password" not in str(caught.value)
