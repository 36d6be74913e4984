"""replies and participations without rowid on SQLite: their order says nothing

A SQLite table numbers its rows in the order they were inserted (the hidden rowid). For an
anonymous ritual the k-th reply and the k-th participation of an occurrence would then be
the same person's. Without rowid, rows are kept in key order: participations by member,
replies by their random id. PostgreSQL is unchanged.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 08:15:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("participations", "replies")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_with_rowid": False}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always"):
            pass
