"""on SQLite, ritual, occurrence and member ids are never handed out twice (AUTOINCREMENT)

Without AUTOINCREMENT SQLite gives a new row the highest id in the table plus one, so after
`remove #7` the next ritual became #7 again, and a card still showing a removed ritual's
round could be answered into a new round that got the same occurrence id. The three tables
are rebuilt with AUTOINCREMENT; the rows keep their ids. PostgreSQL's sequences never
reuse an id: nothing changes there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 05:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("members", "rituals", "occurrences")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:  # env.py turns foreign keys off while migrating: no cascades
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}):
            pass
