"""The `backlog` command line. Every command: settings -> logging (once) -> gateway -> pipeline -> a summary
with the Notion calls it made. Exit codes: 0 ok, 1 something failed (named above the summary), 2 configuration.

With no NOTION_TOKEN every command runs against the local Notion sandbox (BACKLOG_SANDBOX_PATH), so the whole
tool works on a fresh machine; `backlog sandbox` serves that file with a read-only HTML view.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from service.logging import configure_logging, get_logger, register_secrets
from service.notion.gateway import (
    NotionAuthError,
    NotionError,
    NotionGateway,
    NotionNotFoundError,
)
from service.policy_file import ConfigError, load_policy
from service.settings import Settings, settings_table

app = typer.Typer(
    help="Backlog grooming inside Notion: gather feedback (sync), score it (RICE), plan the sprint (report).\n\n"
    "Without NOTION_TOKEN every command uses the local Notion sandbox; see `backlog sandbox`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
# Off a terminal (cron, CI, `make demo | tee`) rich would wrap tables at 80 columns; give them room instead.
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 140)
log = get_logger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


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
        err.print(f"[red]configuration error[/red]: {problems}")
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
def command(name: str, **overrides: Any) -> Iterator[tuple[Settings, NotionGateway]]:
    """Common frame: build settings and gateway, turn known errors into exit codes, print the call count."""
    settings = load_settings(**overrides)
    gateway: NotionGateway | None = None
    try:
        gateway = NotionGateway.from_settings(settings)
        where = f"sandbox {settings.backlog_sandbox_path}" if gateway.is_sandbox else settings.notion_api_url
        log.info("command.start", command=name, notion=where)
        yield settings, gateway
    except CommandError as exc:
        err.print(f"[red]{name}:[/red] {exc}")
        raise typer.Exit(exc.code) from None
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(EXIT_CONFIG) from None
    except (NotionAuthError, NotionNotFoundError) as exc:
        err.print(f"[red]{name}:[/red] {exc}")
        raise typer.Exit(EXIT_CONFIG) from None
    except NotionError as exc:
        err.print(f"[red]{name} failed:[/red] {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        if gateway is not None:
            print_calls(gateway)
            gateway.close()


def print_calls(gateway: NotionGateway) -> None:
    calls = gateway.calls
    detail = ", ".join(f"{k} {v}" for k, v in sorted(calls.by_endpoint().items())) or "none"
    err.print(f"Notion calls: {calls.total} (reads {calls.reads}, writes {calls.writes}) — {detail}")
    log.info("notion.calls", total=calls.total, reads=calls.reads, writes=calls.writes, by_endpoint=calls.by_endpoint())


def policy_for(settings: Settings) -> Any:
    explicit = "backlog_config" in settings.model_fields_set
    return load_policy(settings.backlog_config, explicit=explicit)


# ---------------------------------------------------------------------------------------------------- init
@app.command()
def init(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; write nothing.")] = False,
) -> None:
    """Create the backlog-candidates database under NOTION_PARENT_PAGE_ID, or adopt an existing one.

    Adopting (NOTION_DATABASE_ID, or a database titled NOTION_DATABASE_TITLE) adds missing properties and select
    options, leaves your extra properties alone, and names any property of the wrong type with the exact fix.
    Running it twice changes nothing.
    """
    with command("init") as (_settings, gateway):
        code = do_init(gateway, dry_run=dry_run)
    raise typer.Exit(code)


def do_init(gateway: NotionGateway, *, dry_run: bool = False) -> int:
    report = gateway.init_database(dry_run=dry_run)
    verb = "would create" if dry_run else "created"
    if report.created:
        out.print(f"[green]{verb}[/green] database {report.ref.title!r}: {report.ref.url}")
    else:
        out.print(f"adopted database {report.ref.title!r}: {report.ref.url}")
    if report.added_properties:
        out.print(f"  added properties: {', '.join(report.added_properties)}")
    if report.added_options:
        out.print(f"  added select options: {', '.join(report.added_options)}")
    for problem in report.problems:
        err.print(f"  [yellow]fix needed:[/yellow] {problem}")
    if not report.created and not report.added_properties and not report.added_options and not report.problems:
        out.print("  schema up to date: nothing to change")
    return EXIT_CONFIG if report.problems else EXIT_OK


# ---------------------------------------------------------------------------------------------------- sync
def parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD or an ISO timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command()
def sync(
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Only this source (repeatable): zendesk, g2, gong, github, discord."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Read items updated since this date (overrides the cursor from Notion).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
) -> None:
    """Gather feedback from every configured source into backlog-candidates (seed step 1).

    One row per piece of feedback, never a duplicate (rows are keyed by Source Key). Each source resumes from the
    newest Last Seen already in Notion (minus BACKLOG_SYNC_OVERLAP_HOURS). A source with no credentials and no
    export file is skipped with a line saying what to set. Exit 0 when all ran, 1 when a source failed, 2 for a
    configuration error.
    """
    from connectors.registry import CONNECTORS

    unknown = [name for name in source or [] if name.lower() not in CONNECTORS]
    if unknown:  # a typo is named before any Notion call, whatever state the workspace is in
        raise typer.BadParameter(
            f"unknown source {', '.join(map(repr, unknown))}; choose from {', '.join(CONNECTORS)}",
            param_hint="--source",
        )
    with command("sync") as (settings, gateway):
        code = do_sync(settings, gateway, sources=source, since=parse_since(since), dry_run=dry_run)
    raise typer.Exit(code)


def do_sync(
    settings: Settings,
    gateway: NotionGateway,
    *,
    sources: list[str] | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
) -> int:
    from service.app.progress import SyncProgress
    from service.pipelines.sync import run_sync

    policy = policy_for(settings)
    gateway.database()
    with SyncProgress(err) as progress:
        report = run_sync(settings, gateway, policy, sources=sources, since=since, dry_run=dry_run, on_event=progress)
    table = Table(title="sync" + (" (dry run: nothing written)" if dry_run else ""))
    for col in ("source", "status", "fetched", "created", "updated", "unchanged", "skipped", "failed", "Notion calls"):
        table.add_column(col, justify="left" if col in ("source", "status") else "right")
    for s in report.sources:
        style = {"ok": "green", "skipped": "dim", "failed": "red", "config-error": "red"}.get(s.status, "")
        table.add_row(
            s.source,
            f"[{style}]{s.status}[/{style}]",
            *(str(v) for v in (s.fetched, s.created, s.updated, s.unchanged, s.skipped, s.failed, s.notion_calls)),
        )
    out.print(table)
    for s in report.sources:
        if s.message:
            out.print(f"  {s.source}: {s.message}")
        for problem in s.problems:
            out.print(f"  [yellow]{problem}[/yellow]")
        if dry_run:
            for title in s.would_create:
                out.print(f"  would create: {title}")
            for title in s.would_update:
                out.print(f"  would update: {title}")
    out.print(f"Notion writes: {report.notion_writes}; took {report.duration_s:.1f}s")
    return report.exit_code


# ---------------------------------------------------------------------------------------------------- score
@app.command()
def score(
    page: Annotated[str | None, typer.Option("--page", help="Re-read this page first (it changed).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
) -> None:
    """Write RICE, Rank and Score Note to every candidate (seed steps 2–3); only rows whose values changed.

    Your inputs (Reach, Impact, Confidence, Effort, Severity, OKR, Strategic Override) are read, never written.
    Where Reach or Confidence is empty, a suggestion from the evidence is used and marked as such in Score Note.
    """
    with command("score") as (settings, gateway):
        code = do_score(settings, gateway, page_id=page, dry_run=dry_run)
    raise typer.Exit(code)


def do_score(settings: Settings, gateway: NotionGateway, *, page_id: str | None = None, dry_run: bool = False) -> int:
    from service.pipelines.score import run_score

    policy = policy_for(settings)
    gateway.database()
    report = run_score(gateway, policy, page_id=page_id, dry_run=dry_run)
    if dry_run:
        for name, changes in report.changes:
            out.print(
                f"  would write {name}: " + ", ".join(f"{k}={v}" for k, v in changes.items() if k != "Score Note")
            )
    out.print(
        f"score: {report.read} rows read, {report.written} {'would be ' if dry_run else ''}written, "
        f"{report.unchanged} unchanged, {report.unscored} not scorable (see Score Note), {len(report.failed)} failed"
    )
    for page, message in report.failed:
        err.print(f"  [red]{page}[/red]: {message}")
    return report.exit_code


# ---------------------------------------------------------------------------------------------------- report
def next_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


@app.command()
def report(
    sprint: Annotated[int, typer.Option("--sprint", min=1, help="Sprint number N (page 'Sprint N — dates').")],
    start: Annotated[str | None, typer.Option(help="First day of the sprint (default: next Monday).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; write nothing to Notion.")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the stakeholder summary (Markdown) here; default stdout.")
    ] = None,
    audience: Annotated[str, typer.Option(help="Markdown for 'engineering' (full) or 'leadership' (summary).")] = (
        "engineering"
    ),
) -> None:
    """Plan sprint N within capacity and write the sprint page + stakeholder summary to Notion (seed steps 4–6).

    Re-running for the same sprint updates the same page; Sprints Waiting is counted once per sprint.
    """
    start_date = date.fromisoformat(start) if start else next_monday(datetime.now(UTC).date())
    with command("report") as (settings, gateway):
        code = do_report(
            settings, gateway, sprint=sprint, start=start_date, dry_run=dry_run, out_file=out_file, audience=audience
        )
    raise typer.Exit(code)


def do_report(
    settings: Settings,
    gateway: NotionGateway,
    *,
    sprint: int,
    start: date,
    dry_run: bool = False,
    out_file: Path | None = None,
    audience: str = "engineering",
) -> int:
    from service.pipelines.report import run_report

    policy = policy_for(settings)
    gateway.database()
    result = run_report(gateway, policy, sprint=sprint, start=start, dry_run=dry_run, audience=audience)
    if out_file:
        out_file.write_text(result.markdown, encoding="utf-8")
        out.print(f"summary written to {out_file}")
    else:
        sys.stdout.write(result.markdown + "\n")
    out.print(
        f"report: sprint {sprint}: {result.planned} planned ({result.planned_effort:g} of {result.plan_limit:g} "
        f"person-weeks), page {'would be ' if dry_run else ''}{result.page_action}: {result.page_url or '-'}; "
        f"{result.rows_written} rows updated"
    )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- run
@app.command()
def run(
    with_report: Annotated[bool, typer.Option("--report", help="Also write the sprint report.")] = False,
    sprint: Annotated[int | None, typer.Option("--sprint", min=1, help="Sprint number for --report.")] = None,
    start: Annotated[str | None, typer.Option(help="Sprint start for --report (default next Monday).")] = None,
) -> None:
    """The cron job: sync, then score (then the report with --report --sprint N). One run at a time per host.

    A second `backlog run` while one holds the lock (BACKLOG_LOCK_PATH) exits at once with a message. Exit codes
    as `sync`. Each step logs one summary event with counts, Notion calls and duration.
    """
    from service.app.runlock import RunLock, RunLockHeldError

    if with_report and sprint is None:
        raise typer.BadParameter("--report needs --sprint N")
    settings = load_settings()
    try:
        lock = RunLock(settings.backlog_lock_path)
        lock.acquire()
    except RunLockHeldError as exc:
        err.print(f"[yellow]backlog run:[/yellow] {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    try:
        with command("run") as (settings, gateway):
            code = do_run(
                settings,
                gateway,
                sprint=sprint if with_report else None,
                start=date.fromisoformat(start) if start else None,
            )
    finally:
        lock.release()
    raise typer.Exit(code)


def do_run(settings: Settings, gateway: NotionGateway, *, sprint: int | None, start: date | None) -> int:
    import time

    steps: list[tuple[str, Any]] = [
        ("sync", lambda: do_sync(settings, gateway)),
        ("score", lambda: do_score(settings, gateway)),
    ]
    if sprint is not None:
        steps.append(
            (
                "report",
                lambda: do_report(
                    settings, gateway, sprint=sprint, start=start or next_monday(datetime.now(UTC).date())
                ),
            )
        )
    worst = EXIT_OK
    for name, step in steps:
        began, calls = time.monotonic(), gateway.calls.total
        try:
            code = step()
        except NotionError as exc:
            err.print(f"[red]{name} failed:[/red] {exc}")
            code = EXIT_FAILED
        took = time.monotonic() - began
        log.info(
            "run.step", step=name, exit_code=code, notion_calls=gateway.calls.total - calls, duration_s=round(took, 2)
        )
        out.print(f"run: {name} exit {code}, {gateway.calls.total - calls} Notion calls, {took:.1f}s")
        worst = max(worst, code)
        if code == EXIT_CONFIG:
            break
    return worst


# ---------------------------------------------------------------------------------------------------- serve
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the webhook receiver: POST /webhooks/notion rescoring on PM edits, POST /rescore, POST /sync, /healthz.

    Set NOTION_WEBHOOK_SECRET (the subscription's verification token) and BACKLOG_API_TOKEN. OpenAPI docs at /docs.
    """
    import uvicorn

    from service.app.server import build_service

    settings = load_settings()
    try:
        app_, worker = build_service(settings)
    except (ConfigError, NotionError) as exc:
        err.print(f"[red]serve:[/red] {exc}")
        raise typer.Exit(EXIT_CONFIG) from None
    worker.start()
    uvicorn.run(app_, host=host, port=port, log_config=None, access_log=False)
    worker.stop()


