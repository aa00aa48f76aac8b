"""What the commands print: one function per report, and the views that show a pipeline's steps as they run.

Tables go to stdout, problems and the Notion call count to stderr. Off a terminal (cron, CI, `make demo | tee`)
rich would wrap tables at 80 columns; they get 140 instead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Self

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from service.app.progress import SyncProgress
from service.notion import InitReport
from service.pipelines.cycle import StepResult
from service.pipelines.demo import PmEditsReport
from service.pipelines.escalate import EscalateResult
from service.pipelines.report import ReportResult
from service.pipelines.score import ScoreReport
from service.pipelines.sync import SyncReport
from service.pipelines.themes import ThemesReport
from service.settings import Settings, settings_table

out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

SYNC_COLUMNS = ("source", "status", "fetched", "created", "updated", "unchanged", "skipped", "failed", "Notion calls")
STATUS_STYLE = {"ok": "green", "skipped": "dim", "failed": "red", "config-error": "red"}


def render_init(report: InitReport, *, dry_run: bool = False) -> None:
    verb = "would create" if dry_run else "created"
    if report.created:
        out.print(f"[green]{verb}[/green] database {escape(repr(report.ref.title))}: {report.ref.url}")
    else:
        out.print(f"adopted database {escape(repr(report.ref.title))}: {report.ref.url}")
    if report.added_properties:
        out.print(f"  added properties: {escape(', '.join(report.added_properties))}")
    if report.added_options:
        out.print(f"  added select options: {escape(', '.join(report.added_options))}")
    for problem in report.problems:
        err.print(f"  [yellow]fix needed:[/yellow] {escape(str(problem))}")
    if not report.created and not report.added_properties and not report.added_options and not report.problems:
        out.print("  schema up to date: nothing to change")


def render_sync(report: SyncReport) -> None:
    """The per-source table, then each source's message and problems (and, on a dry run, what would change)."""
    table = Table(title="sync" + (" (dry run: nothing written)" if report.dry_run else ""))
    for col in SYNC_COLUMNS:
        table.add_column(col, justify="left" if col in ("source", "status") else "right")
    for s in report.sources:
        style = STATUS_STYLE.get(s.status, "")
        counts = (s.fetched, s.created, s.updated, s.unchanged, s.skipped, s.failed, s.notion_calls)
        table.add_row(s.source, f"[{style}]{s.status}[/{style}]", *(str(v) for v in counts))
    out.print(table)
    for s in report.sources:
        if s.message:  # a SourceError already names its source: print "github: ...", not "github: github: ..."
            message = s.message.removeprefix(f"{s.source}: ")
            out.print(f"  {escape(s.source)}: {escape(message)}")
        for problem in s.problems:
            out.print(f"  [yellow]{escape(problem)}[/yellow]")
        if report.dry_run:
            for title in s.would_create:
                out.print(f"  would create: {escape(title)}")
            for title in s.would_update:
                out.print(f"  would update: {escape(str(title))}")
    out.print(f"Notion writes: {report.notion_writes}; took {report.duration_s:.1f}s")


def render_score(report: ScoreReport, *, dry_run: bool = False) -> None:
    if dry_run:
        for name, changes in report.changes:
            shown = ", ".join(f"{k}={v}" for k, v in changes.items() if k != "Score Note")
            out.print(f"  would write {escape(name)}: {escape(shown)}")
    out.print(
        f"score: {report.read} rows read, {report.written} {'would be ' if dry_run else ''}written, "
        f"{report.unchanged} unchanged, {report.unscored} not scorable (see Score Note), {len(report.failed)} failed"
    )
    for page, message in report.failed:
        err.print(f"  [red]{page}[/red]: {escape(message)}")


def render_report(result: ReportResult, *, sprint: int, dry_run: bool = False, out_file: Path | None = None) -> None:
    """The stakeholder summary (to `out_file`, else stdout), then one line about the page and the rows."""
    if out_file:
        out_file.write_text(result.markdown, encoding="utf-8")
        out.print(f"summary written to {escape(str(out_file))}")
    else:
        sys.stdout.write(result.markdown + "\n")
    out.print(
        f"report: sprint {sprint}: {result.planned} planned ({result.planned_effort:g} of {result.plan_limit:g} "
        f"person-weeks), page {'would be ' if dry_run else ''}{result.page_action}: {escape(result.page_url or '-')}; "
        f"{result.rows_written} rows updated"
    )
    for page_id, message in result.failed:  # the exit code is 1: say which rows and why
        err.print(f"  [red]row {escape(page_id)} not marked for sprint {sprint}:[/red] {escape(message)}")


