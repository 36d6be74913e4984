"""The ``ritme`` command line: serve the bot, migrate, check the configuration, back up and
restore the database."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import ConfigError, ManifestSettings, Settings, load_settings, settings_help
from bot.logs import configure_logging

EXIT_CONFIG = 2
EXIT_NOT_DONE = 1  # a backup or restore that was refused or failed; the reason is on stderr


def _fail(message: str) -> int:
    print(f"ritme: configuration error: {message}", file=sys.stderr)
    return EXIT_CONFIG


def _settings() -> Settings:
    """The settings, read once; the log format they ask for applies from here on."""
    settings = load_settings()
    configure_logging(settings.log_format)
    return settings


async def _check_database(settings: Settings) -> str | None:
    from storage.db import create_engine, unanswered

    engine = create_engine(settings.database_url)
    try:
        reason = await unanswered(engine)
    finally:
        await engine.dispose()
    return None if reason is None else f"RITME_DATABASE_URL: the database does not answer ({reason})"


def _stop_starting(signum: int, frame: object) -> None:
    """SIGTERM before the server runs (while it migrates, say): stop, with success, as the
    server itself does once it runs (it then handles SIGTERM by shutting down gracefully).
    At once: nothing is served or taken yet, and a ``SystemExit`` raised wherever start-up
    happens to be (inside the app's building, or the event loop's first steps) could leave a
    thread that keeps the process from ending. A migration is committed or rolled back by the
    database as a whole."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _migrated(before: str | None, after: str | None) -> str:
    """What ``upgrade`` did, in one line."""
    if before == after:
        return f"database is up to date (revision {after})"
    return f"database migrated from {before or 'an empty database'} to revision {after}"


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.readiness import serve
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
    problem = _address_taken(settings)  # before the engine starts: it would work, then die at the bind
    if problem:
        signal.signal(signal.SIGTERM, previous)
        return _fail(problem)
    # Said last, once the server listens.
    serving = f"serving {where} on http://{settings.host}:{settings.port}"
    try:
        asyncio.run(
            serve(app, host=settings.host, port=settings.port, drain_seconds=settings.drain_seconds, listening=serving)
        )
    except OSError as err:  # the address was taken after the check above
        return _fail(f"RITME_HOST, RITME_PORT: cannot listen on {settings.host}:{settings.port} ({err.strerror})")
    return 0


