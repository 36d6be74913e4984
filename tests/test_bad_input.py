"""Bad input at every edge: a 4xx, never a 500, and nothing changes in the database.

One real app serves every endpoint (Slack, Teams, the playground, review pages, health)
from a thread of its own, on SQLite, against the fake Slack Web API and the fake Bot
Framework. Requests are malformed JSON or form bodies, bodies over 1 MiB, and fields of
the wrong type; Slack requests are signed correctly, so they get past verification. The
database is compared whole before and after each request that was refused.

Inputs that still get a 500 are listed in ``KNOWN`` with the place to fix them; their cases
are strict xfails, so a fix turns them into failures that ask for the marker to go.

The parsers' own properties live with them (tests/rituals/test_schedule.py,
tests/bot/test_commands.py); the properties here add what those do not cover.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.commands import KIND_WORDS, VERBS, Command, CommandError, parse
from bot.config import Settings
from bot.server import REPO, create_app
from rituals.schedule import Schedule, ScheduleError, parse_schedule
from storage.db import upgrade
from storage.models import Base, Reply
from tests.fakes.botframework import FakeBotFramework
from tests.fakes.clock import Clock
from tests.fakes.playground import open_playground
from tests.fakes.secret_key import SECRET_KEY
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.threaded import ThreadedLoop, request

SECRET = "bad-input-signing-secret"
MIB = 1024 * 1024
JSON_TYPE = {"Content-Type": "application/json"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}

# Inputs that get a 500 today, and where to fix them (strict xfails below): none known.
KNOWN: dict[str, str] = {}


def known(key: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=KNOWN[key])


def sign(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Edge:
    """The served app: requests in, the database's whole content out."""

    loop: ThreadedLoop
    app: Any
    port: int

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
        return self.exchange(method, path, body, headers)[0]

    def exchange(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(status, body) of one request, once the work after the acks is done."""
        answer = request(self.port, method, path, body, headers)
        self.settle()
        return answer

    def slack(self, body: bytes, headers: dict[str, str]) -> int:
        return self.send("POST", "/slack/events", body, {**headers, **sign(body)})

    def settle(self) -> None:
        """Wait for the work the Slack adapter does after its acks."""
        from adapters.slack.app import SLACK_ADAPTER

        self.loop.run(self.app[SLACK_ADAPTER].drain(within=10))

    def snapshot(self) -> str:
        async def dump() -> str:
            digest = hashlib.sha256()
            async with self.app[REPO].engine.connect() as conn:
                for table in Base.metadata.sorted_tables:
                    rows = (await conn.execute(select(table).order_by(*table.primary_key.columns))).all()
                    digest.update(f"{table.name}:{rows!r}\n".encode())
            return digest.hexdigest()

        return self.loop.run(dump())

    def refused_unchanged(self, send: Callable[[], int]) -> int:
        """Send; when refused (4xx), the database must be as it was. Returns the status."""
        before = self.snapshot()
        status = send()
        assert status < 500, f"server error {status}"
        if status >= 400:
            assert self.snapshot() == before, "a refused request changed the database"
        return status


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('bad-input') / 'ritme.db'}"
    upgrade(url)
    loop = ThreadedLoop()

    async def start_fake() -> FakeSlackApi:
        fake = FakeSlackApi()
        await fake.__aenter__()
        return fake

    fake = loop.run(start_fake())
    with FakeBotFramework() as bf, pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", bf.ca_file)
        settings_ = Settings(
            **{
                "RITME_DATABASE_URL": url,
                "RITME_SECRET_KEY": SECRET_KEY,
                "RITME_PLAYGROUND": True,
                "RITME_DEFAULT_LANGUAGE": "en",
                "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                **bf.env(),
            }
        )
        app = create_app(settings_, background=False)
        edge = Edge(loop=loop, app=app, port=loop.serve(app))
        # Something to point at: a ritual with an open round in the playground channel.
        for command in ("add reflection every monday at 09:00", "run #1"):
            body = json.dumps({"user": "anna", "text": command}).encode()
            assert edge.send("POST", "/playground/api/command", body, JSON_TYPE) == 200
        try:
            yield edge
        finally:
            loop.run(fake.__aexit__(None, None, None))
            loop.close()


# -- explicit cases ------------------------------------------------------------------------


def slack_form(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_submission(meta: object, values: object = None) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1", "team_id": "T1"},
        "view": {
            "type": "modal",
            "callback_id": "ritme_answer_modal",
            "private_metadata": json.dumps(meta),
            "state": {"values": values if values is not None else {}},
            "id": "V1",
            "hash": "h",
        },
    }


SLACK_CASES = [
    pytest.param(b"{not json", JSON_TYPE, id="json-malformed"),
    pytest.param(b"[1, 2]", JSON_TYPE, id="json-list"),
    pytest.param(b'"text"', JSON_TYPE, id="json-string"),
    pytest.param(b"payload=%7Bnot", FORM_TYPE, id="payload-malformed"),
    pytest.param(slack_form([1]), FORM_TYPE, id="payload-list"),
    pytest.param(b"\xff\xfe\x00", FORM_TYPE, id="not-utf8"),
    pytest.param(
        slack_form({"type": "block_actions", "team": 5, "user": "u", "actions": "x"}),
        FORM_TYPE,
        id="block-actions-wrong-types",
    ),
    pytest.param(
        slack_form({"type": "view_submission", "view": "x", "user": 1}), FORM_TYPE, id="view-submission-view-string"
    ),
    pytest.param(
        json.dumps({"type": "event_callback", "team_id": "T1", "event": [1]}).encode(), JSON_TYPE, id="event-list"
    ),
    pytest.param(slack_form(view_submission({"o": 10**30, "c": "C1"})), FORM_TYPE, id="view-submission-huge-id"),
    pytest.param(slack_form(view_submission({"o": "x"})), FORM_TYPE, id="view-submission-bad-metadata"),
    pytest.param(
        slack_form(
            {
                "type": "block_actions",
                "team": {"id": "T1"},
                "user": {"id": "U1"},
                "actions": [{"action_id": "ritme_scale_3", "value": "{not json"}],
            }
        ),
        FORM_TYPE,
        id="scale-value-malformed",
    ),
    pytest.param(b"payload=" + b"a" * (MIB + 1), FORM_TYPE, id="over-1MiB"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, JSON_TYPE, id="json-nested-too-deeply"),
    pytest.param(
        slack_form({"type": "view_submission", "user": {"id": "U1"}, "view": None}),
        FORM_TYPE,
        id="view-submission-view-null",
    ),
    pytest.param(slack_form(view_submission({"o": 1e999, "c": "C1"})), FORM_TYPE, id="view-submission-infinite-id"),
    pytest.param(
        slack_form(
            {
                "type": "block_actions",
                "team": {"id": "T1"},
                "user": {"id": "U1"},
                "actions": [{"action_id": "ritme_answer", "value": str(10**30)}],
            }
        ),
        FORM_TYPE,
        id="answer-button-huge-id",
    ),
    pytest.param(
        slack_form(
            {
                "type": "block_actions",
                "team": {"id": "T1"},
                "user": {"id": "U1"},
                "actions": [{"action_id": "ritme_scale_3", "value": json.dumps({"o": -(10**30), "k": "x", "v": 3})}],
            }
        ),
        FORM_TYPE,
        id="scale-value-huge-id",
    ),
]


@pytest.mark.parametrize(("body", "headers"), SLACK_CASES)
def test_slack_events_refuse_bad_bodies(edge: Edge, body: bytes, headers: dict[str, str]) -> None:
    edge.refused_unchanged(lambda: edge.slack(body, headers))


def test_slack_events_unsigned_or_stale_get_401(edge: Edge) -> None:
    body = slack_form({"type": "block_actions"})
    stale = sign(body, int(time.time()) - 600)
    odd_time = {**sign(body), "X-Slack-Request-Timestamp": "soon"}
    assert edge.refused_unchanged(lambda: edge.send("POST", "/slack/events", body, FORM_TYPE)) == 401
    assert edge.refused_unchanged(lambda: edge.send("POST", "/slack/events", body, {**FORM_TYPE, **stale})) == 401
    assert edge.refused_unchanged(lambda: edge.send("POST", "/slack/events", body, {**FORM_TYPE, **odd_time})) == 401


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(b"{not json either", JSON_TYPE, id="json-malformed"),
        pytest.param(b"[3, 4]", JSON_TYPE, id="json-list"),
    ],
)
def test_slack_events_check_the_signature_before_the_body(edge: Edge, body: bytes, headers: dict[str, str]) -> None:
    """Unsigned: 401, whatever the body. Signed: a short plain 400 that says why. (Bodies of
    their own: the same body signed in the same second as in ``SLACK_CASES`` is a replay, 401.)"""
    assert edge.refused_unchanged(lambda: edge.send("POST", "/slack/events", body, headers)) == 401
    status, answer = edge.exchange("POST", "/slack/events", body, {**headers, **sign(body)})
    assert status == 400
    assert 0 < len(answer) < 100 and b"Traceback" not in answer


def test_slack_ssl_check_is_answered_unsigned(edge: Edge) -> None:
    """Slack probes a slash command's URL without a signature; bolt answers it."""
    assert edge.refused_unchanged(lambda: edge.send("POST", "/slack/events", b"ssl_check=1&token=x", FORM_TYPE)) == 200


TEAMS_CASES = [
    pytest.param(b"{not json", JSON_TYPE, id="json-malformed"),
    pytest.param(b"[]", JSON_TYPE, id="json-list"),
    pytest.param(json.dumps({"type": 5, "from": "x", "conversation": []}).encode(), JSON_TYPE, id="wrong-types"),
    pytest.param(json.dumps({"type": "message", "text": "help"}).encode(), JSON_TYPE, id="no-token"),
    pytest.param(json.dumps({"type": "message"}).encode(), FORM_TYPE, id="form-type"),
    pytest.param(b"[" + b"1," * (MIB // 2) + b"1]", JSON_TYPE, id="over-1MiB"),
]


@pytest.mark.parametrize(("body", "headers"), TEAMS_CASES)
def test_teams_messages_refuse_bad_bodies(edge: Edge, body: bytes, headers: dict[str, str]) -> None:
    status = edge.refused_unchanged(lambda: edge.send("POST", "/api/messages", body, headers))
    assert 400 <= status < 500


PLAYGROUND_CASES = [
    pytest.param("command", b"{not json", id="command-json-malformed"),
    pytest.param("command", b"[]", id="command-json-list"),
    pytest.param("command", json.dumps({"user": "anna", "text": 5}).encode(), id="command-text-number"),
    pytest.param("command", json.dumps({"user": ["anna"], "text": "help"}).encode(), id="command-user-list"),
    pytest.param("command", json.dumps({"user": "anna", "text": "x" * 5000}).encode(), id="command-text-long"),
    pytest.param(
        "command",
        json.dumps({"user": "anna", "text": "holiday import", "files": "x"}).encode(),
        id="command-files-string",
    ),
    pytest.param(
        "command",
        json.dumps(
            {"user": "anna", "text": "holiday import", "files": [{"name": "a.ics", "content_base64": "!!"}]}
        ).encode(),
        id="command-files-not-base64",
    ),
    pytest.param("command", b'{"user": "anna", "text": "' + b"a" * MIB + b'"}', id="command-over-1MiB"),
    pytest.param(
        "answer", json.dumps({"user": "anna", "occurrence_id": "1", "values": {}}).encode(), id="answer-id-string"
    ),
    pytest.param(
        "answer", json.dumps({"user": "anna", "occurrence_id": True, "values": {}}).encode(), id="answer-id-bool"
    ),
    pytest.param(
        "answer", json.dumps({"user": "anna", "occurrence_id": 1, "values": []}).encode(), id="answer-values-list"
    ),
    pytest.param(
        "answer", json.dumps({"user": "anna", "occurrence_id": 10**30, "values": {}}).encode(), id="answer-id-huge"
    ),
    pytest.param(
        "answer",
        json.dumps({"user": "anna", "occurrence_id": 2**63, "values": {}}).encode(),
        id="answer-id-just-beyond-int64",
    ),
    pytest.param(
        "answer",
        json.dumps({"user": "anna", "occurrence_id": -(2**63) - 1, "values": {}}).encode(),
        id="answer-id-just-below-int64",
    ),
    pytest.param("command", b"[" * 100_000 + b"]" * 100_000, id="command-json-nested-too-deeply"),
]


@pytest.mark.parametrize(("path", "body"), PLAYGROUND_CASES)
def test_playground_refuses_bad_bodies(edge: Edge, path: str, body: bytes) -> None:
    status = edge.refused_unchanged(lambda: edge.send("POST", f"/playground/api/{path}", body, JSON_TYPE))
    assert 400 <= status < 500


def test_playground_answer_takes_the_largest_id_as_an_unknown_question(edge: Edge) -> None:
    body = json.dumps({"user": "anna", "occurrence_id": 2**63 - 1, "values": {"answer": "x"}}).encode()
    status, answer = edge.exchange("POST", "/playground/api/answer", body, JSON_TYPE)
    assert status == 200 and json.loads(answer)["ok"] is False


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        pytest.param("/slack/events", FORM_TYPE, id="slack"),
        pytest.param("/api/messages", JSON_TYPE, id="teams"),
        pytest.param("/playground/api/command", JSON_TYPE, id="playground"),
    ],
)
def test_bodies_over_1MiB_get_413_everywhere(edge: Edge, path: str, headers: dict[str, str]) -> None:
    body = b"[" + b"1," * (MIB // 2) + b"1]"
    signed = {**headers, **sign(body)} if path == "/slack/events" else headers
    assert edge.refused_unchanged(lambda: edge.send("POST", path, body, signed)) == 413


def test_playground_state_refuses_an_unknown_persona(edge: Edge) -> None:
    assert edge.refused_unchanged(lambda: edge.send("GET", "/playground/api/state?user=%00")) == 400


def test_health_takes_get_only(edge: Edge) -> None:
    assert edge.send("GET", "/healthz?x=%00") == 200
    assert edge.refused_unchanged(lambda: edge.send("POST", "/healthz", b"{}", JSON_TYPE)) == 405


# -- properties over the edges ------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
PLAYGROUND_KEYS = ("user", "text", "files", "occurrence_id", "values")
playground_bodies = st.dictionaries(st.sampled_from(PLAYGROUND_KEYS), json_values, max_size=5) | json_values
EDGE_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@EDGE_SETTINGS
@given(path=st.sampled_from(["command", "answer"]), body=playground_bodies)
def test_playground_any_json(edge: Edge, path: str, body: object) -> None:
    """Any JSON (integers beyond the database's range too) is a 4xx or a 200."""
    edge.refused_unchanged(lambda: edge.send("POST", f"/playground/api/{path}", json.dumps(body).encode(), JSON_TYPE))


@EDGE_SETTINGS
@given(
    body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
)
def test_teams_any_body_without_a_token(edge: Edge, body: bytes, content_type: str) -> None:
    status = edge.refused_unchanged(lambda: edge.send("POST", "/api/messages", body, {"Content-Type": content_type}))
    assert 400 <= status < 500


@EDGE_SETTINGS
@given(token=st.text(max_size=300), csv=st.booleans())
def test_review_any_token_is_refused(edge: Edge, token: str, csv: bool) -> None:
    path = "/review/" + quote(token, safe="") + ("/export.csv" if csv else "")
    status = edge.refused_unchanged(lambda: edge.send("GET", path))
    assert status in (403, 404)


CALENDAR_LINES = sorted(
    {
        line
        for path in (Path(__file__).parent / "fakes" / "ics").rglob("*.ics")
        for line in path.read_bytes().replace(b"\r\n", b"\n").split(b"\n")
        if line and not line.startswith(b" ") and len(line) < 120
    }
)
calendar_files = st.binary(max_size=600) | st.lists(st.sampled_from(CALENDAR_LINES), max_size=24).map(
    lambda lines: b"\r\n".join([b"BEGIN:VCALENDAR", b"BEGIN:VEVENT", *lines, b"END:VEVENT", b"END:VCALENDAR"])
)


@EDGE_SETTINGS
@given(content=calendar_files)
def test_playground_any_calendar_file(edge: Edge, content: bytes) -> None:
    """Any bytes sent with ``holiday import`` get an answer: what was imported, or what is
    wrong with the file (named); never a server error, and a refused file stores nothing."""
    listing = json.dumps({"user": "anna", "text": "holiday list"}).encode()
    before = edge.exchange("POST", "/playground/api/command", listing, JSON_TYPE)[1]
    files = [{"name": "rooster.ics", "content_base64": base64.b64encode(content).decode()}]
    body = json.dumps({"user": "anna", "text": "holiday import", "files": files}).encode()
    status, answer = edge.exchange("POST", "/playground/api/command", body, JSON_TYPE)
    assert status == 200, answer
    reply = json.loads(answer)["reply"]
    if reply["title"] != "Holidays imported":
        assert reply["title"] == "That did not work" and reply["text"].startswith("rooster.ics: "), reply
        assert edge.exchange("POST", "/playground/api/command", listing, JSON_TYPE)[1] == before


digits = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=12)  # ١ ² ７ and the ASCII ones
teams = st.one_of(st.just("1"), digits, st.text(max_size=20))  # the playground's team is 1
expiries = st.one_of(st.from_regex(r"[1-9][0-9]{9}", fullmatch=True), digits, st.text(max_size=20))
signatures = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{43}", fullmatch=True), st.text(max_size=60))
tokens = st.one_of(
    st.tuples(teams, expiries, signatures).map(".".join),
    st.lists(st.one_of(teams, expiries, signatures, st.sampled_from(["", "..", "\x00"])), max_size=5).map(".".join),
)


@settings(EDGE_SETTINGS, max_examples=300)
@given(token=tokens, csv=st.booleans())
def test_review_any_token_shaped_like_ours_is_refused(edge: Edge, token: str, csv: bool) -> None:
    """TEAM.EXPIRY.SIGNATURE with any digits (Arabic-Indic, superscript), text and lengths in each
    part, for a team that exists: a 4xx, never a 500."""
    path = "/review/" + quote(token, safe=".") + ("/export.csv" if csv else "")
    status = edge.refused_unchanged(lambda: edge.send("GET", path))
    assert 400 <= status < 500


slack_bodies = st.one_of(
    json_values.map(lambda v: (json.dumps(v).encode(), JSON_TYPE)),
    json_values.map(lambda v: (slack_form(v), FORM_TYPE)),
    st.dictionaries(
        st.sampled_from(["type", "team", "user", "actions", "view", "event", "channel", "token"]),
        json_values,
        max_size=6,
    ).map(lambda v: (slack_form(v), FORM_TYPE)),
)


@EDGE_SETTINGS
@given(case=slack_bodies)
def test_slack_any_signed_body(edge: Edge, case: tuple[bytes, dict[str, str]]) -> None:
    body, headers = case
    edge.refused_unchanged(lambda: edge.slack(body, headers))


@EDGE_SETTINGS
@given(
    fields=st.dictionaries(
        st.sampled_from(
            ["command", "text", "team_id", "channel_id", "user_id", "user_name", "response_url", "trigger_id"]
        ),
        st.text(max_size=30),
        max_size=8,
    )
)
def test_slack_any_signed_slash_command_form(edge: Edge, fields: dict[str, str]) -> None:
    """Slash commands arrive as string fields; any mix of them is answered, never a 500."""
    fields = {k: v for k, v in fields.items() if k != "response_url"}  # no posting to made-up URLs
    edge.refused_unchanged(lambda: edge.slack(urlencode(fields).encode(), FORM_TYPE))


# -- PostgreSQL is stricter than SQLite about text ------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "command",
    [
        pytest.param("goal set a\x00b", id="goal"),
        pytest.param("question add what\x00?", id="question"),
        pytest.param("add reflection every monday at 09:00\x00", id="schedule"),
    ],
)
async def test_nul_characters_on_postgresql(fresh_postgres_url: str, command: str) -> None:
    await asyncio.to_thread(upgrade, fresh_postgres_url)
    app = create_app(Settings(RITME_DATABASE_URL=fresh_postgres_url, RITME_DEFAULT_LANGUAGE="en"), background=False)
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/playground/api/command", json={"user": "anna", "text": command})
        assert response.status == 200
        assert (await response.json())["reply"]["title"] != "That did not work"


