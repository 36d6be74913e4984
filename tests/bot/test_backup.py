"""``ritme backup`` and ``ritme restore``: a copy taken while a real ``ritme serve`` takes
answers holds every answer acknowledged before the copy began; restored into a new file, they
are all there. And the refusals: an existing file, a database from a newer Ritme, PostgreSQL.

The load: a real ``ritme serve`` (the playground, on SQLite) with 20 open reflection rounds;
four people keep answering them, each answer a new version of their reply (an answer to an
open round may be changed), while ``ritme backup`` runs twice in processes of its own. A
reply in a copy must be at least the version acknowledged before that backup started, and
never a version that was not sent. Nothing here asserts on time: the waits are bounded polls.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from storage.db import upgrade
from tests.fakes.servers import RITME, Replica, free_port, poll

RITUALS = 20
PEOPLE = ("anna", "bram", "chris", "dewi")
MAX_ROUNDS = 500  # a bound on the load, far above what two backups need


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft"))}
    env.update({"RITME_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "RITME_DEFAULT_LANGUAGE": "en"})
    return env


def _replies(db: Path) -> dict[tuple[int, str], int]:
    """(occurrence, person) -> the version of their reply, from the texts the load wrote."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        texts = [json.loads(v)["answer"] for (v,) in conn.execute('SELECT "values" FROM replies')]
    versions = {}
    for text in texts:
        _, occurrence, person, version = text.split()
        versions[(int(occurrence), person)] = int(version)
    return versions


