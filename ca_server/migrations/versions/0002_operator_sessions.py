"""Operator sign-in: single-use challenges and bearer-token sessions, shared by every worker.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01

Both tables keep a SHA-256 of the random value only. They are working state, not history (the
audit log records every sign-in), so expired rows may be deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "operator_challenges",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("challenge_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_operator_challenges"),
        sa.UniqueConstraint("challenge_hash", name="uq_operator_challenges_challenge_hash"),
    )
    op.create_index("ix_operator_challenges_expires_at", "operator_challenges", ["expires_at"])
    op.create_table(
        "operator_sessions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("certificate_serial", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_operator_sessions_operator_id_operators"
        ),
        sa.ForeignKeyConstraint(
            ["certificate_serial"],
            ["certificates.serial"],
            name="fk_operator_sessions_certificate_serial_certificates",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_operator_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_operator_sessions_token_hash"),
    )
    op.create_index("ix_operator_sessions_operator_id", "operator_sessions", ["operator_id"])


def downgrade() -> None:
    op.drop_table("operator_sessions")
    op.drop_table("operator_challenges")
