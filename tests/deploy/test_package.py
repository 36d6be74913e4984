"""The package as an operator gets it: ``python -m build`` makes an sdist and a wheel (the
wheel built from the sdist, so the sdist is complete too), the wheel installs into a fresh
virtual environment outside the checkout, and from an empty directory the installed
``ritme`` migrates a database, serves the playground (its page, a Dutch reply, the review
page's CSS) and prints the Slack manifest: migrations, translations and static files come
from the package, not from the checkout. ``pipx install .`` does the same build and install.

The install fetches the dependencies as pip does (from its cache when it has them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.fakes.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_FILES = (
    "storage/migrations/env.py",
    "storage/migrations/script.py.mako",
    "storage/migrations/versions/0001_initial_schema.py",
    "rituals/locale/nl/LC_MESSAGES/messages.po",
    "rituals/locale/nl/LC_MESSAGES/library.po",
    "rituals/locale/en/LC_MESSAGES/messages.po",
    "adapters/playground/static/index.html",
    "adapters/playground/static/app.js",
    "adapters/playground/static/style.css",
    "bot/static/review/review.css",
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], check=True, capture_output=True, timeout=600
    )
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its ``bin``."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    (wheel,) = dist.glob("ritme-*.whl")
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return venv / "bin"


def _env(**extra: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft", "PYTHON", "VIRTUAL"))
    }
    return {**keep, **extra}


def test_sdist_and_wheel_carry_what_ritme_needs_at_run_time(dist: Path) -> None:
    (sdist,) = dist.glob("ritme-*.tar.gz")
    (wheel,) = dist.glob("ritme-*-py3-none-any.whl")
    with tarfile.open(sdist) as tar:
        in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    with zipfile.ZipFile(wheel) as zf:
        in_wheel = set(zf.namelist())
        entry_points = zf.read(next(n for n in in_wheel if n.endswith(".dist-info/entry_points.txt"))).decode()
    for name in RUNTIME_FILES:
        assert name in in_sdist, f"{name} is not in the sdist"
        assert name in in_wheel, f"{name} is not in the wheel"
    versions = {p.name for p in (ROOT / "storage/migrations/versions").glob("*.py")}
    assert {n.rsplit("/", 1)[1] for n in in_wheel if n.startswith("storage/migrations/versions/")} == versions
    assert "ritme = bot.cli:main" in entry_points
    assert not [n for n in in_wheel if n.startswith(("tests/", "bench/"))]  # test-only files stay out


def test_the_installed_wheel_migrates_serves_and_prints_the_manifest(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "school"
    work.mkdir()
    where = subprocess.run(
        [str(installed / "python"), "-c", "import bot, storage; print(bot.__file__); print(storage.__file__)"],
        cwd=work,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(installed.parent) for p in where), where  # not the checkout's modules

    ritme = str(installed / "ritme")
    env = _env(RITME_DATABASE_URL="sqlite+aiosqlite:///ritme.db")
    upgraded = subprocess.run([ritme, "db", "upgrade"], cwd=work, env=env, capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.startswith("database migrated from an empty database to revision ")

    manifest = subprocess.run(
        [ritme, "slack-manifest"],
        cwd=work,
        env={**env, "RITME_PUBLIC_URL": "https://ritme.school.example"},
        capture_output=True,
        text=True,
    )
    assert manifest.returncode == 0, manifest.stderr
    assert json.loads(manifest.stdout)["settings"]["event_subscriptions"]["request_url"] == (
        "https://ritme.school.example/slack/events"
    )

    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [ritme, "serve"], cwd=work, env={**env, "RITME_PORT": str(port)}, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert _wait_for(f"{base}/healthz", server), (tmp_path / "serve.log").read_text()
        page = _get(f"{base}/")
        assert "<html" in page.lower()
        assert _get(f"{base}/static/playground/app.js")
        css = _get(f"{base}/static/review/review.css")
        assert css == (ROOT / "bot/static/review/review.css").read_text()
        reply = _post(
            f"{base}/playground/api/command", {"user": "anna", "text": "toevoegen reflectie elke maandag om 09:00"}
        )
        assert reply["reply"]["title"] == "Ritueel #1 toegevoegd"  # Dutch, the default, from the packaged catalogue
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    assert server.returncode == 0, (tmp_path / "serve.log").read_text()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return str(response.read().decode())


def _post(url: str, body: dict[str, str]) -> dict[str, dict[str, str]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def _wait_for(url: str, server: subprocess.Popen[bytes]) -> bool:
    """Bounded: until ``url`` answers 200 or the server stops, at most a minute."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    return False
