"""Log lines people can read (``RITME_LOG_FORMAT=text``) or search (``json``).

JSON: one object a line with ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and,
when known, ``team_id``, ``ritual_id`` and ``platform`` (``rituals.logcontext``: what the work
under way is about, or ``extra=`` of the log call); ``exception`` with the traceback of a
logged error. Ritme's log messages name ids, never a person's name or what they answered;
the database's statements are logged without their parameters (``storage.db``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from rituals.logcontext import FIELDS, current

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Where an HTTP request comes from, by the start of its path.
PLATFORM_PATHS = (("/slack/", "slack"), ("/api/messages", "teams"), ("/playground/", "playground"))


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = current()
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is None:
                value = context.get(field)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):
    """The handler ``configure_logging`` adds, told apart from others' by its class."""


def configure_logging(log_format: str = "text") -> None:
    """Ritme's one log handler (stderr) on the root logger, in ``log_format``; Ritme's levels
    for the libraries that talk too much. Called again once the settings are read. Where
    something else set up logging before (a test runner), its handlers are left alone, as
    ``logging.basicConfig`` would."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if isinstance(handler, _Stderr)]
    if not ours and not root.handlers:
        ours = [_Stderr()]
        root.addHandler(ours[0])
        root.setLevel(logging.INFO)
    formatter: logging.Formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in ours:
        handler.setFormatter(formatter)
    # In JSON, a library's warning is a log line too, not a line of its own on stderr.
    logging.captureWarnings(log_format == "json")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its steps; what it did is said in one line
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def platform_of(path: str) -> str | None:
    """The platform whose requests come to ``path``: their log lines name it."""
    for prefix, name in PLATFORM_PATHS:
        if path.startswith(prefix):
            return name
    return None
