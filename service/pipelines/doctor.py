"""`backlog doctor`: is everything this deployment needs actually working? One row per check, each with the fix.

Checks make the cheapest read each service offers; nothing is written anywhere (init runs as a dry run).
Required checks (Notion) make the exit code non-zero; a source check fails only for a source that is configured.
The block checks never fail the run: the API does not tell a workspace's plan, only its members, so doctor says
when the Free plan's block cap may apply (more than one member) and warns at 80 % of NOTION_BLOCK_BUDGET.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from connectors.http import SourceError
from connectors.registry import CONNECTORS
from service.logging import get_logger
from service.notion import NotionError, NotionGateway
from service.notion.cache import RowCache, cache_path
from service.notion.calls import budget_warning
from service.pipelines.sources import build_connector
from service.settings import Settings

log = get_logger(__name__)


@dataclass(frozen=True)
class Check:
    area: str
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def run_checks(
    settings: Settings, *, transport: httpx.BaseTransport | None = None, gateway: NotionGateway | None = None
) -> list[Check]:
    """Every check, in order. `transport` fakes the sources in tests; `gateway` fakes Notion."""
    checks = notion_checks(settings, gateway)
    for name in CONNECTORS:
        try:
            checks.extend(source_checks(settings, name, transport))
        except SourceError as exc:  # a probe's own failure is a failed check, never a crash
            checks.append(Check(exc.source, "reachable", False, str(exc), "see the message", required=False))
    for check in checks:
        log.info("doctor.check", area=check.area, check=check.name, ok=check.ok, detail=check.detail)
    return checks


def notion_checks(settings: Settings, gateway: NotionGateway | None) -> list[Check]:
    gw = gateway or NotionGateway.from_settings(settings)
    try:
        checks = _notion_checks(settings, gw)
        if any(check.name == "token" and not check.ok for check in checks):
            return checks
        return checks + block_checks(settings, gw) + cache_checks(settings, gw)
    finally:
        if gateway is None:
            gw.close()


def _notion_checks(settings: Settings, gw: NotionGateway) -> list[Check]:
    area = "notion"
    checks: list[Check] = []
    if settings.uses_sandbox:
        checks.append(
            Check(
                area,
                "token",
                True,
                f"NOTION_TOKEN unset: using the local sandbox {settings.backlog_sandbox_path}",
                required=False,
            )
        )
    try:
        bot = gw.bot_user_id()
        checks.append(Check(area, "token", True, f"authenticated as bot user {bot}"))
    except NotionError as exc:
        checks.append(
            Check(
                area,
                "token",
                False,
                str(exc),
                "create an internal integration and set NOTION_TOKEN to its secret (deploy/README.md)",
            )
        )
        return checks
    try:
        parent = gw.parent_page_id()
        checks.append(Check(area, "parent page", True, f"parent page {parent} is shared with the integration"))
    except NotionError as exc:
        checks.append(
            Check(
                area,
                "parent page",
                False,
                str(exc),
                "set NOTION_PARENT_PAGE_ID and share that page with the integration (••• > Connections)",
            )
        )
    try:
        report = gw.init_database(dry_run=True)
    except NotionError as exc:
        checks.append(Check(area, "database", False, str(exc), "run `backlog init`"))
        return checks
    if report.created:
        checks.append(Check(area, "database", False, "no backlog-candidates database yet", "run `backlog init`"))
    elif report.problems:
        checks.extend(Check(area, f"property {p.property}", False, str(p), p.fix) for p in report.problems)
    elif report.added_properties or report.added_options:
        missing = ", ".join(report.added_properties + report.added_options)
        checks.append(Check(area, "database schema", False, f"missing: {missing}", "run `backlog init`"))
    else:
        checks.append(Check(area, "database schema", True, f"{report.ref.title} ({report.ref.url}) is complete"))
    return checks


def block_checks(settings: Settings, gw: NotionGateway) -> list[Check]:
    """The API version in use, whether the workspace may be block-capped, and how much of NOTION_BLOCK_BUDGET
    the database uses."""
    detail = f"Notion-Version {settings.notion_api_version} (NOTION_API_VERSION; docs/notion-versions.md)"
    return [Check("notion", "api version", True, detail, required=False), _plan_check(gw), _budget_check(settings, gw)]


def _plan_check(gw: NotionGateway) -> Check:
    try:
        members = len(gw.workspace_people())
    except NotionError as exc:
        return Check("notion", "block cap", True, f"cannot tell: the members could not be listed ({exc})", "", False)
    if members <= 1:
        detail = f"{members} member: a single-member workspace has no block cap, whatever its plan"
        return Check("notion", "block cap", True, detail, required=False)
    detail = (
        f"cannot tell: {members} members, and the API does not show the plan; on the Free plan integrations "
        "may create 1,000 blocks in the workspace's lifetime (each row is one)"
    )
    fix = "if the workspace is on the Free plan, set NOTION_BLOCK_BUDGET=1000 (docs/notion-versions.md)"
    return Check("notion", "block cap", True, detail, fix, required=False)


def _budget_check(settings: Settings, gw: NotionGateway) -> Check:
    budget = settings.notion_block_budget
    if budget is None:
        return Check("notion", "block budget", True, "NOTION_BLOCK_BUDGET unset: unlimited", required=False)
    try:
        used = gw.count_rows() + 1  # every row is a block, and so is the database; sprint pages add more
    except NotionError as exc:
        return Check("notion", "block budget", False, str(exc), "run `backlog init`", required=False)
    warning = budget_warning(used, budget)
    if warning is not None:
        return Check("notion", "block budget", False, warning, "see docs/notion-versions.md", required=False)
    detail = f"at least {used} of NOTION_BLOCK_BUDGET={budget} blocks used (the database and its rows)"
    return Check("notion", "block budget", True, detail, required=False)


def cache_checks(settings: Settings, gw: NotionGateway) -> list[Check]:
    """What makes runs cheap (docs/cost.md), read from the cache file alone: no call. Never fails the run."""
    try:
        ref = gw.database()
        editor = gw.editor_property()
    except NotionError:
        return []  # no database: the checks above say so
    path = cache_path(settings.backlog_cache_dir, ref.data_source_id)
    checks = [_rows_check(settings, RowCache(path), path)]
    if editor is None:
        detail = "no 'Last edited by' property: every read also returns this service's own writes"
        checks.append(Check("cache", "own edits", False, detail, "run `backlog init` (it adds it)", required=False))
    return checks


def _rows_check(settings: Settings, cache: RowCache, path: Path) -> Check:
    if not path.exists():
        detail = f"no row cache yet ({path}): the next run reads every row once, then only what changed"
        return Check("cache", "row cache", True, detail, required=False)
    state = cache.load()
    cache.close()
    if state is None or state.full_read_at is None:
        detail = f"{path} is unreadable or from another version: the next run reads every row once and rebuilds it"
        return Check("cache", "row cache", True, detail, required=False)
    age = datetime.now(UTC) - state.full_read_at
    hours = settings.backlog_full_read_hours
    due = max(0.0, hours - age.total_seconds() / 3600)
    detail = (
        f"{len(state.rows):,} rows; last full read {age.total_seconds() / 3600:.1f} h ago, next in {due:.1f} h "
        f"(BACKLOG_FULL_READ_HOURS={hours:g}); reads ask for edits since {state.watermark:%Y-%m-%d %H:%M} UTC"
        if state.watermark
        else f"{len(state.rows):,} rows"
    )
    if state.pending:
        detail += (
            f"; {len(state.pending)} write(s) of this service without their answer yet: until a read starts after "
            "they ended (or their process is gone), reads include this service's own edits"
        )
    return Check("cache", "row cache", True, detail, required=False)


def source_checks(settings: Settings, name: str, transport: httpx.BaseTransport | None) -> list[Check]:
    """The connector's own probe: the same config slice and client as sync (doctor builds no credentials)."""
    connector = build_connector(settings, name, transport=transport)
    return [Check(name, r.name, r.ok, r.detail, r.fix, required=False) for r in connector.probe()]


def print_checks(checks: list[Check], console: Console) -> None:
    table = Table(title="backlog doctor")
    for col in ("area", "check", "", "detail", "fix"):
        table.add_column(col)
    for c in checks:
        mark = "[green]ok[/green]" if c.ok else ("[red]FAIL[/red]" if c.required else "[yellow]fail[/yellow]")
        table.add_row(c.area, c.name, mark, c.detail, c.fix)
    console.print(table)
    if not any(c.area != "notion" for c in checks):
        console.print("No source configured: set at least one source's credentials or export file (README).")
