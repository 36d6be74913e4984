"""``GET /metrics``: off unless RITME_METRICS=true; after a real round (the playground) and real
sends (the fake Slack Web API), the names, labels and values say what happened, and nothing in
the text names a team, a person or an answer.

The text format is Prometheus' (https://prometheus.io/docs/instrumenting/exposition_formats/),
read back with prometheus_client's own parser.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from adapters.playground.platform import PERSONAS
from bot.config import Settings
from bot.server import REPO, create_app, tick_once
from storage.db import upgrade
from tests.adapters.slack.conftest import ADMIN, Harness, harness
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground

ANSWERS = ("Onze leesgroep liep vast op het rooster", "Dewi hielp mij met de ouderavond")
LABELS = {"platform", "outcome", "kind", "error", "le"}  # le: a histogram bucket's bound
PLATFORMS = {"playground", "slack", "teams"}


async def scrape(client: TestClient) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """The text of ``/metrics`` and its samples by (name, sorted labels)."""
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def assert_no_personal_data(text: str, secrets: tuple[str, ...]) -> None:
    """Only ritme_ names, known label names and values; no name, id or answer anywhere."""
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("ritme_"), family.name
        for sample in family.samples:
            assert set(sample.labels) <= LABELS, sample
            assert sample.labels.get("platform", "playground") in PLATFORMS, sample
    for secret in secrets:
        assert not re.search(rf"\b{re.escape(secret)}\b", text), secret


@asynccontextmanager
async def playground(tmp_path: Path, clock: Clock, **settings: Any) -> AsyncIterator[Playground]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    await asyncio.to_thread(upgrade, url)
    app = create_app(
        Settings(RITME_DATABASE_URL=url, RITME_DEFAULT_LANGUAGE="en", **settings), clock=clock, background=False
    )
    async with TestClient(TestServer(app)) as client:
        yield Playground(client, app)


async def test_metrics_are_off_unless_asked_for(tmp_path: Path, clock: Clock) -> None:
    async with playground(tmp_path, clock) as pg:
        assert (await pg.client.get("/metrics")).status == 404


async def test_a_round_in_the_playground_is_counted_without_personal_data(tmp_path: Path, clock: Clock) -> None:
    async with playground(tmp_path, clock, RITME_METRICS=True) as pg:
        _, before = await scrape(pg.client)
        assert value(before, "ritme_open_rounds") == 0
        assert value(before, "ritme_outbox_pending") == 0
        assert value(before, "ritme_outbox_oldest_pending_age_seconds") == 0
        assert value(before, "ritme_answers_total", outcome="stored") == 0
        assert value(before, "ritme_sends_total", platform="playground", outcome="429") == 0

        await pg.command("anna", "add reflection every monday at 09:00 team")
        await pg.command("anna", "run #1")
        clock.advance(seconds=90)
        _, waiting = await scrape(pg.client)
        assert value(waiting, "ritme_open_rounds") == 1
        assert value(waiting, "ritme_outbox_pending") == 1  # the prompt
        assert value(waiting, "ritme_outbox_oldest_pending_age_seconds") == 90
        assert value(waiting, "ritme_rituals_opened_total", kind="reflection") == 1

        (prompt,) = await pg.prompts()
        occurrence = prompt["occurrence_id"]
        assert (await pg.answer("chris", occurrence, {"answer": ANSWERS[0]}))["ok"]
        assert (await pg.answer("dewi", occurrence, {"answer": ANSWERS[1]}))["ok"]
        assert not (await pg.answer("bram", occurrence, {"answer": ""}))["ok"]  # refused: empty
        await pg.command("bram", "close #1")
        await pg.deliver()
        await tick_once(pg.app)

        text, after = await scrape(pg.client)
        assert value(after, "ritme_answers_total", outcome="stored") == 2
        assert value(after, "ritme_answers_total", outcome="refused") == 1
        assert value(after, "ritme_open_rounds") == 0
        assert value(after, "ritme_outbox_pending") == 0
        # The prompt, its closed version and the results.
        assert value(after, "ritme_sends_total", platform="playground", outcome="sent") == 3
        assert value(after, "ritme_sends_total", platform="playground", outcome="failed") == 0
        assert value(after, "ritme_tick_duration_seconds_count") == 1
        assert value(after, "ritme_tick_failures_total") == 0
        assert value(after, "ritme_process_resident_memory_bytes") > 0
        people = tuple(p.name for p in PERSONAS) + tuple(p.id for p in PERSONAS)
        # The team is called Playground (its channel id, "playground", is the platform's name).
        assert_no_personal_data(text, (*ANSWERS, *people, "Playground"))
        # The sample Grafana dashboard plots series that exist.
        dashboard = (Path(__file__).parents[2] / "deploy" / "grafana-dashboard.json").read_text()
        plotted = set(re.findall(r"\britme_[a-z_]+", dashboard))
        assert plotted and plotted <= {name for name, _labels in after}, plotted - {name for name, _ in after}


async def test_sends_by_outcome_through_the_fake_slack(tmp_path: Path) -> None:
    """429 (Slack asked to wait), retried (a transient error), failed (the channel is gone) and
    sent, each counted under the slack platform."""
    async with harness(tmp_path, SLACK_BOT_TOKEN="xoxb-test", RITME_METRICS="true") as slack:
        await slack.command("add reflection every monday at 09:00 team", user=ADMIN)
        # slack_sdk retries one 429 itself; the second reaches the outbox, which tries again.
        slack.fake.fail("chat.postMessage", "ratelimited", times=2, status=429, retry_after=0)
        await slack.command("run #1", user=ADMIN)
        await slack.dispatch()
        samples = await slack_samples(slack)
        assert value(samples, "ritme_sends_total", platform="slack", outcome="429") == 1
        assert value(samples, "ritme_sends_total", platform="slack", outcome="sent") == 1

        slack.fake.fail("chat.postMessage", "internal_error", times=1)
        await slack.command("add checkout every friday at 15:00 team", user=ADMIN)
        await slack.command("run #2", user=ADMIN)
        await slack.dispatch()
        slack.clock.advance(minutes=5)  # past the backoff
        await slack.dispatch()
        samples = await slack_samples(slack)
        assert value(samples, "ritme_sends_total", platform="slack", outcome="retried") == 1
        assert value(samples, "ritme_sends_total", platform="slack", outcome="sent") == 2

        slack.fake.fail("chat.postMessage", "channel_not_found", times=5)
        await slack.command("add pulse every friday at 15:00", user=ADMIN)
        await slack.command("run #3", user=ADMIN)
        await slack.dispatch()
        text, samples = await scrape(slack.client)
        assert value(samples, "ritme_sends_total", platform="slack", outcome="failed") == 1
        assert value(samples, "ritme_rituals_opened_total", kind="pulse") == 1
        assert_no_personal_data(text, (ADMIN, "T1", "C1", "team-a"))


async def slack_samples(slack: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return (await scrape(slack.client))[1]


async def test_database_errors_are_counted_by_class(tmp_path: Path, clock: Clock) -> None:
    """A database that stops answering: the scrape still answers, without the database's
    gauges, and counts the error by its class only."""
    async with playground(tmp_path, clock, RITME_METRICS=True) as pg:
        _, samples = await scrape(pg.client)
        assert not any(name == "ritme_database_errors_total" for name, _labels in samples)
        (tmp_path / "ritme.db").unlink()
        (tmp_path / "ritme.db").mkdir()  # the file is now a directory: SQLite cannot open it
        await pg.app[REPO].engine.dispose()  # no pooled connection to the old file
        text, samples = await scrape(pg.client)
        assert ("ritme_open_rounds", ()) not in samples
        errors = {
            dict(labels)["error"]: v for (name, labels), v in samples.items() if name == "ritme_database_errors_total"
        }
        assert errors == {"OperationalError": 1}, errors  # SQLite's "unable to open database file"
        assert str(tmp_path) not in text
