"""The one aiohttp server: health, the playground, and room for the platform endpoints.

``create_app`` wires the parts (the composition root); ``lifecycle`` starts the engine's
tick and dispatcher and stops them in order on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from adapters.playground.doors import Doors, door_keeper
from adapters.playground.platform import CHANNEL, PERSONAS, PLATFORM, WORKSPACE, PlaygroundPlatform
from adapters.playground.web import routes as playground_routes
from bot.about import about_routes
from bot.commands.grammar import parse
from bot.commands.registry import CommandError, may_run
from bot.config import Settings
from bot.links import load_secret
from bot.logs import platform_of
from bot.metrics import METRICS, Metrics, metrics_routes
from bot.readiness import DRAINING, readiness_routes
from bot.review_web import retention_job, setup_review
from bot.service import Ritme
from rituals.engine import Engine, EngineSettings, utcnow
from rituals.logcontext import enter, leave
from rituals.ports import NO_TELEMETRY, Platform
from rituals.types import Actor, ChannelRef
from storage.answers.seal import Sealer
from storage.db import create_engine, head_revisions, ping
from storage.repo import Repo

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
REPO = web.AppKey("repo", Repo)
ENGINE = web.AppKey("engine", Engine)
RITME = web.AppKey("ritme", Ritme)

MAX_BODY = 1024 * 1024  # 1 MiB: larger requests get 413

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@web.middleware
async def guard(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """No stack trace reaches a user; pages get strict security headers; log lines written
    while a platform's request is handled name the platform (one middleware for the three:
    each one more is a share of a short request)."""
    platform = platform_of(request.path)
    about = enter(platform) if platform else None
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "internal error; the details are in the server log"}, status=500)
    finally:
        if about is not None:
            leave(about)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


class RepoFeed:
    """The playground's feed, kept in the database so it survives a restart."""

    def __init__(self, repo: Repo, clock: Callable[[], datetime]) -> None:
        self.repo, self.clock = repo, clock

    async def post(self, channel_id: str, user_id: str | None, payload: dict[str, Any]) -> int:
        return await self.repo.post_channel_message(channel_id, user_id, payload, self.clock())

    async def update(self, message_id: int, payload: dict[str, Any]) -> None:
        await self.repo.update_channel_message(message_id, payload, self.clock())

    async def messages(
        self, channel_id: str, user_id: str | None
    ) -> list[tuple[int, str | None, dict[str, Any], datetime]]:
        return await self.repo.channel_messages(channel_id, user_id)