def _address_taken(settings: Settings) -> str | None:
    """Whether another process listens where ``serve`` would: said in one line before the engine
    starts (aiohttp would say it with a stack trace, once the engine runs). After what only
    building the app can tell (a weak secret in the playground's file, say), which comes first."""
    try:
        infos = socket.getaddrinfo(
            settings.host or None, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as err:
        return f"RITME_HOST: {settings.host!r} is no address here ({err.strerror})"
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp listens
            try:
                probe.bind(address)
            except OSError as err:
                return (
                    f"RITME_HOST, RITME_PORT: cannot listen on {settings.host}:{settings.port} ({err.strerror}): "
                    "stop what listens there, or choose another RITME_PORT"
                )
    return None


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


def cmd_check(args: argparse.Namespace) -> int:
    """One line per setting and per thing the settings point at; 1 when something needed is
    wrong (2, as for ``serve``, when the settings themselves are)."""
    from bot.checks import report

    try:
        settings = _settings()
    except ConfigError as err:
        print(f"FAIL     {err}")
        return EXIT_CONFIG
    lines, failed = report(settings)
    for line in lines:
        print(line)
    return 1 if failed else 0


def _usage(parser: argparse.ArgumentParser) -> Any:
    """A command that needs a subcommand, given none: its own help, exit 2 (a usage error)."""

    def show(args: argparse.Namespace) -> int:
        parser.print_help()
        return EXIT_CONFIG

    return show


def cmd_backup(args: argparse.Namespace) -> int:
    """``ritme backup PATH``: a consistent copy of the SQLite database, taken while Ritme runs."""
    from storage.backup import backup, postgres_commands

    def on_sqlite(url: str) -> str:
        copy = backup(url, Path(args.path), force=args.force)
        return (
            f"backed up to {copy.path} ({copy.size:,} bytes, migration revision {copy.revision}), readable by its "
            "owner only; RITME_SECRET_KEY (or the playground's .secret file) is not in it: keep it apart"
        )

    def on_postgres(url: str) -> str:
        dump, load = postgres_commands(url, args.path)
        return f"{POSTGRES_TOOLS}:\n  {dump}\nand to restore it:\n  {load}"

    return _database_copy("backup", on_sqlite, on_postgres)


def cmd_restore(args: argparse.Namespace) -> int:
    """``ritme restore PATH``: put a backup in place of the database, checked and upgraded."""
    from storage.backup import postgres_commands, restore

    def on_sqlite(url: str) -> str:
        done = restore(url, Path(args.path), force=args.force)
        upgraded = "" if done.before == done.revision else f", upgraded from revision {done.before}"
        return f"restored {args.path} to {done.path} (migration revision {done.revision}{upgraded}); start Ritme again"

    def on_postgres(url: str) -> str:
        _dump, load = postgres_commands(url, args.path)
        return f"{POSTGRES_TOOLS}; with Ritme stopped:\n  {load}\n  ritme db upgrade"

    return _database_copy("restore", on_sqlite, on_postgres)


POSTGRES_TOOLS = (
    "RITME_DATABASE_URL is a PostgreSQL database: use PostgreSQL's own tools "
    "(the password from PGPASSWORD or ~/.pgpass)"
)


def _database_copy(task: str, on_sqlite: Callable[[str], str], on_postgres: Callable[[str], str]) -> int:
    """Run a backup or restore task on SQLite (its report on stdout, exit 0), or say which
    PostgreSQL commands do it (stderr, exit 1: nothing was copied); a refusal is one line."""
    from storage.backup import BackupError, sqlite_file

    try:
        url = _settings().database_url
        if sqlite_file(url) is None:
            return _refuse(task, on_postgres(url))
        print(on_sqlite(url))
    except ConfigError as err:
        return _fail(str(err))
    except (BackupError, OSError, sqlite3.Error) as err:
        return _refuse(task, str(err))
    return 0


def _refuse(task: str, message: str) -> int:
    print(f"ritme {task}: {message}", file=sys.stderr)
    return EXIT_NOT_DONE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ritme",
        description="Ritme keeps a team's rituals alive in Slack, Microsoft Teams or the local playground.",
    )
    parser.set_defaults(func=_usage(parser))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="serve the bot (and the playground when no platform is configured)",
        description="Serve the bot on RITME_HOST:RITME_PORT: the platforms configured, the playground when "
        "none is, /healthz, /readyz and (RITME_METRICS=true) /metrics. SIGTERM drains, then stops.",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.set_defaults(func=cmd_serve)
    check = sub.add_parser(
        "check",
        help="check the configuration and whether the database, Slack and Teams answer",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.set_defaults(func=cmd_check)
    db = sub.add_parser("db", help="database tasks")
    db.set_defaults(func=_usage(db))
    db_sub = db.add_subparsers(dest="db_command", metavar="TASK")
    up = db_sub.add_parser("upgrade", help="apply the database migrations")
    up.set_defaults(func=cmd_db_upgrade)
    backup = sub.add_parser(
        "backup", help="copy the SQLite database while Ritme runs (PostgreSQL: prints the pg_dump command)"
    )
    backup.add_argument("path", metavar="PATH", help="the copy's file, or a directory for a dated file")
    backup.add_argument("--force", action="store_true", help="replace PATH when it exists")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser(
        "restore", help="put a backup in place of the database, upgraded (PostgreSQL: prints pg_restore)"
    )
    restore.add_argument("path", metavar="PATH", help="a copy made with ritme backup")
    restore.add_argument("--force", action="store_true", help="replace a database that exists (stop Ritme first)")
    restore.set_defaults(func=cmd_restore)
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
    configure_logging()
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
