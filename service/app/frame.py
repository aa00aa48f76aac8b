"""The frame every command runs in: settings -> logging (once) -> [the run lock] -> gateway -> the command's work
-> the Notion call count -> an exit code. Known errors become a message and an exit code, never a traceback.

Exit codes: 0 ok, 1 something failed (named above the summary), 2 configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from service.app.render import err
from service.app.runlock import RunLock, RunLockHeldError
from service.logging import configure_logging, get_logger, register_secrets
from service.notion import NotionAuthError, NotionError, NotionGateway, NotionNotFoundError
from service.pipelines.cycle import EXIT_CONFIG, EXIT_FAILED
from service.policy_file import ConfigError
from service.settings import Settings

log = get_logger(__name__)


class CommandError(Exception):
    """Stop the command with a message and an exit code."""

    def __init__(self, message: str, code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.code = code


def load_settings(**overrides: Any) -> Settings:
    """Settings + logging configured once for this process; secrets registered for redaction."""
    try:
        settings = Settings.load(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        err.print(f"[red]configuration error[/red]: {escape(problems)}")
        raise typer.Exit(EXIT_CONFIG) from None
    configure_logging(settings.backlog_log_level, settings.backlog_log_format)
    register_secrets(
        [
            settings.notion_token,
            settings.notion_webhook_secret,
            settings.backlog_api_token,
            settings.zendesk_api_token,
            settings.zendesk_oauth_token,
            settings.g2_api_token,
            settings.gong_access_key,
            settings.gong_access_key_secret,
            settings.github_token,
            settings.discord_bot_token,
        ]
    )
    return settings


@contextmanager
def command(
    name: str, *, exclusive: bool = False, overrides: Mapping[str, Any] | None = None
) -> Iterator[tuple[Settings, NotionGateway]]:
    """Settings and gateway for one command; known errors become exit codes; the call count is printed last.

    `exclusive`: hold the host lock (BACKLOG_LOCK_PATH) for the whole command, taken before Notion is opened
    (every command that writes to Notion sets it);
    `overrides`: settings the command itself sets (the demo's export files)."""
    settings = load_settings(**(overrides or {}))
    with ExitStack() as stack:
        if exclusive:
            stack.callback(hold_run_lock(settings, name).release)
        with _known_errors(name):
            gateway = NotionGateway.from_settings(settings)
            stack.callback(_close, gateway)
            where = f"sandbox {settings.backlog_sandbox_path}" if gateway.is_sandbox else settings.notion_api_url
            log.info("command.start", command=name, notion=where)
            yield settings, gateway


def hold_run_lock(settings: Settings, name: str = "run") -> RunLock:
    """One writing command at a time per host: a second one waits BACKLOG_LOCK_WAIT_S, then exits 1 saying
    which lock file and who holds it."""
    lock = RunLock(settings.backlog_lock_path, command=name)
    try:
        lock.acquire(wait_s=settings.backlog_lock_wait_s)
    except RunLockHeldError as exc:
        err.print(f"[yellow]backlog {name}:[/yellow] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from None
    return lock


@contextmanager
def _known_errors(name: str) -> Iterator[None]:
    try:
        yield
    except CommandError as exc:
        err.print(f"[red]{name}:[/red] {escape(str(exc))}")
        raise typer.Exit(exc.code) from None
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CONFIG) from None
    except (NotionAuthError, NotionNotFoundError) as exc:
        err.print(f"[red]{name}:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CONFIG) from None
    except NotionError as exc:
        err.print(f"[red]{name} failed:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from None


def _close(gateway: NotionGateway) -> None:
    print_calls(gateway)
    gateway.close()


def print_calls(gateway: NotionGateway) -> None:
    """The footer of every command: how many Notion calls it made, by endpoint (the rate limit is the cost)."""
    calls = gateway.calls
    detail = ", ".join(f"{k} {v}" for k, v in sorted(calls.by_endpoint().items())) or "none"
    err.print(f"Notion calls: {calls.total} (reads {calls.reads}, writes {calls.writes}) — {detail}")
    log.info("notion.calls", total=calls.total, reads=calls.reads, writes=calls.writes, by_endpoint=calls.by_endpoint())
