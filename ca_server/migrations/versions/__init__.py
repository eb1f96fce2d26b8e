"""Alembic revisions of the CA database, oldest first."""