def render_escalate(result: EscalateResult, *, dry_run: bool = False) -> None:
    """The trade-off, and what was recorded or written (a dry run: nothing)."""
    out.print(f"escalate: sprint {result.sprint}: {escape(result.escalation.text)}")
    if dry_run:
        out.print("dry run: nothing recorded, no row changed")
    elif result.applied:
        out.print(f"applied: {result.rows_written} rows updated; logged on the sprint page")
    else:
        out.print("recorded on the sprint page's escalation log; no row changed (confirm with --apply)")


def render_pm_edits(report: PmEditsReport) -> None:
    out.print(f"PM edits applied to {report.written} rows (RICE inputs, OKRs, overrides, blockers, merges)")
    for problem in report.problems:
        err.print(f"  [yellow]{escape(problem)}[/yellow]")


def render_themes(report: ThemesReport) -> None:
    """The grooming step's counts and each theme's trend; where the themes are in Notion."""
    out.print(
        f"themes: {report.themes} ({len(report.created)} new, {len(report.updated)} updated), "
        f"{report.moved_rows} candidates' Theme written, {report.links} duplicate links, "
        f"{report.notion_writes} Notion writes"
    )
    for line in report.trends[:10]:
        out.print(f"  {escape(line)}")
    if report.url:
        out.print(f"themes in Notion: backlog-themes {report.url}")


def render_settings(settings: Settings) -> None:
    """Every setting: its value (secrets masked), default and meaning."""
    table = Table(title="settings")
    for col in ("setting", "value", "default", "meaning"):
        table.add_column(col)
    for name, default, meaning in settings_table():
        table.add_row(name, escape(_shown(getattr(settings, name.lower()))), escape(default), escape(meaning))
    out.print(table)


def _shown(value: object) -> str:
    if hasattr(value, "get_secret_value"):
        return "(set, hidden)"
    if isinstance(value, list):
        return ",".join(value)
    return str(value) if value is not None else "(unset)"


class StepView:
    """Shows a pipeline's steps as they run: the sync progress bar, then each step's report.

    `summary` is where the report step writes the stakeholder summary (None: stdout)."""

    def __init__(self, *, sprint: int | None = None, summary: Path | None = None) -> None:
        self.sprint = sprint
        self.summary = summary
        self._progress: SyncProgress | None = None

    def step_started(self, name: str) -> None:
        if name == "sync":
            self._progress = SyncProgress(err).start()

    def sync_event(self, kind: str, data: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress(kind, data)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop_progress()  # a step that raised never reached step_done

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def step_done(self, step: StepResult) -> None:
        self._stop_progress()
        if step.error is not None:
            err.print(f"[red]{step.name} failed:[/red] {escape(step.error)}")
        self.render(step.report)

    def render(self, report: object) -> None:
        """One step's report, by its type; None (the step failed) prints nothing more."""
        if isinstance(report, InitReport):
            render_init(report)
        elif isinstance(report, SyncReport):
            render_sync(report)
        elif isinstance(report, PmEditsReport):
            render_pm_edits(report)
        elif isinstance(report, ScoreReport):
            render_score(report)
        elif isinstance(report, ThemesReport):
            render_themes(report)
        elif isinstance(report, ReportResult):
            render_report(report, sprint=self.sprint or 0, out_file=self.summary)
        elif isinstance(report, EscalateResult):
            render_escalate(report, dry_run=True)


class CycleView(StepView):
    """`backlog run`: each step's report, then one line with its exit code, Notion calls and duration."""

    def step_done(self, step: StepResult) -> None:
        super().step_done(step)
        out.print(f"run: {step.name} exit {step.exit_code}, {step.notion_calls} Notion calls, {step.duration_s:.1f}s")


class DemoView(StepView):
    """`backlog demo`: a heading before each step, as the walkthrough of the seed's cycle."""

    def step_started(self, name: str) -> None:
        out.rule(self.heading(name))
        super().step_started(name)

    def heading(self, name: str) -> str:
        return {
            "init": "1. backlog init",
            "sync": "2. backlog sync (export files in deploy/demo/)",
            "pm_edits": "3. the PM grooms in Notion (simulated: deploy/demo/pm_edits.json)",
            "sync_cycle2": "3b. two weeks later: backlog sync (deploy/demo/cycle2/)",
            "themes": "3c. backlog themes (duplicate links, themes and trends in backlog-themes)",
            "score": "4. backlog score",
            "report": f"5. backlog report --sprint {self.sprint}",
            "escalate": f"6. backlog escalate PAGE --sprint {self.sprint} --dry-run (mid-sprint: what it would drop)",
        }.get(name, name)
