"""The fake Slack Web API in a process of its own: it outlives the servers a test kills, and
it does not share a core's interpreter with the code a benchmark measures.

``SlackProcess`` runs ``python -m tests.fakes.slack_server`` on 127.0.0.1 and a random port.
The server answers like ``tests.fakes.slack_api.FakeSlackApi`` (same answers, same token
check) but keeps counts instead of whole calls, so ten thousands of posts stay cheap:

- ``GET /_stats``: ``{"methods": {method: calls}, "posts": {channel: accepted posts},
  "ratelimited": n}``; a post answered 429 is not an accepted post.
- ``POST /_reset``: the counts start again from zero.
- ``--ratelimit-every N``: every Nth ``chat.postMessage`` answers HTTP 429 ``ratelimited``
  with ``Retry-After: --retry-after`` (a deterministic share of 1/N).

Use ``with SlackProcess() as slack:`` and point ``SLACK_API_URL`` at ``slack.api_url``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.slack_api import FakeSlackApi

ROOT = Path(__file__).resolve().parents[2]


class CountingSlackApi(FakeSlackApi):
    """``FakeSlackApi`` that counts instead of recording, and rate-limits a share of posts."""

    def __init__(self, *, ratelimit_every: int = 0, retry_after: int = 1, team_id: str = "T1") -> None:
        super().__init__(team_id=team_id)
        self.ratelimit_every = ratelimit_every
        self.retry_after = retry_after
        self.methods: Counter[str] = Counter()
        self.posts: Counter[str] = Counter()
        self.ratelimited = 0
        self._post_calls = 0
        self.server.app.router.add_get("/_stats", self._stats)
        self.server.app.router.add_post("/_reset", self._reset)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._body(request)
        self.methods[method] += 1
        if method == "chat.postMessage" and self.ratelimit_every:
            self._post_calls += 1
            if self._post_calls % self.ratelimit_every == 0:
                self.ratelimited += 1
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(self.retry_after)}
                )
        authorized = getattr(self, "_authorized", None)  # the fake's own token check, where it has one
        if not (
            authorized(method, request.headers)
            if authorized
            else request.headers.get("Authorization") == "Bearer xoxb-test"
        ):
            return web.json_response({"ok": False, "error": "not_authed"})
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        if method == "chat.postMessage":
            self.posts[str(body.get("channel", ""))] += 1
        return web.json_response({"ok": True, **handler(body)})

    async def _reset(self, request: web.Request) -> web.Response:
        self.methods.clear()
        self.posts.clear()
        self.ratelimited = 0
        self._post_calls = 0
        return web.json_response({"ok": True})

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"methods": dict(self.methods), "posts": dict(self.posts), "ratelimited": self.ratelimited}
        )


class SlackProcess:
    """Starts the counting fake in a child process; ``stats()`` reads its counts."""

    def __init__(self, *, ratelimit_every: int = 0, retry_after: int = 1) -> None:
        self.args = ["--ratelimit-every", str(ratelimit_every), "--retry-after", str(retry_after)]
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> SlackProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.slack_server", *self.args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "PORT 12345", or nothing when it failed to start
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"the fake Slack API did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_stats", timeout=10) as response:  # noqa: S310 - loopback only
            data: dict[str, Any] = json.load(response)
        return data

    def reset(self) -> None:
        request = urllib.request.Request(self.url + "/_reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback only
            pass

    def posted(self) -> int:
        """Accepted posts so far, all channels together."""
        return sum(self.stats()["posts"].values())


async def _serve(ratelimit_every: int, retry_after: int) -> None:
    fake = CountingSlackApi(ratelimit_every=ratelimit_every, retry_after=retry_after)
    await fake.server.start_server()
    print(f"PORT {fake.server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="the fake Slack Web API, counting")
    parser.add_argument("--ratelimit-every", type=int, default=0)
    parser.add_argument("--retry-after", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(_serve(args.ratelimit_every, args.retry_after))


if __name__ == "__main__":
    main()
