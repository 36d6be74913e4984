"""The ``ritme`` command line: serve the bot, migrate the database."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from typing import Any

from bot.config import ConfigError, ManifestSettings, Settings, load_settings

EXIT_CONFIG = 2


def _fail(message: str) -> int:
    print(f"ritme: configuration error: {message}", file=sys.stderr)
    return EXIT_CONFIG


def _settings() -> Settings:
    return load_settings()


async def _check_database(settings: Settings) -> str | None:
    from storage.db import create_engine, ping

    engine = create_engine(settings.database_url)
    try:
        ok = await ping(engine)
    finally:
        await engine.dispose()
    return None if ok else "RITME_DATABASE_URL: the database does not answer"


def _stop_starting(signum: int, frame: object) -> None:
    """SIGTERM before the server runs (while it migrates, say): stop, with success, as the
    server itself does once it runs (it then handles SIGTERM by shutting down gracefully)."""
    raise SystemExit(0)


def _migrated(before: str | None, after: str | None) -> str:
    """What ``upgrade`` did, in one line."""
    if before == after:
        return f"database is up to date (revision {after})"
    return f"database migrated from {before or 'an empty database'} to revision {after}"


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.server import create_app
    from storage.db import upgrade

    try:
        settings = _settings()
    except ConfigError as err:
        return _fail(str(err))
    problem = _playground_exposed(settings)
    if problem:
        return _fail(problem)
    try:
        problem = asyncio.run(_check_database(settings))
    except Exception as err:  # a malformed URL or a missing driver
        problem = f"RITME_DATABASE_URL: {err}"
    if problem:
        return _fail(problem)
    log = logging.getLogger("ritme")
    previous = signal.signal(signal.SIGTERM, _stop_starting)  # until aiohttp handles it
    log.info(_migrated(*upgrade(settings.database_url)))
    try:
        app = create_app(settings)
    except ConfigError as err:  # what only start-up can tell, such as a weak secret in the playground's file
        signal.signal(signal.SIGTERM, previous)
        return _fail(str(err))
    app.on_startup.append(_settle_heap)  # after the app's own start-up (aiohttp runs them in order)
    where = "the playground" if settings.playground_enabled else "the platform endpoints"
    if settings.playground_enabled and settings.playground_allow_remote:
        _warn_remote_playground(settings)
    # Said last, once the server listens (aiohttp's ``print``, called after start-up).
    serving = f"serving {where} on http://{settings.host}:{settings.port}"
    web.run_app(app, host=settings.host, port=settings.port, print=lambda _text: log.info(serving), shutdown_timeout=25)
    return 0


def _playground_exposed(settings: Settings) -> str | None:
    """The playground runs admin commands for whoever reaches it, with no login: it listens on
    a loopback address unless RITME_PLAYGROUND_ALLOW_REMOTE says otherwise."""
    from adapters.playground.doors import is_loopback

    if not settings.playground_enabled or settings.playground_allow_remote or is_loopback(settings.host):
        return None
    return (
        f"RITME_HOST: the playground would listen on {settings.host or 'every interface'} and run admin commands "
        "for anyone who reaches it; use 127.0.0.1, or set RITME_PLAYGROUND_ALLOW_REMOTE=true to allow it"
    )


def _warn_remote_playground(settings: Settings) -> None:
    """Say at start who can run admin commands, and at which names the playground answers."""
    from adapters.playground.doors import Doors, is_loopback, is_unspecified

    hosts = sorted(Doors.for_settings(allow_remote=True, host=settings.host, public_url=settings.public_url).hosts)
    reach = [settings.public_url] if settings.public_url else []
    if not is_loopback(settings.host):
        reach.insert(
            0,
            f"port {settings.port} of this machine"
            if is_unspecified(settings.host)
            else f"{settings.host}:{settings.port}",
        )
    names = ", ".join(["localhost", *hosts]) + (
        "" if settings.public_url else "; set RITME_PUBLIC_URL to the address people open it at"
    )
    logging.getLogger("ritme").warning(
        "RITME_PLAYGROUND_ALLOW_REMOTE: the playground runs admin commands for anyone who can reach %s "
        "(it answers at %s)",
        " or ".join(reach) or settings.base_url,
        names,
    )


async def _settle_heap(_app: Any) -> None:
    """Keep what start-up made (modules, the ORM's and the platforms' objects) out of the
    garbage collector's way: a full collection walked all of it, some hundred milliseconds
    with every request waiting (bench/answers.py, p99). ``gc.freeze`` is the standard
    library's tool for this; what is made later is collected as before."""
    gc.collect()
    gc.freeze()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import upgrade

    try:
        settings = _settings()
    except ConfigError as err:
        return _fail(str(err))
    try:
        before, after = upgrade(settings.database_url)
    except Exception as err:
        return _fail(f"RITME_DATABASE_URL: {err}")
    print(_migrated(before, after))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ritme",
        description="Ritme keeps a team's rituals alive in Slack, Microsoft Teams or the local playground.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the bot (and the playground when no platform is configured)")
    serve.set_defaults(func=cmd_serve)
    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", metavar="TASK")
    up = db_sub.add_parser("upgrade", help="apply the database migrations")
    up.set_defaults(func=cmd_db_upgrade)
    # -- slack commands --
    from adapters.slack.manifest import cmd_slack_manifest

    slack_manifest = sub.add_parser("slack-manifest", help="print the Slack app manifest (JSON) for RITME_PUBLIC_URL")
    slack_manifest.set_defaults(func=lambda args: cmd_slack_manifest(_settings, _fail, ConfigError))
    # -- teams commands --
    from adapters.teams.manifest import cmd_teams_manifest

    teams = sub.add_parser("teams-manifest", help="write the Teams app package (manifest.json and icons) to a zip")
    teams.add_argument("out", metavar="OUT.zip", help="where to write the package")
    teams.set_defaults(
        func=lambda args: cmd_teams_manifest(args.out, ManifestSettings, _fail, ConfigError, _teams_menu())
    )
    return parser


def _teams_menu() -> list[tuple[str, str]]:
    """The Teams command list, from the command registry (imported only for this command)."""
    from bot.commands.registry import teams_menu

    return teams_menu()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its steps; what it did is said in one line
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0 if args.command is None else EXIT_CONFIG
    return int(func(args))


if __name__ == "__main__":
    sys.exit(main())
