"""who reads a ritual's answers: team, leaders or anonymous, as its admin chose

A ritual without a choice keeps its kind's default (``rituals.visibility``), so every ritual
stored before this revision goes on as it did, except where the defaults became more
private (a sensitive reflection question, the meeting check-out). Each round keeps the level
it opened with in its content; rounds opened before this revision keep what their kind did.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rituals", sa.Column("visibility", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rituals") as batch:
        batch.drop_column("visibility")
