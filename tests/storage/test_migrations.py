"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import upgrade
from storage.models import Base


def test_migrations_match_the_models(tmp_path) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
