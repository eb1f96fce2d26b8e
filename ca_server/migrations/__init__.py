"""Alembic migrations of the CA database, shipped inside the package (see ca_server.db)."""