@pytest.mark.postgres
async def test_nul_characters_in_a_written_answer_on_postgresql(fresh_postgres_url: str) -> None:
    """A written answer loses its control characters (tab and newline stay); one of control
    characters only is no answer."""
    await asyncio.to_thread(upgrade, fresh_postgres_url)
    async with open_playground(fresh_postgres_url, Clock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))) as pg:
        await pg.command("anna", "add reflection every monday at 09:00 team")
        await pg.command("anna", "run #1")
        (prompt,) = await pg.prompts()
        empty = await pg.answer("chris", prompt["occurrence_id"], {"answer": "\x00\x01 "})
        assert empty["ok"] is False and "Please answer" in empty["message"]
        saved = await pg.answer("chris", prompt["occurrence_id"], {"answer": "Pair\x00 reading\n\tworks\x1b"})
        assert saved["ok"] is True, saved
        async with pg.app[REPO].session() as s:
            assert (await s.scalars(select(Reply.values))).all() == [{"answer": "Pair reading\n\tworks"}]


# -- the parsers: what tests/rituals/test_schedule.py and tests/bot/test_commands.py lack ----

CRON_TOKENS = [
    "*",
    "*/5",
    "0",
    "9",
    "59",
    "60",
    "1-5",
    "5-1",
    "0-7",
    "mon",
    "fri",
    "sun-sat",
    "jan",
    "dec",
    "L",
    "W",
    "15W",
    "1#2",
    "?",
    ",",
    "1,15",
    "2/3",
    "-1",
    "99999999999",
    "٣",
    "",
]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(CRON_TOKENS), min_size=0, max_size=7).map(" ".join), st.sampled_from(['"', "'", ""]))
def test_any_cron_field_soup_gives_a_schedule_or_a_schedule_error(fields: str, quote_mark: str) -> None:
    try:
        schedule = parse_schedule(f"cron {quote_mark}{fields}{quote_mark}")
    except ScheduleError:
        return
    assert isinstance(schedule, Schedule)
    assert parse_schedule(schedule.spec) == schedule


