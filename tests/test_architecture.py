"""Dependencies point inward: rituals/ knows nothing of platforms, HTTP or SQL."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_RITUALS = (
    "slack_bolt",
    "slack_sdk",
    "botbuilder",
    "botframework",
    "aiohttp",
    "sqlalchemy",
    "prometheus_client",  # monitoring counts through rituals.ports.Telemetry (bot/metrics.py)
    "bot",
    "adapters",
    "storage",
)
FORBIDDEN_IN_ADAPTERS = ("bot", "storage", "sqlalchemy")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, set[str]]:
    result = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imports(path) & set(forbidden)
        if bad:
            result[str(path.relative_to(ROOT))] = bad
    return result


def test_rituals_import_nothing_of_platforms_http_or_sql() -> None:
    modules = list((ROOT / "rituals").rglob("*.py"))
    assert len(modules) >= 10
    assert offenders("rituals", FORBIDDEN_IN_RITUALS) == {}


def test_adapters_do_not_reach_into_bot_or_storage() -> None:
    assert offenders("adapters", FORBIDDEN_IN_ADAPTERS) == {}


def test_every_ritual_module_imports_cleanly() -> None:
    import importlib
    import pkgutil

    import rituals

    names = [m.name for m in pkgutil.walk_packages(rituals.__path__, "rituals.")]
    for name in names:
        importlib.import_module(name)
    assert "rituals.kinds.reflection" in names and "rituals.engine" in names
