"""Alembic environment of the CA database.

``ca_server.db.Database.migrate`` runs it with an open connection (``config.attributes
["connection"]``) inside its own transaction. A developer can also run the ``alembic`` command
against a database by giving ``sqlalchemy.url`` (``-x`` is not needed).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from ca_server.db import Base, normalise_url

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give sqlalchemy.url (the CA database URL) to run Alembic directly")
    if context.is_offline_mode():
        context.configure(url=normalise_url(url), target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


_main()
