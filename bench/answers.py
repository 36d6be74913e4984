"""Answers in: signed ``view_submission`` payloads (a member submits the answer form) at
rising concurrency against ``POST /slack/events``.

Ritme: a real ``ritme serve`` process (Slack configured, pointed at a fake Slack Web API in
its own process) with an open reflection round. Ritme stores the answer inside the ack, so
an acknowledged answer is a stored answer; every request comes from a member not seen
before (the heaviest path: member, team membership and reply are all new rows).

Baseline: a bare bolt ``AsyncApp`` (``process_before_response=True``) in its own process,
whose view listener only acks.

The load generator (this process) signs each request as Slack does and keeps a fixed
number of requests in flight for a few seconds per level (closed loop), the two servers
taking turns in rounds of a second that go through the levels over and over, so that a
drift in the machine's speed falls on both servers and on every level;
then it offers half of Ritme's peak rate at a steady pace (open loop) and reports the ack
latency there.
Figures: peak req/s against the baseline's, p99 at half the peak, and whether every
acknowledged answer was stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench import ROOT, Database, Figure, Timer, percentile, quiet_logs, wait_until

SECRET = "bench-answers-secret"
LEVELS = (1, 4, 16, 64, 128, 256)
SECONDS_PER_LEVEL = 6.0
ROUNDS = 6  # turns each server takes per level (rounds of a second: the machine's speed wanders)
HALF_PEAK_SECONDS = 4.0
CHANNEL = "C000000"


def sign(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def submission(occurrence_id: int, user: str, answer: str, kind: str = "reflection", channel: str = CHANNEL) -> bytes:
    """The form a member submits: a reflection's one question, or a pulse's statements (each
    scored) and its comment."""
    from urllib.parse import urlencode

    if kind == "pulse":
        from rituals.library import PULSE_STATEMENTS

        blocks = [
            {
                "type": "input",
                "block_id": f"in_{s.key}",
                "label": {"type": "plain_text", "text": "Q"},
                "element": {"type": "radio_buttons", "action_id": "value"},
            }
            for s in PULSE_STATEMENTS
        ]
        blocks.append(
            {
                "type": "input",
                "block_id": "in_comment",
                "label": {"type": "plain_text", "text": "C"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        )
        state = {
            f"in_{s.key}": {"value": {"type": "radio_buttons", "selected_option": {"value": str(1 + i % 5)}}}
            for i, s in enumerate(PULSE_STATEMENTS)
        }
        state["in_comment"] = {"value": {"type": "plain_text_input", "value": answer}}
    else:
        blocks = [
            {
                "type": "input",
                "block_id": "in_answer",
                "label": {"type": "plain_text", "text": "Q"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ]
        state = {"in_answer": {"value": {"type": "plain_text_input", "value": answer}}}
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "school"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "trig",
        "view": {
            "id": "V1",
            "hash": "h1",
            "type": "modal",
            "callback_id": "ritme_answer_modal",
            "private_metadata": json.dumps({"o": occurrence_id, "c": channel, "l": "en"}),
            "blocks": blocks,
            "state": {"values": state},
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@dataclass
class Run:
    """One load level: how many were acknowledged, how fast, and what came back."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    acked: int = 0  # 200 and the form closed
    refused: int = 0  # anything else
    users: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0

    def add(self, other: Run) -> None:
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.acked += other.acked
        self.refused += other.refused
        self.users += other.users


async def post(session: aiohttp.ClientSession, url: str, body: bytes, run: Run, user: str) -> None:
    started = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=sign(body)) as response:
            text = await response.text()
            ok = response.status == 200 and ('"update"' in text or '"clear"' in text or text == "")
    except (aiohttp.ClientError, TimeoutError):
        ok = False
    run.latencies.append(time.perf_counter() - started)
    if ok:
        run.acked += 1
        run.users.append(user)
    else:
        run.refused += 1


async def closed_loop(
    url: str, occurrence_id: int, concurrency: int, seconds: float, users: Any, kind: str = "reflection"
) -> Run:
    run = Run()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < deadline:
                user = next(users)
                await post(session, url, submission(occurrence_id, user, f"answer of {user}", kind), run, user)

        clock = Timer()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.seconds = clock.seconds
    return run


