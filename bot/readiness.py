"""``GET /readyz``: whether this replica should get traffic, for a load balancer.

``/healthz`` says the process and its database answer (liveness); ``/readyz`` says more: the
database answers, its migrations are the ones this version ships with, and the replica is not
draining. Draining starts at SIGTERM (``bot.cli``): ``/readyz`` answers 503 from then on while
everything else is still served, so the load balancer stops sending before the replica stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import applied_revisions

log = logging.getLogger(__name__)

PATH = "/readyz"
DRAINING = web.AppKey("draining", asyncio.Event)


async def unready(engine: AsyncEngine, heads: frozenset[str], draining: asyncio.Event) -> str | None:
    """Why the replica should get no traffic now; None when it should."""
    if draining.is_set():
        return "draining"
    try:
        applied = await applied_revisions(engine)
    except Exception as err:  # any driver error: the database does not answer
        log.warning("readiness: the database does not answer (%s)", type(err).__name__)
        return "database"
    if applied != heads:
        return "migrations"
    return None


def readiness_routes(engine: AsyncEngine, heads: frozenset[str], draining: asyncio.Event) -> list[web.RouteDef]:
    """``GET /readyz``: 200 ``{"status": "ready"}``, or 503 with the reason (``draining``,
    ``database``, ``migrations``: run ``ritme db upgrade``)."""

    async def readyz(request: web.Request) -> web.Response:
        reason = await unready(engine, heads, draining)
        if reason is None:
            return web.json_response({"status": "ready"})
        return web.json_response({"status": "unavailable", "reason": reason}, status=503)

    return [web.get(PATH, readyz)]


SHUTDOWN_SECONDS = 25  # after draining: how long requests under way get to finish


async def serve(app: web.Application, *, host: str, port: int, drain_seconds: float, listening: str = "") -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then stop cleanly (aiohttp's shutdown: the app's
    cleanup contexts stop the engine, finish what was taken and close the database).

    SIGTERM (a service manager, a container runtime, a rolling restart) first drains: for
    ``drain_seconds`` everything is still served but ``/readyz`` answers 503, so the load
    balancer takes this replica out before it stops accepting connections. A second SIGTERM,
    or SIGINT (Ctrl-C at a terminal), stops at once. ``listening`` is logged once the
    server listens."""
    loop = asyncio.get_running_loop()
    terminate, interrupt = asyncio.Event(), asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, interrupt.set)
    loop.add_signal_handler(signal.SIGTERM, lambda: interrupt.set() if terminate.is_set() else terminate.set())
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        if listening:
            log.info(listening)
        await _first(terminate, interrupt)
        app[DRAINING].set()
        if terminate.is_set() and not interrupt.is_set() and drain_seconds > 0:
            log.info("SIGTERM: draining for %gs (/readyz answers 503), then stopping", drain_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(interrupt.wait(), timeout=drain_seconds)
        log.info("stopping")
    finally:
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _first(*events: asyncio.Event) -> None:
    """Until one of ``events`` is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