def create_app(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow, background: bool = True
) -> web.Application:
    """Wire configuration, storage, engine, service and adapters into one aiohttp app."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[guard])
    # One secret signs review links and seals anonymous answers (each with keys of its own).
    secret = load_secret(settings.secret_key, settings.database_url)
    repo = Repo(create_engine(settings.database_url), Sealer(secret))
    platforms: dict[str, Platform] = {}
    replica = settings.replica or f"{socket.gethostname()}:{os.getpid()}"
    metrics = Metrics(clock) if settings.metrics else None
    if metrics is not None:
        metrics.watch(repo.engine)
        app[METRICS] = metrics
    engine = Engine(
        repo,
        platforms,
        settings=EngineSettings(
            replica=replica, lease_seconds=settings.lease_seconds, language=settings.default_language
        ),
        clock=clock,
        telemetry=metrics or NO_TELEMETRY,
    )
    ritme = Ritme(
        repo,
        engine,
        default_timezone=settings.default_timezone,
        default_language=settings.default_language,
        clock=clock,
    )
    app[SETTINGS], app[REPO], app[ENGINE], app[RITME] = settings, repo, engine, ritme

    async def healthz(request: web.Request) -> web.Response:
        if await ping(repo.engine):
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "unavailable", "reason": "database"}, status=503)

    app.router.add_get("/healthz", healthz)
    app[DRAINING] = asyncio.Event()
    app.router.add_routes(readiness_routes(repo.engine, head_revisions(), app[DRAINING]))
    if metrics is not None:
        app.router.add_routes(metrics_routes(metrics, repo.engine))
    app.router.add_routes(about_routes(settings))

    if settings.playground_enabled:
        _setup_playground(app, settings, repo, ritme, platforms, clock)

    # -- review pages: signed links only --
    setup_review(app, settings, secret, repo, ritme, clock)
    # Platform adapters: each adds its routes, its Platform and its lifecycle here.
    # -- slack --
    if settings.slack_enabled:
        _setup_slack(app, settings, repo, ritme, platforms)
    # -- teams --
    if settings.teams_enabled:
        from bot.teams_support import setup_teams

        setup_teams(app, settings, repo, ritme, engine, platforms, clock)
    if metrics is not None:
        metrics.expect(platforms)

    app.cleanup_ctx.insert(0, _dispose)  # the last one out: platforms may still answer before
    if background:
        app.cleanup_ctx.append(_background)
    return app


def _setup_playground(
    app: web.Application,
    settings: Settings,
    repo: Repo,
    ritme: Ritme,
    platforms: dict[str, Platform],
    clock: Callable[[], datetime],
) -> None:
    """The playground: its page and API, its Platform (a feed kept in the database), its doors."""
    feed = RepoFeed(repo, clock)
    platforms[PLATFORM] = PlaygroundPlatform(feed)

    async def team_info() -> tuple[str, str, str]:
        team = await ritme.team_for(
            ChannelRef(platform=PLATFORM, workspace_id=WORKSPACE, channel_id=CHANNEL), "Playground"
        )
        return team.name, team.language, team.timezone

    async def allowed(actor: Actor, texts: list[str]) -> list[bool]:
        """Which of these commands ``actor`` may run in the playground's team (the chips it is shown)."""
        team = await ritme.team_for(
            ChannelRef(platform=PLATFORM, workspace_id=WORKSPACE, channel_id=CHANNEL), "Playground"
        )
        # Read only: a poll never makes a member again of someone who has just been forgotten.
        member_id = await repo.find_member(platform=PLATFORM, workspace_id=WORKSPACE, user_id=actor.user_id)
        role = "member" if member_id is None else await ritme.role_of(actor, team, member_id)
        return [_runs(role, text) for text in texts]

    added = app.router.add_routes(playground_routes(ritme, feed, team_info, allowed))
    # Its own routes answer this machine's browser only (or the hosts remote access was allowed for).
    doors = Doors.for_settings(
        allow_remote=settings.playground_allow_remote, host=settings.host, public_url=settings.public_url
    )
    app.middlewares.append(door_keeper(doors, [route.resource for route in added if route.resource is not None]))
    app.cleanup_ctx.append(_seed_playground)


def _runs(role: str, text: str) -> bool:
    """Whether someone with ``role`` may run the command ``text``; False when it is none."""
    try:
        return may_run(role, parse(text).name)
    except CommandError:
        return False


def _setup_slack(
    app: web.Application, settings: Settings, repo: Repo, ritme: Ritme, platforms: dict[str, Platform]
) -> None:
    """Slack: its routes, its Platform and its lifecycle (Socket Mode, draining on shutdown)."""
    from adapters.slack.app import SLACK_ADAPTER, SlackAdapter
    from adapters.slack.config import SlackConfig
    from bot.slack_support import SlackSupport
    from storage.slack_store import SlackInstallationStore, SlackOAuthStateStore

    assert settings.secret_key  # validated: required when a platform is configured
    slack = SlackAdapter(
        SlackConfig(
            bot_token=settings.slack_bot_token,
            signing_secret=settings.slack_signing_secret or "",
            api_url=settings.slack_api_url,
            base_url=settings.base_url,
            app_token=settings.slack_app_token,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
        ),
        SlackSupport(ritme, repo),
        installations=SlackInstallationStore(repo, settings.secret_key),
        state_store=SlackOAuthStateStore(repo),
    )
    platforms[slack.platform.name] = slack.platform
    app[SLACK_ADAPTER] = slack
    app.router.add_routes(slack.routes())
    app.cleanup_ctx.append(lambda _app: slack.lifecycle())
    app.on_shutdown.append(lambda _app: slack.drain(within=10))


async def _seed_playground(app: web.Application) -> AsyncIterator[None]:
    """The playground channel with its personas: Anna is admin, Bram leader."""
    ritme, repo = app[RITME], app[REPO]
    team = await ritme.team_for(ChannelRef(platform=PLATFORM, workspace_id=WORKSPACE, channel_id=CHANNEL), "Playground")
    for persona in PERSONAS:
        member = await repo.ensure_member(
            platform=PLATFORM,
            workspace_id=WORKSPACE,
            user_id=persona.id,
            display_name=persona.name,
            now=ritme.clock(),
            team_id=team.id,
        )
        if persona.role != "member":
            await repo.grant(team.id, member, persona.role, ritme.clock())
    yield


