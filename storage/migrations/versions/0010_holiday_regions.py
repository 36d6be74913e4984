"""public holidays of a region: teams.holiday_country holds GB-ENG, DE-BY or CH-Stadt Zurich

``holidays COUNTRY-REGION`` stores the country's code with the region's as the `holidays`
package names it; a few of those names are longer than the ten characters the column had
(``CH-Stadt Zurich``, ``BR-São Paulo Capital``). On downgrade such a region becomes its country.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.alter_column(
            "holiday_country", existing_type=sa.String(length=10), type_=sa.String(length=64), existing_nullable=True
        )


def downgrade() -> None:
    op.execute("UPDATE teams SET holiday_country = substr(holiday_country, 1, 2) WHERE length(holiday_country) > 10")
    with op.batch_alter_table("teams") as batch:
        batch.alter_column(
            "holiday_country", existing_type=sa.String(length=64), type_=sa.String(length=10), existing_nullable=True
        )
