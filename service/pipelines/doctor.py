"""`backlog doctor`: is everything this deployment needs actually working? One row per check, each with the fix.

Checks make the cheapest read each service offers; nothing is written anywhere (init runs as a dry run).
Required checks (Notion) make the exit code non-zero; a source check fails only for a source that is configured.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.table import Table

from connectors.http import SourceError
from connectors.registry import CONNECTORS
from service.logging import get_logger
from service.notion import NotionError, NotionGateway
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
        return _notion_checks(settings, gw)
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
