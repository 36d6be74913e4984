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


def test_anonymous_rows_keep_no_insertion_order_on_sqlite(tmp_path) -> None:
    """Without a rowid, the k-th reply and the k-th participation of an occurrence cannot be
    matched by the order in which they were written."""
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as conn:
        for table in ("replies", "participations"):
            flags = conn.execute(sa.text("SELECT wr FROM pragma_table_list WHERE name = :t"), {"t": table}).scalar_one()
            assert flags == 1, f"{table} keeps a rowid"


def test_replies_are_keyed_by_round_then_random_id(tmp_path) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as conn:
        assert sa.inspect(conn).get_pk_constraint("replies")["constrained_columns"] == ["occurrence_id", "id"]
    assert [c.name for c in Base.metadata.tables["replies"].primary_key.columns] == ["occurrence_id", "id"]
