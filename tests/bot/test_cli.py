"""``ritme db upgrade`` says what it did."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


def test_db_upgrade_says_what_it_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "MicrosoftAppId"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RITME_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    assert main(["db", "upgrade"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("database migrated from an empty database to revision ")
    head = first.rsplit(" ", 1)[1]
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"database is up to date (revision {head})"
