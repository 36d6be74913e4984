"""slack oauth states (installations themselves live in the existing installations table)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('slack_oauth_states',
    sa.Column('state', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_slack_oauth_states'))
    )
    with op.batch_alter_table('slack_oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_oauth_states_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('slack_oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_oauth_states_expires_at'))

    op.drop_table('slack_oauth_states')