async def _dispose(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[ENGINE].drain_answers(within=10)  # what was received is stored, then the database closes
    await app[REPO].dispose()


class _Jobs:
    """Scheduled jobs under way, so that a graceful stop can wait for them."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[Any]] = set()

    def tracked(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        @functools.wraps(job)
        async def run() -> None:
            current = asyncio.current_task()
            if current is not None:
                self.running.add(current)
            try:
                await job()
            finally:
                if current is not None:
                    self.running.discard(current)

        return run


async def tick_once(app: web.Application) -> None:
    """One tick of the engine, as the scheduler runs it: a failure is logged (the next tick
    tries again), its duration measured when metrics are on."""
    metrics = app.get(METRICS)
    started, failed = time.perf_counter(), False
    try:
        await app[ENGINE].tick()
    except Exception:
        failed = True
        log.exception("tick failed; trying again at the next tick")
    if metrics is not None:
        metrics.ticked(time.perf_counter() - started, failed=failed)


def _scheduler(app: web.Application, jobs: _Jobs) -> AsyncIOScheduler:
    """APScheduler with the engine's tick and the nightly retention clean-up."""
    engine, settings = app[ENGINE], app[SETTINGS]

    @jobs.tracked
    async def tick() -> None:
        await tick_once(app)

    scheduler = AsyncIOScheduler()
    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=settings.tick_seconds),
        id="tick",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        jobs.tracked(retention_job(app[REPO], engine.clock)),
        "cron",
        hour=3,
        minute=30,
        timezone="UTC",
        id="retention",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    return scheduler


async def _dispatcher(engine: Engine, stopping: asyncio.Event) -> None:
    """The outbox dispatcher until ``stopping``; started again after a failure."""
    while not stopping.is_set():
        try:
            await engine.run_dispatcher(stopping)
        except Exception:
            log.exception("the dispatcher failed; starting it again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=1.0)


async def _background(app: web.Application) -> AsyncIterator[None]:
    """The engine's tick (APScheduler) and the outbox dispatcher, stopped gracefully as soon as
    the replica drains (SIGTERM, ``bot.readiness``), or at the latest when the app stops."""
    engine, settings = app[ENGINE], app[SETTINGS]
    stopping = asyncio.Event()
    jobs = _Jobs()
    scheduler = _scheduler(app, jobs)
    scheduler.start()
    task = asyncio.create_task(_dispatcher(engine, stopping), name="ritme-dispatcher")
    log.info("engine started (tick every %.0fs, replica %s)", settings.tick_seconds, engine.settings.replica)

    async def stop_when_draining() -> None:
        await app[DRAINING].wait()
        await _stop_engine(scheduler, stopping, {task, *jobs.running})

    stopper = asyncio.create_task(stop_when_draining(), name="ritme-engine-stop")
    yield
    app[DRAINING].set()  # stopped without draining first (Ctrl-C, tests): stop the engine now
    await stopper


async def _stop_engine(scheduler: AsyncIOScheduler, stopping: asyncio.Event, running: set[asyncio.Task[Any]]) -> None:
    """Graceful stop: take no new work, finish what was taken, before the database engine is
    disposed. No new jobs; a tick (or clean-up) under way finishes and commits; the
    dispatcher claims nothing more, finishes its sends under way and gives back what it had
    not started. Left after 20 s: cancelled, their lease runs out and another replica sends
    them. While the replica drains, its HTTP side still answers: answers are stored, and
    what commands queue is sent by another replica (or this one after its restart)."""
    scheduler.pause()  # not shutdown yet: APScheduler's shutdown cancels the jobs under way
    stopping.set()
    log.info("engine stopping: finishing the jobs under way and the claimed messages")
    _done, late = await asyncio.wait(running, timeout=20)
    for unfinished in late:
        log.warning("engine stop: %s did not finish in time; cancelled", unfinished.get_name())
        unfinished.cancel()
    if late:
        await asyncio.wait(late, timeout=5)
    scheduler.shutdown(wait=False)
    log.info("engine stopped")
