"""The `backlog` command line. Every command: parse -> one pipeline inside the command frame (settings, logging,
gateway, errors -> exit codes, the Notion call count; `frame.py`) -> render (`render.py`) -> exit code.
Exit codes: 0 ok, 1 something failed (named above the summary), 2 configuration.

With no NOTION_TOKEN every command runs against the local Notion sandbox (BACKLOG_SANDBOX_PATH), so the whole
tool works on a fresh machine; `backlog sandbox` serves that file with a read-only HTML view.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from connectors.registry import CONNECTORS
from scoring.audiences import UnknownAudienceError, audience_name
from service.app.frame import CommandError, command, load_settings
from service.app.progress import SyncProgress
from service.app.render import (
    CycleView,
    DemoView,
    err,
    out,
    render_escalate,
    render_init,
    render_report,
    render_score,
    render_settings,
    render_sync,
    render_themes,
)
from service.notion import NotionAuthError, NotionError, NotionNotFoundError
from service.pipelines.control_page import CONTROL_PAGE_TITLE, ensure_control_page
from service.pipelines.cycle import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, SprintTarget, report_exit_code, run_cycle
from service.pipelines.demo import export_overrides, run_demo
from service.pipelines.escalate import EscalationError, page_id_of, run_escalate
from service.pipelines.report import run_report
from service.pipelines.score import run_score
from service.pipelines.sync import run_sync
from service.pipelines.themes import run_themes
from service.policy_file import ConfigError, policy_for

app = typer.Typer(
    help="Backlog grooming inside Notion: gather feedback (sync), score it (RICE), plan the sprint (report).\n\n"
    "Without NOTION_TOKEN every command uses the local Notion sandbox; see `backlog sandbox`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)

DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")]
FullRead = Annotated[
    bool, typer.Option("--full", help="Read every row from Notion, not just those edited since the last run.")
]


# ---------------------------------------------------------------------------------------------------- parsing
MAX_SPRINT = 9999  # a larger sprint number is a typo (and would be written on the planned rows)


def parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD or an ISO timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_start(value: str | None, *, param: str = "--start") -> date:
    """A sprint's first day; default next Monday."""
    if not value:
        return next_monday(datetime.now(UTC).date())
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=param) from None


def next_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def check_sources(names: list[str] | None) -> None:
    """A typo is named before any Notion call, whatever state the workspace is in."""
    unknown = [name for name in names or [] if name.lower() not in CONNECTORS]
    if unknown:
        raise typer.BadParameter(
            f"unknown source {', '.join(map(repr, unknown))}; choose from {', '.join(CONNECTORS)}",
            param_hint="--source",
        )


# ---------------------------------------------------------------------------------------------------- commands
@app.command()
def init(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; write nothing.")] = False,
) -> None:
    """Create the backlog-candidates database under NOTION_PARENT_PAGE_ID, or adopt an existing one.

    Adopting (NOTION_DATABASE_ID, or a database titled NOTION_DATABASE_TITLE) adds missing properties and select
    options, leaves your extra properties alone, and names any property of the wrong type with the exact fix.
    It also creates, once, the "backlog control" page: what to paste into each Notion button (docs/buttons.md).
    Running it twice changes nothing.
    """
    with command("init", exclusive=not dry_run) as (settings, gateway):
        report = gateway.init_database(dry_run=dry_run)
        render_init(report, dry_run=dry_run)
        control = ensure_control_page(gateway, settings, dry_run=dry_run)
        out.print(f"Control page ({control.action}): {escape(control.url or CONTROL_PAGE_TITLE)}  (docs/buttons.md)")
    raise typer.Exit(EXIT_CONFIG if report.problems else EXIT_OK)


