"""structlog, configured once at the entry point (`configure_logging`), used everywhere via `get_logger()`.

Pretty console output on a TTY, one JSON object per line otherwise (cron, Kubernetes). A processor redacts
secret-looking values (tokens, `Authorization` headers, `SecretStr` values) so a secret never reaches a log line.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO, cast

import structlog
from pydantic import SecretStr
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|api_key|access_key)", re.IGNORECASE)
_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(Bearer|Basic|Bot)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 **********"),
    (re.compile(r"\b(secret_|ntn_|ghp_|gho_|github_pat_)[A-Za-z0-9_]{6,}"), "**********"),
]
_known_secrets: set[str] = set()
REDACTED = "**********"


class Disclosed(str):
    """A value the redaction lets through on purpose, e.g. Notion's one-time webhook verification token, which
    the operator can read nowhere else. Use sparingly, never for a credential already in use."""

    __slots__ = ()


def register_secrets(values: Iterable[SecretStr | str | None]) -> None:
    """Remember the process's secret values so any log line containing one is redacted."""
    for value in values:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw and len(raw) >= 4:
            _known_secrets.add(raw)


def redact_text(text: str) -> str:
    """Replace known secrets and secret-looking tokens in `text`."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, Disclosed):
        return str(value)
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (REDACTED if _SECRET_KEYS.search(str(k)) and v else _redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_processor(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: no secret value survives into the rendered line."""
    for key in list(event_dict):
        value = event_dict[key]
        if _SECRET_KEYS.search(key) and value and not isinstance(value, Disclosed):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact(value)
    return event_dict


# Per-row events: on a console the summary table already counts and lists them, so they print only at DEBUG
# (JSON logs keep them all: a log collector wants every row). One source failure is printed by the report (a
# connector's bug too: its frames are for the JSON log, never a traceback on the PM's terminal).
PER_ROW_EVENTS = frozenset(
    {"sync.row_skipped", "sync.url_dropped", "sync.source_notice", "sync.source_failed", "sync.source_bug"}
)


def _console_filter(numeric: int) -> Processor:
    def drop_per_row(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
        if numeric > logging.DEBUG and event_dict.get("event") in PER_ROW_EVENTS:
            raise structlog.DropEvent
        return event_dict

    return drop_per_row


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is now, so rich's live progress (which redirects it) prints log lines
    above its bars instead of through them."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog and stdlib logging once. `fmt`: auto (console on a TTY, else JSON), json, console."""
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_processor,
    ]
    renderer: Processor
    if use_json:
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        shared.insert(0, _console_filter(numeric))
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    target: Any = _CurrentStderr() if stream is None and not use_json else out
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=target),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through stdlib (httpx, uvicorn, notion_client) stay quiet unless debugging.
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=out, format="%(name)s %(levelname)s %(message)s")
    for noisy in ("httpx", "httpcore", "notion_client"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)


def get_logger(name: str | None = None) -> FilteringBoundLogger:
    """Module-level logger: `log = get_logger(__name__)`. The type is what `configure_logging` wraps every logger
    in (`make_filtering_bound_logger`); before that, structlog's default wrapper has the same methods."""
    return cast(FilteringBoundLogger, structlog.get_logger(name))