# ---------------------------------------------------------------------------------------------------- doctor
@app.command()
def doctor() -> None:
    """Check Notion (token, parent page, database schema) and every configured source; print what to fix."""
    from service.pipelines.doctor import print_checks, run_checks

    settings = load_settings()
    checks = run_checks(settings)
    print_checks(checks, out)
    raise typer.Exit(EXIT_FAILED if any(c.required and not c.ok for c in checks) else EXIT_OK)


# ---------------------------------------------------------------------------------------------------- sandbox
@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8787,
    rate_limit: Annotated[
        float | None, typer.Option("--rate-limit", help="Answer 429 + Retry-After above this many requests/s.")
    ] = None,
) -> None:
    """Serve the local Notion sandbox (BACKLOG_SANDBOX_PATH) on 127.0.0.1 with a read-only HTML view.

    The API is under /v1 (point NOTION_API_URL at it from another process, token BACKLOG_SANDBOX_TOKEN).
    """
    from service.sandbox import Sandbox
    from service.sandbox import serve as serve_sandbox

    settings = load_settings()
    box = Sandbox(
        settings.backlog_sandbox_path, token=settings.backlog_sandbox_token.get_secret_value(), rate_limit=rate_limit
    )
    out.print(f"Notion sandbox ({settings.backlog_sandbox_path}) on http://127.0.0.1:{port}/  (Ctrl-C to stop)")
    serve_sandbox(box, host="127.0.0.1", port=port)


