"""sealed anonymous answers: encrypted while their round is open

An anonymous answer used to be written as a plain reply, in the same transaction as the
row that says who took part: on SQLite the k-th reply and the k-th participation shared
their place in the file and their commit in the WAL, on PostgreSQL their ``xmin``. Now it
is kept sealed (encrypted with a key of its round derived from the server's secret) until
the round closes, and then written with all the round's other answers in one transaction,
in random order. Answers of rounds open at the upgrade were stored as before and stay so.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealed_answers",
        sa.Column("occurrence_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"], ["occurrences.id"], name="fk_sealed_answers_occurrence_id_occurrences", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("occurrence_id", "tag", name="pk_sealed_answers"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("sealed_answers")