@app.command()
def sync(
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Only this source (repeatable): zendesk, g2, gong, github, discord."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Read items updated since this date (overrides the cursor from Notion).")
    ] = None,
    dry_run: DryRun = False,
    full: FullRead = False,
) -> None:
    """Gather feedback from every configured source into backlog-candidates (seed step 1).

    One row per piece of feedback, never a duplicate (rows are keyed by Source Key). Each source resumes from the
    newest Last Seen already in Notion (minus BACKLOG_SYNC_OVERLAP_HOURS). A source with no credentials and no
    export file is skipped with a line saying what to set. Exit 0 when all ran, 1 when a source failed, 2 for a
    configuration error.
    """
    check_sources(source)
    window_start = parse_since(since)
    with command("sync", exclusive=not dry_run) as (settings, gateway):
        policy = policy_for(settings)
        gateway.database()
        with SyncProgress(err) as shown:
            report = run_sync(
                settings,
                gateway,
                policy,
                sources=source,
                since=window_start,
                dry_run=dry_run,
                on_event=shown,
                full=full,
            )
        render_sync(report)
    raise typer.Exit(report.exit_code)


@app.command()
def score(
    page: Annotated[str | None, typer.Option("--page", help="Re-read this page first (it changed).")] = None,
    dry_run: DryRun = False,
    full: FullRead = False,
) -> None:
    """Write RICE, Priority and Score Note to every candidate (seed steps 2–3); only rows whose values changed.

    Your inputs (Reach, Impact, Confidence, Effort, Severity, OKR, Strategic Override) are read, never written.
    Where Reach or Confidence is empty, a suggestion from the evidence is used and marked as such in Score Note.
    """
    if page is not None:
        try:
            page = page_id_of(page)
        except EscalationError as exc:
            raise typer.BadParameter(str(exc), param_hint="--page") from None
    with command("score", exclusive=not dry_run) as (settings, gateway):
        policy = policy_for(settings)
        gateway.database()
        report = run_score(gateway, policy, page_id=page, dry_run=dry_run, full=full)
        render_score(report, dry_run=dry_run)
    raise typer.Exit(report.exit_code)


@app.command()
def report(
    sprint: Annotated[
        int, typer.Option("--sprint", min=1, max=MAX_SPRINT, help="Sprint number N (page 'Sprint N — dates').")
    ],
    start: Annotated[str | None, typer.Option(help="First day of the sprint (default: next Monday).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; write nothing to Notion.")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the stakeholder summary (Markdown) here; default stdout.")
    ] = None,
    audience: Annotated[
        str, typer.Option(help="Markdown for engineering (full), design, sales (or cs), leadership or marketing.")
    ] = "engineering",
) -> None:
    """Plan sprint N within capacity and write the sprint page + stakeholder summary to Notion (seed steps 4–6).

    Writes the page and the planned rows only; re-running for the same sprint updates the same page.
    """
    first_day = parse_start(start)
    try:
        audience = audience_name(audience)
    except UnknownAudienceError as exc:
        raise typer.BadParameter(str(exc), param_hint="--audience") from None
    with command("report", exclusive=not dry_run) as (settings, gateway):
        policy = policy_for(settings)
        gateway.database()
        result = run_report(gateway, policy, sprint=sprint, start=first_day, dry_run=dry_run, audience=audience)
        render_report(result, sprint=sprint, dry_run=dry_run, out_file=out_file)
    raise typer.Exit(report_exit_code(result))


