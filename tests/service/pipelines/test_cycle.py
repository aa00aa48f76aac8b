"""`backlog run`'s cycle on the in-process sandbox: sync [-> themes] -> score [-> report] in that order, each step
timed and counted; a Notion failure is contained to its step, a configuration error stops the cycle."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from service.pipelines.cycle import EXIT_CONFIG, EXIT_FAILED, SprintTarget, StepResult, run_cycle
from service.pipelines.report import ReportResult
from service.pipelines.score import ScoreReport
from service.pipelines.sync import SyncReport
from service.pipelines.themes import ThemesReport
from service.policy_file import load_policy
from tests.fakes.sandbox_helpers import DEMO_CONFIG, DEMO_ITEMS, DEMO_TOTAL, sandbox_gateway, sandbox_settings

POLICY = load_policy(DEMO_CONFIG, explicit=True)


class Recorder:
    """A StepObserver that remembers what it was shown, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.steps: list[StepResult] = []

    def step_started(self, name: str) -> None:
        self.seen.append(f"start {name}")

    def sync_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "source_done":
            self.seen.append(f"sync {data['source']}")

    def step_done(self, step: StepResult) -> None:
        self.seen.append(f"done {step.name}")
        self.steps.append(step)


def test_sync_then_score_each_counted_and_shown_in_order(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    shown = Recorder()
    with sandbox_gateway(settings) as gateway:
        before = gateway.calls.total

        result = run_cycle(settings, gateway, POLICY, observer=shown)

        total = gateway.calls.total - before
    assert result.exit_code == 0
    assert [s.name for s in result.steps] == ["sync", "score"]
    sync, score = (s.report for s in result.steps)
    assert isinstance(sync, SyncReport)
    assert sync.totals()["created"] == DEMO_TOTAL
    assert isinstance(score, ScoreReport)
    assert score.read == DEMO_TOTAL  # score read what sync had just written
    assert sum(s.notion_calls for s in result.steps) == total
    assert shown.seen[0] == "start sync"
    # Each source is shown once its rows are written, whichever source's read ended first.
    n = len(DEMO_ITEMS)
    assert sorted(shown.seen[1 : 1 + n]) == sorted(f"sync {name}" for name in DEMO_ITEMS)
    assert shown.seen[1 + n :] == ["done sync", "start score", "done score"]
    assert shown.steps == result.steps


def test_with_a_sprint_the_report_step_plans_it(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    with sandbox_gateway(settings) as gateway:
        result = run_cycle(settings, gateway, POLICY, sprint=SprintTarget(3, date(2026, 11, 23)))

    assert [s.name for s in result.steps] == ["sync", "themes", "score", "report"]
    themes = result.steps[1].report
    assert isinstance(themes, ThemesReport)
    assert themes.themes > 0  # the grooming run fills backlog-themes
    assert themes.created
    report = result.steps[-1].report
    assert isinstance(report, ReportResult)
    assert report.page_action == "created"
    assert "Sprint 3" in report.markdown


def test_themes_run_hourly_only_when_asked(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    with sandbox_gateway(settings) as gateway:
        plain = run_cycle(settings, gateway, POLICY)
        asked = run_cycle(settings, gateway, POLICY, themes=True)

    assert [s.name for s in plain.steps] == ["sync", "score"]
    assert [s.name for s in asked.steps] == ["sync", "themes", "score"]
    themes = asked.steps[1].report
    assert isinstance(themes, ThemesReport)
    assert themes.themes > 0
    assert asked.exit_code == 0


def test_a_notion_error_fails_its_step_and_the_next_step_still_runs(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    with sandbox_gateway(settings, init=False) as gateway:  # no `backlog init`: the database does not exist
        result = run_cycle(settings, gateway, POLICY)

    assert [(s.name, s.exit_code, s.report) for s in result.steps] == [
        ("sync", EXIT_FAILED, None),
        ("score", EXIT_FAILED, None),
    ]
    assert all("run `backlog init`" in str(s.error) for s in result.steps)
    assert result.exit_code == EXIT_FAILED


def test_a_configuration_error_stops_the_cycle_after_its_step(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path, gong_export_path=tmp_path / "missing.json")
    with sandbox_gateway(settings) as gateway:
        result = run_cycle(settings, gateway, POLICY, sprint=SprintTarget(1, date(2026, 11, 23)))

    assert [(s.name, s.exit_code) for s in result.steps] == [("sync", EXIT_CONFIG)]
    sync = result.steps[0].report
    assert isinstance(sync, SyncReport)
    assert "GONG_EXPORT_PATH" in next(s.message for s in sync.sources if s.source == "gong")
    assert result.exit_code == EXIT_CONFIG
