"""the due index serves the tick's claim order whole

The tick claims due rituals ``ORDER BY next_due_at, id`` (one order, so a batch plans as
opening them one by one would). The due index held (paused, next_due_at) only, and at the
Monday 09:00 peak thousands of rituals share their next_due_at: every claim of a batch read
and sorted all the due rituals to take the first 200. With ``id`` in the index a claim reads
what it takes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_rituals_due", table_name="rituals")
    op.create_index("ix_rituals_due", "rituals", ["paused", "next_due_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rituals_due", table_name="rituals")
    op.create_index("ix_rituals_due", "rituals", ["paused", "next_due_at"], unique=False)