@app.command()
def run(
    with_report: Annotated[bool, typer.Option("--report", help="Also write the sprint report.")] = False,
    sprint: Annotated[
        int | None, typer.Option("--sprint", min=1, max=MAX_SPRINT, help="Sprint number for --report.")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Sprint start for --report (default next Monday).")] = None,
    with_themes: Annotated[
        bool,
        typer.Option("--themes", help="Also run `backlog themes` after sync (always done with --report)."),
    ] = False,
    full: FullRead = False,
) -> None:
    """The cron job: sync, then score (then themes and the report with --report --sprint N). One run at a time
    per host.

    Themes (duplicate links, the backlog-themes database) regroup every open candidate, so an hourly run leaves
    them to the grooming run (--report) unless --themes asks. A second `backlog run` while one holds the lock
    (BACKLOG_LOCK_PATH) exits at once with a message. Exit codes as `sync`. Each step logs one summary event with
    counts, Notion calls and duration.
    """
    if with_report and sprint is None:
        raise typer.BadParameter("--report needs --sprint N")
    if sprint is not None and not with_report:
        raise typer.BadParameter(
            f"--sprint {sprint} plans a sprint only with --report: run `backlog run --report --sprint {sprint}`",
            param_hint="--sprint",
        )
    target = SprintTarget(sprint, parse_start(start)) if with_report and sprint is not None else None
    with command("run", exclusive=True) as (settings, gateway), CycleView(sprint=sprint) as view:
        policy = policy_for(settings)
        result = run_cycle(settings, gateway, policy, sprint=target, observer=view, full=full, themes=with_themes)
    raise typer.Exit(result.exit_code)


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
    except (ConfigError, NotionAuthError, NotionNotFoundError) as exc:
        err.print(f"[red]serve:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CONFIG) from None
    except NotionError as exc:  # Notion down at start-up is not a setting to fix
        err.print(f"[red]serve failed:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from None
    worker.start()
    uvicorn.run(app_, host=host, port=port, log_config=None, access_log=False)
    worker.stop()


@app.command()
def doctor() -> None:
    """Check Notion (token, parent page, database schema) and every configured source; print what to fix."""
    from service.pipelines.doctor import print_checks, run_checks

    checks = run_checks(load_settings())
    print_checks(checks, out)
    raise typer.Exit(EXIT_FAILED if any(c.required and not c.ok for c in checks) else EXIT_OK)


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
    target = SprintTarget(sprint, parse_start(start))
    summary = Path(".backlog/demo-summary.md")
    with command("demo", exclusive=True, overrides=export_overrides(demo_dir)) as (settings, gateway):
        if not gateway.is_sandbox:
            raise CommandError("`backlog demo` only runs on the local sandbox; unset NOTION_TOKEN")
        with DemoView(sprint=sprint, summary=summary) as view:
            code = run_demo(settings, gateway, policy_for(settings), demo_dir, sprint=target, observer=view)
        out.rule("where to look")
        out.print(
            f"The sandbox is {settings.backlog_sandbox_path}. See it in a browser:\n"
            f"  make sandbox    (or: BACKLOG_SANDBOX_PATH={settings.backlog_sandbox_path} .venv/bin/backlog sandbox)\n"
            "  then open http://127.0.0.1:8787/\n"
            f"Stakeholder summary (Markdown): {summary}\n"
            "Themes and trends: the 'backlog-themes' database under the same page (each candidate's Theme links it)"
        )
    raise typer.Exit(code)


@app.command()
def themes() -> None:
    """Grooming: link possible duplicates the sync missed, then group candidates into themes in `backlog-themes`.

    Never overwrites a Possible Duplicate or Theme you set, never merges; a theme you renamed keeps your name and an
    item you moved to another theme stays there. Writes only what changed (a re-run with nothing new writes nothing).
    """
    with command("themes", exclusive=True) as (settings, gateway):
        gateway.database()
        result = run_themes(gateway, sprint_weeks=policy_for(settings).capacity.sprint_weeks)
        render_themes(result)


def find_demo_dir() -> Path:
    for candidate in (Path("deploy/demo"), Path(__file__).resolve().parents[2] / "deploy" / "demo"):
        if candidate.is_dir():
            return candidate
    raise typer.BadParameter("deploy/demo/ not found; run `backlog demo` from the repository root")


@app.command("config")
def show_config() -> None:
    """Print every setting: its current value (secrets masked), default and meaning."""
    render_settings(load_settings())


@app.command()
def escalate(
    page: Annotated[str, typer.Argument(help="The escalated row: its Notion page id or link.")],
    sprint: Annotated[
        int | None, typer.Option("--sprint", min=1, max=MAX_SPRINT, help="Sprint N (default: the latest page).")
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Confirm: plan the row, drop the shown rows.")] = False,
    dry_run: DryRun = False,
) -> None:
    """Mid-sprint escalation (seed step 5): show what would be dropped to make room and log it on the sprint page.

    No row changes until you confirm with --apply; --dry-run records nothing either.
    """
    with command("escalate", exclusive=not dry_run) as (settings, gateway):
        policy = policy_for(settings)
        gateway.database()
        try:
            result = run_escalate(
                gateway, policy, page, sprint=sprint, today=datetime.now(UTC).date(), apply=apply, dry_run=dry_run
            )
        except EscalationError as exc:
            raise CommandError(str(exc)) from None
        render_escalate(result, dry_run=dry_run)
    raise typer.Exit(EXIT_OK)


def main() -> None:
    app()
