"""The first schema: authorities, certificates, registry, tickets, operators, audit log, CRLs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The audit log is append-only at the database level too: triggers refuse UPDATE and DELETE on
both SQLite and PostgreSQL (and TRUNCATE on PostgreSQL), so even a bug or a hand-typed SQL
statement cannot rewrite history; only dropping the table can.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_APPEND_ONLY = "audit_log is append-only"


def upgrade() -> None:
    op.create_table(
        "authorities",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("root_certificate", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_authorities"),
    )
    op.create_table(
        "persons",
        sa.Column("iin", sa.String(12), nullable=False),
        sa.Column("surname", sa.String(128), nullable=False),
        sa.Column("given_name", sa.String(128), nullable=False),
        sa.Column("patronymic", sa.String(128), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("id_document_number", sa.String(32), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("length(iin) = 12", name="ck_persons_iin_length"),
        sa.PrimaryKeyConstraint("iin", name="pk_persons"),
    )
    op.create_table(
        "legal_entities",
        sa.Column("bin", sa.String(12), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("length(bin) = 12", name="ck_legal_entities_bin_length"),
        sa.CheckConstraint("kind IN ('company', 'state_agency')", name="ck_legal_entities_kind"),
        sa.PrimaryKeyConstraint("bin", name="pk_legal_entities"),
    )
    op.create_table(
        "employments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bin", sa.String(12), nullable=False),
        sa.Column("iin", sa.String(12), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["bin"], ["legal_entities.bin"], name="fk_employments_bin_legal_entities"
        ),
        sa.ForeignKeyConstraint(["iin"], ["persons.iin"], name="fk_employments_iin_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_employments"),
        sa.UniqueConstraint("bin", "iin", "role", name="uq_employments_bin_iin_role"),
    )
    op.create_index("ix_employments_bin", "employments", ["bin"])
    op.create_index("ix_employments_iin", "employments", ["iin"])
    op.create_table(
        "certificates",
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("ca_id", sa.String(16), nullable=False),
        sa.Column("iin", sa.String(12), nullable=True),
        sa.Column("bin", sa.String(12), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("ski", sa.String(64), nullable=False),
        sa.Column("not_before", _TS, nullable=False),
        sa.Column("not_after", _TS, nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("superseded_by", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("status IN ('good', 'revoked')", name="ck_certificates_status"),
        sa.CheckConstraint(
            "(status = 'good' AND revoked_at IS NULL) OR "
            "(status = 'revoked' AND revoked_at IS NOT NULL)",
            name="ck_certificates_revocation_time",
        ),
        sa.ForeignKeyConstraint(
            ["ca_id"], ["authorities.id"], name="fk_certificates_ca_id_authorities"
        ),
        sa.ForeignKeyConstraint(["iin"], ["persons.iin"], name="fk_certificates_iin_persons"),
        sa.ForeignKeyConstraint(
            ["superseded_by"],
            ["certificates.serial"],
            name="fk_certificates_superseded_by_certificates",
        ),
        sa.PrimaryKeyConstraint("serial", name="pk_certificates"),
    )
    op.create_index("ix_certificates_iin_status", "certificates", ["iin", "status"])
    op.create_index("ix_certificates_ca_id_status", "certificates", ["ca_id", "status"])
    op.create_index("ix_certificates_ski", "certificates", ["ski"])
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("iin", sa.String(12), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["iin"], ["persons.iin"], name="fk_tickets_iin_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("code_hash", name="uq_tickets_code_hash"),
    )
    op.create_index("ix_tickets_iin", "tickets", ["iin"])
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("iin", sa.String(12), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("certificate_serial", sa.String(64), nullable=True),
        sa.Column("ski", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("disabled_at", _TS, nullable=True),
        sa.CheckConstraint(
            "certificate_serial IS NOT NULL OR ski IS NOT NULL", name="ck_operators_credential"
        ),
        sa.CheckConstraint("role IN ('operator', 'admin', 'auditor')", name="ck_operators_role"),
        sa.ForeignKeyConstraint(
            ["certificate_serial"],
            ["certificates.serial"],
            name="fk_operators_certificate_serial_certificates",
        ),
        sa.ForeignKeyConstraint(["iin"], ["persons.iin"], name="fk_operators_iin_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_operators"),
        sa.UniqueConstraint("certificate_serial", name="uq_operators_certificate_serial"),
    )
    op.create_index("ix_operators_iin", "operators", ["iin"])
    op.create_index("ix_operators_ski", "operators", ["ski"])
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(256), nullable=True),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.Column("request_sha256", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])
    op.create_table(
        "crl_state",
        sa.Column("ca_id", sa.String(16), nullable=False),
        sa.Column("crl_number", sa.BigInteger(), nullable=False),
        sa.Column("this_update", _TS, nullable=True),
        sa.Column("next_update", _TS, nullable=True),
        sa.Column("der", sa.LargeBinary(), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ca_id"], ["authorities.id"], name="fk_crl_state_ca_id_authorities"
        ),
        sa.PrimaryKeyConstraint("ca_id", name="pk_crl_state"),
    )
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.bulk_insert(counters, [{"name": "tsa", "value": 0}])
    _append_only_audit_log()


def _append_only_audit_log() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION qalam_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN RAISE EXCEPTION '{_APPEND_ONLY}' USING ERRCODE = 'insufficient_privilege';"
            " END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
            " FOR EACH ROW EXECUTE FUNCTION qalam_audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
            " FOR EACH STATEMENT EXECUTE FUNCTION qalam_audit_log_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log"
            f" BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS qalam_audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    for table in (
        "counters",
        "crl_state",
        "audit_log",
        "operators",
        "tickets",
        "certificates",
        "employments",
        "legal_entities",
        "persons",
        "authorities",
    ):
        op.drop_table(table)
