"""indexes for the two busiest paths: the outbox's due index serves its claim order whole,
and replies lose their index on occurrence_id alone

The dispatcher claims due messages ``ORDER BY next_attempt_at, id``. The due index held
(status, next_attempt_at) only, and the messages of one tick share their next_attempt_at,
so every claim read and sorted all the pending messages to take the first few: with 10,000
prompts queued, each claim of 50 read thousands of rows. With ``id`` in the index a claim
reads what it takes (and the messages leased to senders meanwhile).

Every stored answer wrote a third copy of its occurrence id for nothing: the primary key
(occurrence_id, id) and the unique (occurrence_id, member_id) both start with it, and each
lookup of a round's replies, and the cascade when a round is deleted, uses the primary key.

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
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at", "id"], unique=False)
    op.drop_index("ix_replies_occurrence_id", table_name="replies")


def downgrade() -> None:
    op.create_index("ix_replies_occurrence_id", "replies", ["occurrence_id"], unique=False)
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"], unique=False)
