"""``GET /metrics``: what Ritme is doing, in the Prometheus text format (``RITME_METRICS=true``).

The one module that knows ``prometheus_client``. The engine reports through the neutral
``rituals.ports.Telemetry`` (``Metrics`` implements it); the scheduler's tick and the
database's errors are counted here, at the edge; the outbox and the open rounds are read from
the database at each scrape (``storage.vitals``), so every replica reports the same, whole
picture of them. Labels carry platform names, outcomes, ritual kinds and error classes only:
no team, person, id or answer text is ever a label or a value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from rituals.kinds import KINDS
from rituals.ports import SEND_OUTCOMES
from storage.vitals import Vitals, read_vitals

log = logging.getLogger(__name__)

PATH = "/metrics"
# Seconds a tick may take: most are a few milliseconds; a school board's Monday morning more.
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _DatabaseGauges(Collector):
    """The gauges read from the database for this scrape; none when it could not be read."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.vitals: Vitals | None = None

    def collect(self) -> Iterator[Metric]:
        vitals = self.vitals
        if vitals is None:
            return
        yield GaugeMetricFamily(
            "ritme_outbox_pending", "Messages waiting in the outbox (retries included).", value=vitals.outbox_pending
        )
        age = (self.clock() - vitals.oldest_pending).total_seconds() if vitals.oldest_pending else 0.0
        yield GaugeMetricFamily(
            "ritme_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting in the outbox (0 when none waits).",
            value=max(0.0, age),
        )
        yield GaugeMetricFamily("ritme_open_rounds", "Rounds of rituals open for answers.", value=vitals.open_rounds)


class Metrics:
    """This process's counters (a ``rituals.ports.Telemetry``) and the scrape's gauges, in a
    registry of their own."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry()
        self.sends = Counter(
            "ritme_sends",
            "Outbox messages sent through a platform, by outcome (429: the platform asked to wait).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.answers = Counter(
            "ritme_answers", "Answers received, by outcome (stored or refused).", ["outcome"], registry=self.registry
        )
        self.opened_rounds = Counter(
            "ritme_rituals_opened", "Rounds of rituals opened, by kind.", ["kind"], registry=self.registry
        )
        self.ticks = Histogram(
            "ritme_tick_duration_seconds",
            "Duration of the scheduler's ticks.",
            buckets=TICK_BUCKETS,
            registry=self.registry,
        )
        self.tick_failures = Counter("ritme_tick_failures", "Ticks that failed.", registry=self.registry)
        self.database_errors = Counter(
            "ritme_database_errors", "Database errors, by error class.", ["error"], registry=self.registry
        )
        self.database = _DatabaseGauges(clock)
        self.registry.register(self.database)
        ProcessCollector(namespace="ritme", registry=self.registry)
        # Every series a dashboard plots exists from the start, at 0.
        for outcome in ("stored", "refused"):
            self.answers.labels(outcome=outcome)
        for kind in KINDS:
            self.opened_rounds.labels(kind=kind)

    def expect(self, platforms: Iterable[str]) -> None:
        """The send series of these platforms exist from the start, at 0."""
        for platform in platforms:
            for outcome in SEND_OUTCOMES:
                self.sends.labels(platform=platform, outcome=outcome)

    # -- rituals.ports.Telemetry --

    def sent(self, platform: str, outcome: str) -> None:
        self.sends.labels(platform=platform, outcome=outcome).inc()

    def answered(self, stored: bool) -> None:
        self.answers.labels(outcome="stored" if stored else "refused").inc()

    def opened(self, kind: str) -> None:
        self.opened_rounds.labels(kind=kind).inc()

    # -- at the edge --

    def ticked(self, seconds: float, *, failed: bool) -> None:
        """A tick of the scheduler took ``seconds`` (failed: it raised)."""
        self.ticks.observe(seconds)
        if failed:
            self.tick_failures.inc()

    def watch(self, engine: AsyncEngine) -> None:
        """Count the errors of the database behind ``engine``: failed statements and failed
        connections. A unique key refusing a duplicate is how concurrent writers agree
        (``Repo`` catches it on purpose), not an error of the database: not counted."""

        def counted(context: ExceptionContext) -> None:
            if not isinstance(context.sqlalchemy_exception, IntegrityError):
                self.database_errors.labels(error=type(context.original_exception).__name__).inc()

        event.listen(engine.sync_engine, "handle_error", counted)

    async def exposition(self, engine: AsyncEngine) -> bytes:
        """The text format of everything, with the database's gauges read now."""
        try:
            self.database.vitals = await read_vitals(engine)
        except Exception as err:  # the scrape still shows the counters, and the error counted above
            log.warning("metrics: the database could not be read (%s)", type(err).__name__)
            self.database.vitals = None
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)


def metrics_routes(metrics: Metrics, engine: AsyncEngine) -> list[web.RouteDef]:
    """``GET /metrics`` in the Prometheus text format."""

    async def scrape(request: web.Request) -> web.Response:
        body = await metrics.exposition(engine)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get(PATH, scrape)]
