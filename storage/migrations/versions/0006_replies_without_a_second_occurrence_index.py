"""replies lose their index on occurrence_id alone: the primary key (occurrence_id, id)
and the unique (occurrence_id, member_id) both start with it

Every stored answer wrote that third copy of its occurrence id for nothing: each lookup
of a round's replies, and the cascade when a round is deleted, uses the primary key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 11:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_replies_occurrence_id", table_name="replies")


def downgrade() -> None:
    op.create_index("ix_replies_occurrence_id", "replies", ["occurrence_id"], unique=False)
