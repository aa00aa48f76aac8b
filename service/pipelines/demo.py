"""`backlog demo`: the main job end to end on the local sandbox with the sample exports in deploy/demo/.

init -> sync (all five sources from their export files) -> the PM's grooming -> score -> report. The PM is
simulated by `deploy/demo/pm_edits.json`, applied as the PM would edit rows in Notion. A row is edited only
while it is ungroomed (Status still "New"); every edit sets a Status, so a second demo run writes nothing and
never undoes what `report` did (Status Planned, Sprint); `Merged Into` is given by Source Key
translated to page ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.policy import Policy
from service.logging import get_logger
from service.notion import NotionGateway, Row
from service.pipelines.cycle import (
    EXIT_CONFIG,
    EXIT_OK,
    SprintTarget,
    StepObserver,
    Work,
    report_step,
    run_step,
    score_step,
    sync_step,
    themes_step,
)
from service.pipelines.escalate import first_waiting, run_escalate
from service.settings import Settings

log = get_logger(__name__)

# Settings field -> the sample export in deploy/demo/ it reads.
EXPORTS = {
    "zendesk_export_path": "zendesk_tickets.json",
    "g2_export_path": "g2_reviews.csv",
    "gong_export_path": "gong_calls.json",
    "github_export_path": "github_issues.json",
    "discord_export_path": "discord_export.json",
    "slack_export_path": "slack_export",
    "salesforce_export_path": "salesforce_lost_deals.csv",
    "trustpilot_export_path": "trustpilot_reviews.csv",
    "pagerduty_export_path": "pagerduty_incidents.json",
    "tracker_export_path": "tech_debt_tracker.csv",
}
STEPS = ("init", "sync", "pm_edits", "sync_cycle2", "themes", "score", "report", "escalate")
CYCLE2 = "cycle2"  # deploy/demo/cycle2/: exports dated two weeks later, synced as the next grooming cycle


@dataclass(frozen=True)
class PmEditsReport:
    """The simulated grooming: rows written, and the edits that named no row (a problem, not a crash)."""

    written: int
    problems: list[str]


def export_overrides(demo_dir: Path) -> dict[str, Path]:
    """The settings that point every source at its sample export (those present)."""
    paths = {name: demo_dir / file for name, file in EXPORTS.items()}
    return {name: path for name, path in paths.items() if path.exists()}


def _ungroomed(row: Row) -> bool:
    """The PM has not groomed this row yet: its Status is still the "New" that sync gave it."""
    return row.values.get("Status") in (None, "", "New")


def apply_pm_edits(gateway: NotionGateway, path: Path) -> PmEditsReport:
    """Apply the edits; returns (rows written, problems). An unknown Source Key is a problem, not a crash."""
    edits: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    rows: dict[str, Row] = {str(r.values.get("Source Key")): r for r in gateway.iter_rows()}
    written, problems = 0, []
    for key, values in edits.items():
        if key.startswith("_"):
            continue
        row = rows.get(key)
        if row is None:
            problems.append(f"{path.name}: {key}: no such Source Key in Notion (was the source synced?)")
            continue
        wanted = dict(values)
        if "Merged Into" in wanted:
            targets = [rows[k].page_id for k in wanted["Merged Into"] if k in rows]
            wanted["Merged Into"] = targets
        changes = {name: value for name, value in wanted.items() if row.values.get(name) != value}
        if changes and _ungroomed(row):
            gateway.update_properties(row.page_id, changes, what=f"the PM's edits of {key}")
            written += 1
    log.info("demo.pm_edits", rows_written=written, problems=len(problems))
    return PmEditsReport(written, problems)


def _init_step(gateway: NotionGateway) -> Work:
    def work() -> tuple[object, int]:
        report = gateway.init_database()
        return report, EXIT_CONFIG if report.problems else EXIT_OK

    return work


def _pm_edits_step(gateway: NotionGateway, path: Path) -> Work:
    def work() -> tuple[object, int]:
        return apply_pm_edits(gateway, path), EXIT_OK

    return work


def _cycle2(settings: Settings, demo_dir: Path) -> Settings:
    """The same settings, with the sources that have a second-cycle export pointed at it."""
    return settings.model_copy(update=export_overrides(demo_dir / CYCLE2))


def _escalate_step(gateway: NotionGateway, policy: Policy, sprint: SprintTarget) -> Work:
    """A dry run of a mid-sprint escalation of the best item left out: what it would drop; nothing is written."""

    def work() -> tuple[object, int]:
        page = first_waiting(gateway, policy, sprint.number, sprint.start)
        if page is None:
            return None, EXIT_OK
        result = run_escalate(gateway, policy, page, sprint=sprint.number, today=sprint.start, dry_run=True)
        return result, EXIT_OK

    return work


def run_demo(
    settings: Settings,
    gateway: NotionGateway,
    policy: Policy,
    demo_dir: Path,
    *,
    sprint: SprintTarget,
    observer: StepObserver,
) -> int:
    """Every step runs, whatever the one before returned (the demo shows everything); a Notion error ends it."""
    steps: dict[str, Work] = {
        "init": _init_step(gateway),
        "sync": sync_step(settings, gateway, policy, observer),
        "pm_edits": _pm_edits_step(gateway, demo_dir / "pm_edits.json"),
        "sync_cycle2": sync_step(_cycle2(settings, demo_dir), gateway, policy, observer),
        "themes": themes_step(gateway, policy),
        "score": score_step(gateway, policy),
        "report": report_step(gateway, policy, sprint),
        "escalate": _escalate_step(gateway, policy, sprint),
    }
    results = [run_step(name, steps[name], gateway, observer, contain=False, logged=False) for name in STEPS]
    return max(step.exit_code for step in results)
