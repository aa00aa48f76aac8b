"""`backlog run`, the cron job: sync, then score, then (for a sprint) the report; each step timed and counted.

Themes (duplicate links, `backlog-themes`) run between sync and score on the grooming run (`--report --sprint N`)
and with `--themes`. Their Notion cost follows the change (the candidates come through the row cache; the theme
rows are one query), but they embed and regroup every open candidate (seconds of CPU at 10,000 rows) and rewrite
each theme's counts and trend as they move, so the hourly run leaves them out unless asked; the sprint page's
"What's rising" is computed by the report itself either way.

The order is the data's: score reads what sync wrote, the report reads the scores. A step that fails on Notion
is reported and the next one still runs (a score of yesterday's rows beats none); a configuration error (exit 2)
stops the cycle, since every later step would meet it too. The one-run-per-host lock is held by the caller
around the whole command (`service/app/frame.py`), so a second run exits before it opens Notion at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from scoring.policy import Policy
from service.logging import get_logger
from service.notion import NotionError, NotionGateway
from service.pipelines.report import ReportResult, run_report
from service.pipelines.score import run_score
from service.pipelines.sync import run_sync
from service.pipelines.themes import run_themes
from service.settings import Settings

log = get_logger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


@dataclass(frozen=True)
class SprintTarget:
    """Which sprint the report step plans: number N and its first day."""

    number: int
    start: date


Work = Callable[[], tuple[object, int]]  # one step: the report of the pipeline it ran, and its exit code


@dataclass
class StepResult:
    name: str  # init | sync | pm_edits | score | report
    exit_code: int
    notion_calls: int
    duration_s: float
    report: object = None  # SyncReport, ScoreReport, ReportResult... None when a Notion error stopped the step
    error: str | None = None


@dataclass
class CycleReport:
    steps: list[StepResult]

    @property
    def exit_code(self) -> int:
        """The worst step: 0 all ran, 1 something failed, 2 configuration error."""
        return max((step.exit_code for step in self.steps), default=EXIT_OK)


class StepObserver(Protocol):
    """What shows the steps to a person (the CLI); the pipeline only says what happened."""

    def step_started(self, name: str) -> None: ...

    def sync_event(self, kind: str, data: dict[str, Any]) -> None: ...

    def step_done(self, step: StepResult) -> None: ...


class Silent:
    """A StepObserver for callers with no display (tests, the webhook server)."""

    def step_started(self, name: str) -> None:
        """Nothing to show."""

    def sync_event(self, kind: str, data: dict[str, Any]) -> None:
        """Nothing to show."""

    def step_done(self, step: StepResult) -> None:
        """Nothing to show."""


def run_step(
    name: str, work: Work, gateway: NotionGateway, observer: StepObserver, *, contain: bool = True, logged: bool = True
) -> StepResult:
    """One step, timed and counted. `contain`: a Notion error becomes the step's result (exit 1) instead of
    ending the command; `logged`: one `run.step` event with the counts (the cron job's audit trail)."""
    observer.step_started(name)
    began, calls = time.monotonic(), gateway.calls.total
    report: object = None
    error: str | None = None
    try:
        report, code = work()
    except NotionError as exc:
        if not contain:
            raise
        code, error = EXIT_FAILED, str(exc)
    step = StepResult(name, code, gateway.calls.total - calls, time.monotonic() - began, report, error)
    if logged:
        log.info(
            "run.step",
            step=name,
            exit_code=step.exit_code,
            notion_calls=step.notion_calls,
            duration_s=round(step.duration_s, 2),
        )
    observer.step_done(step)
    return step


def sync_step(
    settings: Settings, gateway: NotionGateway, policy: Policy, observer: StepObserver, *, full: bool = False
) -> Work:
    def work() -> tuple[object, int]:
        gateway.database()  # a missing database is named before any source is read
        report = run_sync(settings, gateway, policy, on_event=observer.sync_event, full=full)
        return report, report.exit_code

    return work


def score_step(gateway: NotionGateway, policy: Policy, *, full: bool = False, handed: bool = False) -> Work:
    """`handed`: take the rows the previous step read (and its writes), not a second read (`run` reads once)."""

    def work() -> tuple[object, int]:
        gateway.database()
        rows = gateway.row_snapshot() if handed else None
        report = run_score(gateway, policy, rows=rows, full=full and rows is None)
        return report, report.exit_code

    return work


def themes_step(gateway: NotionGateway, policy: Policy) -> Work:
    """`backlog themes` as a step of a cycle (the demo, `backlog run --report` and `--themes`)."""

    def work() -> tuple[object, int]:
        gateway.database()
        return run_themes(gateway, sprint_weeks=policy.capacity.sprint_weeks), EXIT_OK

    return work


def report_exit_code(result: ReportResult) -> int:
    """1 when a row could not be marked (named in the summary): the page alone is not the whole report."""
    return EXIT_FAILED if result.failed else EXIT_OK


def report_step(gateway: NotionGateway, policy: Policy, sprint: SprintTarget, *, handed: bool = False) -> Work:
    def work() -> tuple[object, int]:
        gateway.database()
        rows = gateway.row_snapshot() if handed else None
        result = run_report(gateway, policy, sprint=sprint.number, start=sprint.start, given=rows)
        return result, report_exit_code(result)

    return work


def run_cycle(
    settings: Settings,
    gateway: NotionGateway,
    policy: Policy,
    *,
    sprint: SprintTarget | None = None,
    observer: StepObserver | None = None,
    full: bool = False,
    themes: bool = False,
) -> CycleReport:
    """Sync [-> themes] -> score [-> report]; stops after a step that ends with a configuration error. The rows
    are read once: score and report take sync's (with every write of the run applied), `full` makes that read a
    full one. Themes run with a sprint (the grooming run) or when asked (`themes`)."""
    shown = observer or Silent()
    steps: list[tuple[str, Work]] = [("sync", sync_step(settings, gateway, policy, shown, full=full))]
    if themes or sprint is not None:
        steps.append(("themes", themes_step(gateway, policy)))
    steps.append(("score", score_step(gateway, policy, full=full, handed=True)))
    if sprint is not None:
        steps.append(("report", report_step(gateway, policy, sprint, handed=True)))
    done: list[StepResult] = []
    for name, work in steps:
        step = run_step(name, work, gateway, shown)
        done.append(step)
        if step.exit_code == EXIT_CONFIG:
            break
    return CycleReport(done)
