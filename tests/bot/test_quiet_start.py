"""A quiet start: ``ritme serve`` (and ``make run``, which runs it) says what it migrated in one
line and where it serves last, and a SIGTERM stops it with exit status 0.

Real processes; each wait is bounded and ends as soon as what it waits for is in the log."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.fakes.servers import RITME, free_port

ROOT = Path(__file__).resolve().parents[2]


def playground_env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft"))}
    return {**env, "RITME_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", "RITME_PORT": str(port)}


def wait_for(check: Callable[[], bool], within: float = 90) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def says(log: Path, proc: subprocess.Popen[bytes], words: str) -> bool:
    """Until the log holds ``words`` (False when the process stopped first)."""
    return wait_for(lambda: words in log.read_text(errors="replace") or proc.poll() is not None) and proc.poll() is None


def serve(tmp_path: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(RITME), "serve"],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=playground_env(tmp_path, port),
        )
    return proc, log


def test_serve_says_what_it_migrated_in_one_line_and_where_it_serves_last(tmp_path: Path) -> None:
    port = free_port()
    proc, log = serve(tmp_path, port)
    try:
        assert says(log, proc, "serving the playground on"), log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = log.read_text(errors="replace").splitlines()
    shown = lines[: next((i for i, line in enumerate(lines) if "SIGTERM" in line), len(lines))]
    assert not [line for line in shown if "alembic" in line], shown
    (migrated,) = [line for line in shown if "revision" in line]
    assert re.search(r" INFO ritme: database migrated from an empty database to revision \w+$", migrated), migrated
    assert shown[-1].endswith(f"serving the playground on http://127.0.0.1:{port}"), shown


def test_a_sigterm_while_it_starts_stops_it_with_success(tmp_path: Path) -> None:
    """Told to stop as it builds the app, once it migrated (before aiohttp handles the signal)."""
    proc, log = serve(tmp_path, free_port())
    try:
        assert says(log, proc, "database migrated"), log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in log.read_text()


def test_make_run_is_quiet_and_a_sigterm_to_the_server_ends_make_with_success(tmp_path: Path) -> None:
    """Through make: no command echoed, no Alembic steps, and when the server is told to stop
    (SIGTERM), it stops gracefully and make reports success (no "make: *** ... Error")."""
    log = tmp_path / "make.log"
    with log.open("w") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed", "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=playground_env(tmp_path, free_port()),
            start_new_session=True,
        )
    try:
        assert says(log, make, "serving the playground on"), log.read_text()
        (server,) = children(make.pid)
        os.kill(server, signal.SIGTERM)
        assert make.wait(60) == 0, log.read_text()
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
    text = log.read_text()
    assert "make: ***" not in text and "ritme serve" not in text and "alembic" not in text, text
    assert len([line for line in text.splitlines() if "revision" in line]) == 1, text


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
