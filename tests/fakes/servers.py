"""Real ``ritme serve`` processes for tests that kill, stop and restart servers.

``Replica`` starts ``.venv/bin/ritme serve`` with the environment given (its output goes to
a log file; ``tail()`` shows the end of it); ``replica_env`` is the environment of a Slack
workspace pointed at a fake Slack Web API; ``poll`` waits for a condition, bounded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes.secret_key import SECRET_KEY
from tests.fakes.slack_server import SlackProcess

RITME = Path(sys.executable).with_name("ritme")
LEASE_SECONDS = 10


class Replica:
    """One ``ritme serve`` process with its log file."""

    def __init__(self, name: str, port: int, env: dict[str, str], workdir: Path) -> None:
        self.name, self.port = name, port
        self.log = workdir / f"{name}.log"
        self._out = self.log.open("w")
        self.proc = subprocess.Popen(
            [str(RITME), "serve"],
            cwd=workdir,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env={**env, "RITME_PORT": str(port), "RITME_REPLICA_ID": name},
        )

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.name} (exit {self.proc.poll()}) ---\n" + "\n".join(text)

    async def serving(self, http: Any, within: float = 60) -> bool:
        """Whether ``/healthz`` answers 200 within ``within`` seconds (an aiohttp session
        ``http``); False as soon as the process has stopped."""

        import aiohttp

        async def up() -> bool:
            try:
                async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                    return bool(response.status == 200)
            except aiohttp.ClientError:
                return self.proc.poll() is not None

        return await poll(up, within=within, every=0.2) and self.proc.poll() is None

    def stop(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._out.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def replica_env(database_url: str, slack: SlackProcess) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft"))}
    return {
        **keep,
        "RITME_DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "replica-test-secret",
        "SLACK_API_URL": slack.api_url,
        "RITME_SECRET_KEY": SECRET_KEY,
        "RITME_TICK_SECONDS": "1",
        "RITME_LEASE_SECONDS": str(LEASE_SECONDS),
        "RITME_DEFAULT_LANGUAGE": "en",
    }


async def poll(check: Callable[[], Any], *, within: float, every: float = 0.05) -> bool:
    """Until ``await check()`` is true, for at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every)
    return False