async def open_loop(
    url: str, occurrence_id: int, rate: float, seconds: float, users: Any, kind: str = "reflection"
) -> Run:
    """Requests started at a steady ``rate`` whatever the answers' speed."""
    run = Run()
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        tasks: list[asyncio.Task[None]] = []
        clock = Timer()
        count = int(rate * seconds)
        for i in range(count):
            delay = i / rate - clock.seconds
            if delay > 0:
                await asyncio.sleep(delay)
            user = next(users)
            body = submission(occurrence_id, user, f"answer of {user}", kind)
            tasks.append(asyncio.create_task(post(session, url, body, run, user)))
        await asyncio.gather(*tasks)
        run.seconds = clock.seconds
    return run


def start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=cwd)


def serve(url: str, port: int, slack_api_url: str, workdir: Path) -> subprocess.Popen[bytes]:
    """A real ``ritme serve`` for one Slack workspace on ``url``, its Web API at ``slack_api_url``;
    its log is ``workdir/ritme.log``."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft"))}
    env = {
        **keep,
        "RITME_DATABASE_URL": url,
        "RITME_PORT": str(port),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api_url,
        "RITME_SECRET_KEY": secrets.token_hex(32),
        "RITME_TICK_SECONDS": "1",
        "RITME_DEFAULT_LANGUAGE": "en",
    }
    return start([str(Path(sys.executable).with_name("ritme")), "serve"], env, workdir / "ritme.log", workdir)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def healthy(url: str, within: float = 60) -> bool:
    async def check() -> bool:
        try:
            async with aiohttp.ClientSession() as s, s.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                return r.status < 500
        except (aiohttp.ClientError, TimeoutError):
            return False

    return await wait_until(check, within=within, every=0.2)


async def measure(
    ritme_url: str, base_url: str, occurrence_id: int, seconds: float, kind: str = "reflection"
) -> tuple[dict[int, Run], dict[int, Run], Run, Run]:
    """Both servers at each level, taking turns in short rounds that go through all the
    levels, so that a change in the machine's speed during the run (other tenants,
    frequency) falls on both servers and on every level alike; then each at half Ritme's
    peak."""
    ritme_users = (f"U{n:07d}" for n in itertools.count())
    base_users = (f"B{n:07d}" for n in itertools.count())
    # Warm up (connections, caches, bolt's auth.test); Ritme's answers count as acknowledged too.
    warm = await closed_loop(ritme_url, occurrence_id, 4, 1.0, ritme_users, kind)
    await closed_loop(base_url, occurrence_id, 4, 1.0, base_users, kind)
    ritme: dict[int, Run] = {c: Run() for c in LEVELS}
    base: dict[int, Run] = {c: Run() for c in LEVELS}
    for _round in range(ROUNDS):  # every level in every round: a slow minute falls on all levels alike
        for c in LEVELS:
            ritme[c].add(await closed_loop(ritme_url, occurrence_id, c, seconds / ROUNDS, ritme_users, kind))
            base[c].add(await closed_loop(base_url, occurrence_id, c, seconds / ROUNDS, base_users, kind))
    half_rate = max(r.rate for r in ritme.values()) / 2
    half_seconds = HALF_PEAK_SECONDS * seconds / SECONDS_PER_LEVEL
    ritme_half = await open_loop(ritme_url, occurrence_id, half_rate, half_seconds, ritme_users, kind)
    base_half = await open_loop(base_url, occurrence_id, half_rate, half_seconds, base_users, kind)
    ritme_half.users += warm.users
    ritme_half.refused += warm.refused
    return ritme, base, ritme_half, base_half


async def run(db: Database, scale: float = 1.0, kind: str = "reflection") -> list[Figure]:
    """``kind``: ``reflection`` (named answers) or ``pulse`` (anonymous answers, sealed until
    the round closes: ``bench/anonymous_answers.py``)."""
    from sqlalchemy import func, select

    from storage.db import create_engine
    from storage.models import Occurrence, Reply, SealedAnswer
    from tests.fakes.bulk import seed_rituals, utc_now
    from tests.fakes.servers import free_port
    from tests.fakes.slack_server import SlackProcess

    url = await db.fresh("answers")
    seconds = max(1.0, SECONDS_PER_LEVEL * min(1.0, scale * 3))
    engine = create_engine(url)
    now = utc_now()
    await seed_rituals(engine, 1, now=now, kind=kind, due=lambda i, s, tz: now - timedelta(seconds=5))
    bench = "answers" if kind == "reflection" else "anonymous answers"
    workdir = db.tmp / f"answers-{kind}-{db.backend}"
    workdir.mkdir(exist_ok=True)
    ritme_port, base_port = free_port(), free_port()
    async with quiet_logs():
        with SlackProcess() as slack:
            keep = {k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft"))}
            base_env = {**keep, "SLACK_API_URL": slack.api_url}
            ritme = serve(url, ritme_port, slack.api_url, workdir)
            baseline = start(
                [sys.executable, "-m", "bench.answers", "serve-baseline", str(base_port)],
                base_env,
                workdir / "baseline.log",
                ROOT,
            )
            try:
                assert await healthy(f"http://127.0.0.1:{ritme_port}/healthz"), (workdir / "ritme.log").read_text()[
                    -2000:
                ]
                assert await healthy(f"http://127.0.0.1:{base_port}/ping"), (workdir / "baseline.log").read_text()[
                    -2000:
                ]

                async def prompted() -> bool:
                    return (await asyncio.to_thread(slack.stats))["methods"].get("chat.postMessage", 0) >= 1

                assert await wait_until(prompted, within=60, every=0.2), "the round's prompt never went out"
                async with engine.connect() as conn:
                    occurrence_id = int((await conn.execute(select(Occurrence.id))).scalar_one())
                ritme_levels, base_levels, ritme_half, base_half = await measure(
                    f"http://127.0.0.1:{ritme_port}/slack/events",
                    f"http://127.0.0.1:{base_port}/slack/events",
                    occurrence_id,
                    seconds,
                    kind,
                )
            finally:
                stop(ritme)
                stop(baseline)
            async with engine.connect() as conn:  # an anonymous round's answers are sealed while it is open
                stored = sum(
                    [
                        int(
                            (
                                await conn.execute(
                                    select(func.count()).select_from(table).where(table.occurrence_id == occurrence_id)
                                )
                            ).scalar_one()
                        )
                        for table in (Reply, SealedAnswer)
                    ]
                )
            acked_users = {u for r in [*ritme_levels.values(), ritme_half] for u in r.users}
    await engine.dispose()

    ritme_peak = max(r.rate for r in ritme_levels.values())
    base_peak = max(r.rate for r in base_levels.values())
    p99_half = percentile(ritme_half.latencies, 99) * 1000
    base_p99_half = percentile(base_half.latencies, 99) * 1000
    per_level = "; ".join(
        f"{c}: {ritme_levels[c].rate:,.0f} vs {base_levels[c].rate:,.0f} req/s, "
        f"p99 {percentile(ritme_levels[c].latencies, 99) * 1000:.0f} "
        f"vs {percentile(base_levels[c].latencies, 99) * 1000:.0f} ms"
        for c in LEVELS
    )
    refused = sum(r.refused for r in [*ritme_levels.values(), ritme_half])
    name = "bare bolt AsyncApp, process_before_response=True, ack only"
    return [
        Figure(
            bench=bench,
            what="signed answers acknowledged, peak over 1/4/16/64 in flight",
            unit="req/s",
            ritme=ritme_peak,
            baseline=base_peak,
            baseline_name=name,
            target=">= 0.7 of baseline",
            met=ritme_peak >= 0.7 * base_peak,
            notes=f"per level (ritme vs baseline): {per_level}",
        ),
        Figure(
            bench=bench,
            what=f"p99 ack latency at half Ritme's peak ({ritme_peak / 2:,.0f} req/s offered)",
            unit="ms",
            ritme=p99_half,
            baseline=base_p99_half,
            baseline_name=name,
            higher_is_better=False,
            target="< 100 ms",
            met=p99_half < 100,
            notes=f"p50 {percentile(ritme_half.latencies, 50) * 1000:.1f} ms (baseline "
            f"{percentile(base_half.latencies, 50) * 1000:.1f} ms); {ritme_half.acked} answers",
        ),
        Figure(
            bench=bench,
            what="acknowledged answers stored",
            unit="",
            ritme=stored,
            baseline=len(acked_users),
            baseline_name="acknowledged",
            target="all stored",
            met=stored == len(acked_users),
            notes=f"{refused} requests not acknowledged",
        ),
    ]


# -- the baseline server ------------------------------------------------------------------


def serve_baseline(port: int) -> None:
    """A bare bolt app that only acks, on 127.0.0.1:PORT (run as a child process)."""
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    api_url = os.environ["SLACK_API_URL"]
    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-test", base_url=api_url), signing_secret=SECRET, process_before_response=True
    )

    @app.view("ritme_answer_modal")
    async def on_submission(ack: Any) -> None:
        await ack(response_action="clear")

    web_app = app.web_app(path="/slack/events")

    async def ping(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app.router.add_get("/ping", ping)
    web.run_app(web_app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve-baseline"]:
        serve_baseline(int(sys.argv[2]))