async def test_backup_under_load_restores_every_acknowledged_answer(tmp_path: Path) -> None:
    db = tmp_path / "ritme.db"
    env = _env(db)
    port = free_port()
    server = Replica("serve", port, env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    sent: dict[tuple[int, str], int] = {}  # the newest version sent for each reply
    acked: list[tuple[float, tuple[int, str], int]] = []  # (when acknowledged, reply, version)
    backups: list[tuple[Path, float, float]] = []  # (file, started, ended)
    try:
        async with aiohttp.ClientSession() as http:
            assert await server.serving(http), server.tail()

            async def command(text: str) -> None:
                async with http.post(f"{base}/playground/api/command", json={"user": "anna", "text": text}) as r:
                    assert r.status == 200, await r.text()

            for n in range(1, RITUALS + 1):
                await command("add reflection every monday at 09:00 open 2d team")
                await command(f"run #{n}")
            occurrences: set[int] = set()

            async def prompted() -> bool:
                async with http.get(f"{base}/playground/api/state", params={"user": "chris"}) as r:
                    messages = (await r.json())["messages"]
                occurrences.update(m["payload"]["occurrence_id"] for m in messages if m["payload"]["type"] == "prompt")
                return len(occurrences) == RITUALS

            assert await poll(prompted, within=60, every=0.2), server.tail()
            backing_up = asyncio.Event()
            done = asyncio.Event()

            async def answer(person: str) -> None:
                for version in range(MAX_ROUNDS):
                    if done.is_set():
                        return
                    for occurrence in sorted(occurrences):
                        key = (occurrence, person)
                        sent[key] = version
                        values = {"answer": f"answer {occurrence} {person} {version}"}
                        body = {"user": person, "occurrence_id": occurrence, "values": values}
                        async with http.post(f"{base}/playground/api/answer", json=body) as r:
                            assert r.status == 200 and (await r.json())["ok"], await r.text()
                        acked.append((time.monotonic(), key, version))
                        if len(acked) >= 2 * RITUALS:
                            backing_up.set()

            async def back_up() -> None:
                await backing_up.wait()  # answers are coming in, half a round of them stored
                for n in range(2):
                    copy = tmp_path / f"backup-{n}.db"
                    started = time.monotonic()
                    proc = await asyncio.create_subprocess_exec(
                        str(RITME), "backup", str(copy), env=env, cwd=tmp_path, stderr=subprocess.PIPE
                    )
                    _, err = await proc.communicate()
                    assert proc.returncode == 0, err.decode()
                    backups.append((copy, started, time.monotonic()))
                done.set()

            await asyncio.gather(back_up(), *(answer(p) for p in PEOPLE))
    finally:
        server.close()

    for n, (copy, started, ended) in enumerate(backups):
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        during = [a for a in acked if started <= a[0] <= ended]
        assert during, "no answer was acknowledged while the backup ran: the load did not overlap it"
        expected: dict[tuple[int, str], int] = {}
        for when, key, version in acked:
            if when < started:
                expected[key] = max(version, expected.get(key, -1))
        restored = tmp_path / f"restored-{n}.db"
        result = await asyncio.to_thread(
            subprocess.run,
            [str(RITME), "restore", str(copy)],
            env=_env(restored),
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert f"restored {copy} to {restored}" in result.stdout
        assert stat.S_IMODE(restored.stat().st_mode) == 0o600
        found = _replies(restored)
        missing = {k: v for k, v in expected.items() if found.get(k, -1) < v}
        assert not missing, f"acknowledged before backup {n} began, not in its copy: {missing}"
        assert all(version <= sent[key] for key, version in found.items())
        print(
            f"\nbackup {n}: {len(expected)} replies acknowledged before it began, all in the copy; "
            f"{len(during)} answers acknowledged while it ran"
        )


def _cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "MicrosoftAppId"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RITME_DATABASE_URL", url)


def test_restore_refuses_to_overwrite_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing database is replaced only with --force; the refusal says what to do."""
    live = tmp_path / "ritme.db"
    url = f"sqlite+aiosqlite:///{live}"
    upgrade(url)
    _cli(monkeypatch, tmp_path, url)
    assert main(["backup", "copy.db"]) == 0
    with sqlite3.connect(live) as conn:
        conn.execute("CREATE TABLE made_after_the_copy (x)")
    capsys.readouterr()
    assert main(["backup", "copy.db"]) == 1
    assert "copy.db exists; choose a new name, or add --force" in capsys.readouterr().err
    assert main(["restore", "copy.db"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ritme restore: RITME_DATABASE_URL: {live} already holds a database. Stop Ritme")
    assert "ritme restore copy.db --force" in err
    assert main(["restore", "copy.db", "--force"]) == 0
    with sqlite3.connect(live) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "replies" in tables and "made_after_the_copy" not in tables


def test_restore_upgrades_an_older_copy_and_refuses_one_from_a_newer_ritme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.db"
    upgrade(f"sqlite+aiosqlite:///{old}", "0005")
    _cli(monkeypatch, tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    assert main(["restore", str(old)]) == 0
    out = capsys.readouterr().out
    assert "upgraded from revision 0005" in out
    with sqlite3.connect(tmp_path / "new.db") as conn:
        head = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert head != "0005" and f"migration revision {head}" in out

    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    _cli(monkeypatch, tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    assert main(["restore", str(old)]) == 1
    assert "revision 9999_from_the_future, which this Ritme does not know" in capsys.readouterr().err
    assert not (tmp_path / "other.db").exists()
    (tmp_path / "notes.txt").write_text("not a database")
    assert main(["restore", "notes.txt"]) == 1
    assert "notes.txt is not a SQLite database Ritme can read" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".", "other"))] == []  # no staging file left


def test_postgres_gets_the_pg_dump_and_pg_restore_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The password stays out of the printed commands; nothing is written."""
    _cli(monkeypatch, tmp_path, "postgresql+asyncpg://ritme:s3cret@db.school.example:5433/ritme")
    assert main(["backup", "/backups/ritme.dump"]) == 1
    err = capsys.readouterr().err
    target = "postgresql://ritme@db.school.example:5433/ritme"
    assert f"pg_dump --format=custom --no-owner --no-privileges --file=/backups/ritme.dump {target}" in err
    assert "s3cret" not in err
    assert main(["restore", "/backups/ritme.dump"]) == 1
    err = capsys.readouterr().err
    assert f"--dbname={target} /backups/ritme.dump" in err and "ritme db upgrade" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_the_printed_postgres_commands_back_up_and_restore(
    fresh_postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run exactly what ``ritme backup`` and ``ritme restore`` print, against the tests'
    PostgreSQL server: the teams deleted after the dump are back after the restore."""
    import shlex

    from sqlalchemy import text

    from storage.db import create_engine
    from tests.fakes.bulk import seed_rituals, utc_now
    from tests.fakes.postgres import find_pg_bindir

    upgrade(fresh_postgres_url)

    async def teams(change: str | None = None) -> int:
        engine = create_engine(fresh_postgres_url)
        try:
            if change == "seed":
                await seed_rituals(engine, 3, now=utc_now())
            async with engine.begin() as conn:
                if change == "delete":
                    await conn.execute(text("DELETE FROM teams"))
                return int((await conn.execute(text("SELECT count(*) FROM teams"))).scalar_one())
        finally:
            await engine.dispose()

    assert asyncio.run(teams("seed")) == 3
    dump = tmp_path / "ritme.dump"
    _cli(monkeypatch, tmp_path, fresh_postgres_url)
    assert main(["backup", str(dump)]) == 1
    printed = [line.strip() for line in capsys.readouterr().err.splitlines() if line.startswith("  pg_")]
    assert [line.split()[0] for line in printed] == ["pg_dump", "pg_restore"]
    env = {**os.environ, "PATH": f"{find_pg_bindir()}:{os.environ['PATH']}"}
    subprocess.run(shlex.split(printed[0]), env=env, check=True, capture_output=True)
    assert dump.stat().st_size > 0
    assert asyncio.run(teams("delete")) == 0
    assert main(["restore", str(dump)]) == 1
    (load,) = [line.strip() for line in capsys.readouterr().err.splitlines() if line.startswith("  pg_restore")]
    subprocess.run(shlex.split(load), env=env, check=True, capture_output=True)
    assert asyncio.run(teams()) == 3