SPECS = [
    "every monday at 09:00",
    "every weekday at 16:30",
    "every 2 weeks on friday at 15:00",
    "every month on the first tuesday at 09:00",
    "every month on the last friday at 23:59",
    'cron "0 9 * * 1"',
    'cron "30 2 * * *"',
    "elke werkdag om 16:30",
]
ZONES = ["Europe/Amsterdam", "UTC", "Pacific/Apia", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.sampled_from(SPECS),
    st.sampled_from(ZONES),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)),
    st.dates(min_value=date(1, 1, 8), max_value=date(9999, 12, 24)),
)
def test_next_after_at_the_ends_of_time_is_a_later_time_or_none(
    spec: str, zone: str, after: datetime, anchor: date
) -> None:
    """Far past, far future and far anchors: a later moment or None, never an exception."""
    schedule = parse_schedule(spec, anchor=anchor)
    following = schedule.next_after(after, ZoneInfo(zone))
    assert following is None or following > after


ID_WORDS = ["1", "#1", "#0", "007", "#123456789", "1234567890", "#-1", "#", "١٢", "1.5"]
PERIOD_WORDS = [
    "2026-12-21..2027-01-01",
    "21-12-2026",
    "2027-01-01..2026-12-21",
    "2026-02-30",
    "0000-01-01",
    "2026-1-1..2026-1-1",
    "9999-12-31",
    "2026-12-21 .. 2027-01-01",
]
OTHER_WORDS = [
    "set",
    "zet",
    "add",
    "voeg-toe",
    "remove",
    "list",
    "start",
    "close",
    "stop",
    "skip",
    "on",
    "off",
    "admin",
    "leider",
    "@anna",
    "<@U123|anna>",
    "open",
    "2d",
    "3d",
    "Europe/Amsterdam",
    "nl",
    "en",
    "NL",
    "none",
    '"quoted text"',
    "'",
    '"',
    "every",
    "monday",
    "at",
    "09:00",
    "elke",
    "om",
    "\x00",
    "",
]
command_soup = st.lists(
    st.sampled_from(sorted(VERBS))
    | st.sampled_from(sorted(KIND_WORDS))
    | st.sampled_from(ID_WORDS)
    | st.sampled_from(PERIOD_WORDS)
    | st.sampled_from(OTHER_WORDS)
    | st.text(string.printable, max_size=8),
    min_size=1,
    max_size=8,
).map(" ".join)


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(st.sampled_from(["", "/ritme ", "/RITME "]), command_soup)
def test_command_soup_parses_to_well_typed_arguments_or_a_clear_error(prefix: str, text: str) -> None:
    """Words of the grammar in any order: a Command whose ids and periods are sane, or a
    CommandError with a reason; never another exception."""
    try:
        command = parse(prefix + text)
    except CommandError as err:
        assert err.msgid and isinstance(err.example, str)
        return
    assert isinstance(command, Command) and command.name
    args = command.args
    if "id" in args:
        assert isinstance(args["id"], int) and 0 <= args["id"] < 10**9
    if "start" in args or "end" in args:
        assert isinstance(args["start"], date) and isinstance(args["end"], date)
        assert args["start"] <= args["end"]


def test_slack_bytes_that_are_not_utf8_carry_no_valid_signature(edge: Edge) -> None:
    """Slack signs UTF-8 text: other bytes are refused as unsigned, signed or not."""
    body = b"\xff\xfe\x00"
    assert edge.refused_unchanged(lambda: edge.send("POST", "/slack/events", body, {**FORM_TYPE, **sign(body)})) == 401
