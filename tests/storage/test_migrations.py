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


def test_upgrading_a_filled_sqlite_database_keeps_every_row_and_stops_reusing_ids(tmp_path) -> None:
    """Migration 0005 rebuilds members, rituals and occurrences: with foreign keys on, dropping
    the old tables would cascade into the rows that reference them."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0004")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    now = "2026-11-22 12:00:00.000000"
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.exec_driver_sql(
            "INSERT INTO teams (id, platform, workspace_id, channel_id, name, timezone, language, goal,"
            " holiday_country, anonymity_threshold, retention_days, settings, conversation, active, created_at)"
            f" VALUES (1, 'p', 'w', 'c', 'T', 'UTC', 'en', NULL, 'NL', 3, 730, '{{}}', '{{}}', 1, '{now}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO members (id, platform, workspace_id, user_id, display_name, created_at, mute_reminders)"
            f" VALUES (4, 'p', 'w', 'u', 'U', '{now}', 0)"
        )
        conn.exec_driver_sql("INSERT INTO team_members (team_id, member_id) VALUES (1, 4)")
        for ritual in (1, 2):
            conn.exec_driver_sql(
                "INSERT INTO rituals (id, team_id, kind, schedule, open_seconds, options, paused, created_at)"
                f" VALUES ({ritual}, 1, 'checkout', '', 3600, '{{}}', 0, '{now}')"
            )
            conn.exec_driver_sql(
                "INSERT INTO occurrences (id, ritual_id, planned_at, status, content)"
                f" VALUES ({ritual * 10}, {ritual}, '{now}', 'closed', '{{}}')"
            )
            conn.exec_driver_sql(
                'INSERT INTO replies (id, occurrence_id, member_id, team_id, "values", created_on, updated_at)'
                f" VALUES ('r{ritual}', {ritual * 10}, 4, 1, '{{}}', '2026-11-22', '{now}')"
            )
        conn.exec_driver_sql("DELETE FROM rituals WHERE id = 2")  # `remove #2`, before the upgrade
    upgrade(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        counts = {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in ("members", "team_members", "rituals", "occurrences", "replies")
        }
        assert counts == {"members": 1, "team_members": 1, "rituals": 1, "occurrences": 1, "replies": 1}
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        conn.exec_driver_sql("DELETE FROM rituals WHERE id = 1")  # the highest id goes
        conn.exec_driver_sql(
            "INSERT INTO rituals (team_id, kind, schedule, open_seconds, options, paused, created_at)"
            f" VALUES (1, 'goal', '', 3600, '{{}}', 0, '{now}')"
        )
        assert conn.exec_driver_sql("SELECT id FROM rituals").scalar_one() == 2  # not 1 again
        assert conn.exec_driver_sql("SELECT count(*) FROM replies").scalar_one() == 0  # the cascade works again
