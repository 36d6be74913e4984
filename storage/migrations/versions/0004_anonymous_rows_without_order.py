"""replies keyed by (occurrence, random id); on SQLite replies and participations without rowid

A SQLite table numbers its rows in the order they were inserted (the hidden rowid). For an
anonymous ritual the k-th reply and the k-th participation of an occurrence would then be
the same person's. Without rowid, rows are kept in key order: participations by member,
replies by occurrence and then their random id, so a round's replies stay together (one
range to read) while their order within the round says nothing. PostgreSQL gets the same
primary key.

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


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("pk_replies", "replies", type_="primary")
        op.create_primary_key("pk_replies", "replies", ["occurrence_id", "id"])
        return
    with op.batch_alter_table("participations", recreate="always", table_kwargs={"sqlite_with_rowid": False}):
        pass
    with op.batch_alter_table("replies", recreate="always", table_kwargs={"sqlite_with_rowid": False}) as batch:
        batch.drop_constraint("pk_replies", type_="primary")
        batch.create_primary_key("pk_replies", ["occurrence_id", "id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("pk_replies", "replies", type_="primary")
        op.create_primary_key("pk_replies", "replies", ["id"])
        return
    with op.batch_alter_table("participations", recreate="always"):
        pass
    with op.batch_alter_table("replies", recreate="always") as batch:
        batch.drop_constraint("pk_replies", type_="primary")
        batch.create_primary_key("pk_replies", ["id"])
