"""The server's secret: a weak ``RITME_SECRET_KEY`` (or a weak generated file) stops ``ritme serve``.

The secret signs review and export links and seals stored Slack tokens: one that others can
guess opens every team's answers, so start-up refuses it with one line that names where it
came from and how to make a good one (``bot.config.weak_secret`` holds the rule).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings, weak_secret
from bot.links import load_secret, secret_file
from tests.fakes.secret_key import SECRET_KEY
from tests.fakes.servers import RITME, Replica, free_port, poll

ROOT = Path(__file__).resolve().parents[2]
HINT = 'python -c "import secrets; print(secrets.token_hex(32))"'

WEAK = [
    pytest.param("a-long-random-string", "published", id="published-readme-example"),
    pytest.param("A-Long-Random-String ", "published", id="published-other-case"),
    pytest.param("test-secret-key-test-secret-key", "published", id="published-old-test-key"),
    pytest.param("9f86d081884c7d659a2feaa0c55ad01", "short", id="short-31"),
    pytest.param("k" * 32, "published", id="repeated-k"),
    pytest.param("x" * 64, "different characters", id="repeated-x"),
    pytest.param("abcabcabcabcabcabcabcabcabcabcabcabc", "different characters", id="three-characters"),
    pytest.param("abcdefgabcdefgabcdefgabcdefgabcdefg", "different characters", id="seven-characters"),
    pytest.param("0123456789" * 4, "repeats", id="repeated-piece"),
    pytest.param("abcdefghijklmnopqrstuvwxyz0123456789", "run", id="alphabet-run"),
    # Found by an outside review: long and varied enough, and still guessable.
    pytest.param("0" * 28 + "13579bdf" + "0" * 28, "few characters", id="hex-mostly-zeros"),
    pytest.param("k" * 31 + "abcdefgh", "few characters", id="k-run-with-a-tail"),
    pytest.param("k" * 30 + "abcdefgh", "few characters", id="k-run-shorter-than-the-example"),
    pytest.param(hashlib.sha256(b"secret").hexdigest(), "hash of a common word", id="sha256-of-secret"),
    pytest.param(hashlib.md5(b"password").hexdigest().upper(), "hash of a common word", id="md5-of-password"),
    pytest.param(hashlib.sha1(b"ritme\n").hexdigest(), "hash of a common word", id="sha1-of-echo-ritme"),
    pytest.param("changeme-changeme-changeme-please", "published", id="published-padded"),
    pytest.param("a-long-random-string-a-long-random-string", "published", id="published-twice"),
    pytest.param("my-a-long-random-string-2026-production!", "published", id="published-inside"),
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No platform, no secret, no .env: the playground on a fresh SQLite file in tmp_path."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("RITME_", "SLACK_", "Microsoft")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RITME_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}")
    return tmp_path


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(("value", "why"), WEAK)
def test_weak_secret_gives_the_reason(value: str, why: str) -> None:
    """The rule itself (a secret it let through would start the server below, not fail)."""
    reason = weak_secret(value)
    assert reason is not None and why in reason


@pytest.mark.parametrize(("value", "why"), WEAK)
def test_serve_refuses_a_weak_secret_key(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str, why: str
) -> None:
    monkeypatch.setenv("RITME_SECRET_KEY", value)
    assert main(["serve"]) == 2
    line = one_line(capsys)
    assert line.startswith("ritme: configuration error: RITME_SECRET_KEY: ") and why in line
    assert HINT in line
    assert value.strip() not in line  # a secret, even a weak one, is not echoed into logs
    assert not (clean_env / "ritme.db").exists()  # refused before anything was made


def test_a_weak_secret_is_refused_with_a_platform_too(clean_env: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(RITME_SECRET_KEY="x" * 40, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    assert str(err.value).startswith("RITME_SECRET_KEY: not random") and HINT in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_settings(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    assert str(err.value).startswith("RITME_SECRET_KEY: required") and HINT in str(err.value)


def test_the_real_command_exits_2_with_one_line(clean_env: Path) -> None:
    env = {**os.environ, "RITME_SECRET_KEY": "a-long-random-string"}
    done = subprocess.run([str(RITME), "serve"], env=env, cwd=clean_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "RITME_SECRET_KEY" in lines[0] and HINT in lines[0], lines


@pytest.mark.parametrize(
    "make",
    [lambda: secrets.token_hex(32), lambda: secrets.token_hex(16), lambda: secrets.token_urlsafe(32)],
    ids=["hex-64", "hex-32", "urlsafe"],
)
def test_what_the_readme_tells_to_make_passes(make: object) -> None:
    for _ in range(200):
        assert weak_secret(make()) is None  # type: ignore[operator]


def test_every_example_in_the_readme_and_docs_is_refused() -> None:
    """An example printed in the documentation is known to every reader: none may start a server."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        found += re.findall(r"RITME_SECRET_KEY=([^\s`'\"]*)", doc.read_text(encoding="utf-8"))
    assert found, "the README shows how to set RITME_SECRET_KEY"
    for example in found:
        assert example == "" or weak_secret(example), example
    assert HINT in (ROOT / "README.md").read_text(encoding="utf-8")


async def test_a_good_secret_key_starts(clean_env: Path) -> None:
    port = free_port()
    env = {**os.environ, "RITME_SECRET_KEY": SECRET_KEY}
    replica = Replica("good-secret", port, env, clean_env)
    try:
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                if replica.proc.poll() is not None:
                    return True  # it stopped: the assertion below says so
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        return resp.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            assert await poll(healthy, within=120, every=0.2), replica.tail()
            assert replica.proc.poll() is None, replica.tail()
    finally:
        replica.close()


# -- the playground's generated secret ----------------------------------------------------------


@pytest.fixture(params=[0o000, 0o277], ids=["umask-000", "umask-277"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """A umask that would leave a new file readable by everyone, or not even by its owner."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_the_generated_secret_is_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    generated = load_secret(None, url)
    path = secret_file(url)
    assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert weak_secret(generated.decode("ascii")) is None and load_secret(None, url) == generated


def test_a_secret_file_others_can_read_is_closed_to_them(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    path = tmp_path / "ritme.db.secret"
    path.write_text(SECRET_KEY + "\n", encoding="ascii")
    path.chmod(0o644)
    assert load_secret(None, url) == SECRET_KEY.encode("ascii")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "content", [b"k" * 40 + b"\n", b"short\n", b"", b"\xff\xfe" * 20], ids=["repeated", "short", "empty", "not-text"]
)
def test_serve_refuses_a_weak_generated_secret_file(
    clean_env: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = clean_env / "ritme.db.secret"
    path.write_bytes(content)
    path.chmod(0o600)
    assert main(["serve"]) == 2
    line = one_line(capsys)
    assert str(path) in line and "RITME_SECRET_KEY" in line and HINT in line
    assert path.read_bytes() == content  # left for the operator to look at and remove
