"""The SQL of the PostgreSQL answer statements, pinned: a change to the statement builder
shows here as a diff of the SQL it sends, to be read and then accepted with
``RITME_ACCEPT_SQL=1 make test PYTEST_ARGS=tests/storage/test_answer_sql.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql

from storage.answers.postgres import postgres_statements

PINNED = Path(__file__).parent / "answer_sql"


@pytest.mark.parametrize("name", ["read", "write"])
def test_the_postgresql_answer_statements_compile_to_the_pinned_sql(name: str) -> None:
    statement = dict(zip(("read", "write"), postgres_statements(), strict=True))[name]
    compiled = str(statement.compile(dialect=postgresql.dialect())).strip() + "\n"
    pinned = PINNED / f"{name}.sql"
    if os.environ.get("RITME_ACCEPT_SQL") == "1":
        pinned.write_text(compiled)
    assert compiled == pinned.read_text(), f"the {name} statement changed; see this module's docstring"