# ---------------------------------------------------------------------------------------------------- demo
@app.command()
def demo(
    sprint: Annotated[int, typer.Option(help="Sprint number of the demo report.")] = 1,
    start: Annotated[str, typer.Option(help="First day of the demo sprint.")] = "2026-11-23",
) -> None:
    """The main job end to end on the embedded default: sandbox Notion + the sample exports in deploy/demo/.

    init -> sync (all five sources from their export files) -> score -> report. Run it twice: the second run
    creates nothing and writes only what changed.
    """
    demo_dir = find_demo_dir()
    exports = {
        "zendesk_export_path": demo_dir / "zendesk_tickets.json",
        "g2_export_path": demo_dir / "g2_reviews.csv",
        "gong_export_path": demo_dir / "gong_calls.json",
        "github_export_path": demo_dir / "github_issues.json",
        "discord_export_path": demo_dir / "discord_export.json",
    }
    overrides: dict[str, Any] = {k: v for k, v in exports.items() if v.exists()}
    with command("demo", **overrides) as (settings, gateway):
        if not gateway.is_sandbox:
            raise CommandError("`backlog demo` only runs on the local sandbox; unset NOTION_TOKEN")
        out.rule("1. backlog init")
        code = do_init(gateway)
        out.rule("2. backlog sync (export files in deploy/demo/)")
        code = max(code, do_sync(settings, gateway))
        out.rule("3. the PM grooms in Notion (simulated: deploy/demo/pm_edits.json)")
        from service.pipelines.demo import apply_pm_edits

        edited, problems = apply_pm_edits(gateway, demo_dir / "pm_edits.json")
        out.print(f"PM edits applied to {edited} rows (RICE inputs, OKRs, overrides, blockers, merges)")
        for problem in problems:
            err.print(f"  [yellow]{problem}[/yellow]")
        out.rule("4. backlog score")
        code = max(code, do_score(settings, gateway))
        out.rule(f"5. backlog report --sprint {sprint}")
        code = max(
            code,
            do_report(
                settings,
                gateway,
                sprint=sprint,
                start=date.fromisoformat(start),
                out_file=Path(".backlog/demo-summary.md"),
            ),
        )
        out.rule("where to look")
        out.print(
            f"The sandbox is {settings.backlog_sandbox_path}. See it in a browser:\n"
            f"  make sandbox    (or: BACKLOG_SANDBOX_PATH={settings.backlog_sandbox_path} .venv/bin/backlog sandbox)\n"
            "  then open http://127.0.0.1:8787/\n"
            "Stakeholder summary (Markdown): .backlog/demo-summary.md"
        )
    raise typer.Exit(code)


def find_demo_dir() -> Path:
    for candidate in (Path("deploy/demo"), Path(__file__).resolve().parents[2] / "deploy" / "demo"):
        if candidate.is_dir():
            return candidate
    raise typer.BadParameter("deploy/demo/ not found; run `backlog demo` from the repository root")


# ---------------------------------------------------------------------------------------------------- config
@app.command("config")
def show_config() -> None:
    """Print every setting: its current value (secrets masked), default and meaning."""
    settings = load_settings()
    table = Table(title="settings")
    for col in ("setting", "value", "default", "meaning"):
        table.add_column(col)
    for name, default, meaning in settings_table():
        value = getattr(settings, name.lower())
        shown = (
            "(set, hidden)"
            if hasattr(value, "get_secret_value")
            else (",".join(value) if isinstance(value, list) else str(value) if value is not None else "(unset)")
        )
        table.add_row(name, shown, default, meaning)
    out.print(table)


def main() -> None:
    app()
