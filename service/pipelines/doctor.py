"""`backlog doctor`: is everything this deployment needs actually working? One row per check, each with the fix.

Checks make the cheapest read each service offers; nothing is written anywhere (init runs as a dry run).
Required checks (Notion) make the exit code non-zero; a source check fails only for a source that is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from connectors.http import SourceError, SourceHTTP
from service.logging import get_logger
from service.notion.gateway import NotionError, NotionGateway
from service.settings import Settings

log = get_logger(__name__)

DISCORD_MESSAGE_CONTENT = 1 << 18
DISCORD_MESSAGE_CONTENT_LIMITED = 1 << 19


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
    for probe in (zendesk_checks, g2_checks, gong_checks, github_checks, discord_checks):
        try:
            checks.extend(probe(settings, transport))
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


def _export_check(area: str, path: Any) -> list[Check]:
    if path is None:
        return []
    ok = path.is_file()
    return [
        Check(
            area,
            "export file",
            ok,
            f"{path} {'readable' if ok else 'not found'}",
            "" if ok else f"fix {area.upper()}_EXPORT_PATH",
            required=False,
        )
    ]


def _get(http: SourceHTTP, url: str, **kwargs: Any) -> tuple[bool, Any, str]:
    try:
        response = http.request("GET", url, **kwargs)
    except SourceError as exc:
        return False, None, str(exc)
    try:
        return True, response.json(), ""
    except ValueError:
        return True, None, ""


def _probe(
    area: str,
    name: str,
    http: SourceHTTP,
    url: str,
    fix: str,
    judge: Callable[[Any], tuple[bool, str, str]] | None = None,
    **kwargs: Any,
) -> Check:
    ok, body, error = _get(http, url, **kwargs)
    if not ok:
        return Check(area, name, False, error, fix, required=False)
    if judge is not None:
        good, detail, extra_fix = judge(body)
        return Check(area, name, good, detail, extra_fix, required=False)
    return Check(area, name, True, "ok", required=False)


def zendesk_checks(settings: Settings, transport: httpx.BaseTransport | None) -> list[Check]:
    checks = _export_check("zendesk", settings.zendesk_export_path)
    if not settings.zendesk_url:
        return checks
    if settings.zendesk_oauth_token:
        headers = {"Authorization": f"Bearer {settings.zendesk_oauth_token.get_secret_value()}"}
        auth = None
    elif settings.zendesk_email and settings.zendesk_api_token:
        headers, auth = {}, (f"{settings.zendesk_email}/token", settings.zendesk_api_token.get_secret_value())
    else:
        return [
            *checks,
            Check(
                "zendesk",
                "credentials",
                False,
                "ZENDESK_URL is set but no credentials",
                "set ZENDESK_EMAIL + ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN",
                required=False,
            ),
        ]
    http = SourceHTTP("zendesk", settings.zendesk_url, headers=headers, auth=auth, transport=transport, max_retries=1)

    def is_admin(body: Any) -> tuple[bool, str, str]:
        role = ((body or {}).get("user") or {}).get("role")
        if role == "admin":
            return True, "authenticated as an admin (incremental export allowed)", ""
        return False, f"authenticated, role {role!r}", "incremental export needs an admin: use an admin's API token"

    checks.append(
        _probe(
            "zendesk",
            "auth + admin rights",
            http,
            "/api/v2/users/me.json",
            "check ZENDESK_URL, ZENDESK_EMAIL and ZENDESK_API_TOKEN",
            is_admin,
        )
    )
    return checks


def g2_checks(settings: Settings, transport: httpx.BaseTransport | None) -> list[Check]:
    checks = _export_check("g2", settings.g2_export_path)
    if not settings.g2_api_token:
        return checks
    if not settings.g2_product_id:
        return [
            *checks,
            Check(
                "g2",
                "product",
                False,
                "G2_API_TOKEN set but G2_PRODUCT_ID missing",
                "set G2_PRODUCT_ID to your product's UUID",
                required=False,
            ),
        ]
    http = SourceHTTP(
        "g2",
        settings.g2_api_url,
        transport=transport,
        max_retries=1,
        headers={"Authorization": f"Bearer {settings.g2_api_token.get_secret_value()}"},
    )
    checks.append(
        _probe(
            "g2",
            "auth + product",
            http,
            f"/api/v2/products/{settings.g2_product_id}",
            "check G2_API_TOKEN and G2_PRODUCT_ID",
        )
    )
    return checks


def gong_checks(settings: Settings, transport: httpx.BaseTransport | None) -> list[Check]:
    checks = _export_check("gong", settings.gong_export_path)
    if not (settings.gong_access_key and settings.gong_access_key_secret):
        return checks
    http = SourceHTTP(
        "gong",
        settings.gong_api_url,
        transport=transport,
        max_retries=1,
        auth=(settings.gong_access_key.get_secret_value(), settings.gong_access_key_secret.get_secret_value()),
    )
    checks.append(
        _probe(
            "gong",
            "auth",
            http,
            "/v2/users",
            "check GONG_ACCESS_KEY / GONG_ACCESS_KEY_SECRET and that the key has api:calls:read:extensive",
            params={"limit": 1},
        )
    )
    return checks


def github_checks(settings: Settings, transport: httpx.BaseTransport | None) -> list[Check]:
    checks = _export_check("github", settings.github_export_path)
    if not settings.github_repos:
        return checks
    headers = {"Accept": "application/vnd.github+json"}
    if settings.github_token:
        headers["Authorization"] = f"Bearer {settings.github_token.get_secret_value()}"
    http = SourceHTTP("github", settings.github_api_url, headers=headers, transport=transport, max_retries=1)
    for repo in settings.github_repos:

        def has_issues(body: Any, repo: str = repo) -> tuple[bool, str, str]:
            if isinstance(body, dict) and body.get("has_issues") is False:
                return False, f"{repo} has issues disabled", "enable Issues or remove it from GITHUB_REPOS"
            return True, f"{repo} readable", ""

        checks.append(
            _probe(
                "github",
                f"repo {repo}",
                http,
                f"/repos/{repo}",
                "check GITHUB_REPOS and that GITHUB_TOKEN can read issues of this repo",
                has_issues,
            )
        )
    return checks


def discord_checks(settings: Settings, transport: httpx.BaseTransport | None) -> list[Check]:
    checks = _export_check("discord", settings.discord_export_path)
    if not settings.discord_bot_token:
        return checks
    http = SourceHTTP(
        "discord",
        settings.discord_api_url,
        transport=transport,
        max_retries=1,
        headers={"Authorization": f"Bot {settings.discord_bot_token.get_secret_value()}"},
    )

    def intent(body: Any) -> tuple[bool, str, str]:
        flags = int((body or {}).get("flags") or 0)
        if flags & (DISCORD_MESSAGE_CONTENT | DISCORD_MESSAGE_CONTENT_LIMITED):
            return True, "Message Content intent enabled", ""
        return (
            False,
            "Message Content intent is off: messages arrive with empty content",
            ("Discord Developer Portal > your app > Bot > Privileged Gateway Intents > Message Content Intent"),
        )

    checks.append(
        _probe("discord", "token + message content", http, "/applications/@me", "check DISCORD_BOT_TOKEN", intent)
    )
    for channel in settings.discord_channel_ids:
        checks.append(
            _probe(
                "discord",
                f"channel {channel}",
                http,
                f"/channels/{channel}",
                f"give the bot View Channel + Read Message History in channel {channel}",
            )
        )
    return checks


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
