"""An aiohttp app served from a thread of its own, for plain (sync) tests such as hypothesis
properties that send many requests to one server.

``ThreadedLoop`` runs an event loop in a daemon thread; ``run(coro)`` runs a coroutine there
and returns its result. ``serve(app)`` serves an app on 127.0.0.1 and a free port.
``request()`` is a small blocking HTTP client that never raises on 4xx or 5xx.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


class ThreadedLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="threaded-loop", daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, app: web.Application) -> int:
        """Start the app (its startup and cleanup contexts too); returns the port."""

        async def start() -> int:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.runners.append(runner)
            server = site._server  # noqa: SLF001 - the port chosen by the OS
            assert server is not None and server.sockets
            return int(server.sockets[0].getsockname()[1])

        return self.run(start())

    def close(self) -> None:
        async def stop() -> None:
            for runner in reversed(self.runners):
                await runner.cleanup()

        try:
            self.run(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, bytes]:
    """(status, body) of one request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
