"""What the Notion layer's tests share: a gateway in front of a `FaultyNotion`, and ways to seed the sandbox
behind the faults (the way a PM's edits or an older run would have left the workspace)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from connectors.http import RateLimiter
from service.notion.codecs import encode_property, encode_rich_text
from service.notion.gateway import NotionGateway, RowWrite
from service.notion.schema import BY_NAME
from service.sandbox import ActAsPerson, SandboxTransport
from service.settings import Settings
from tests.fakes.faults import FaultyNotion

API = "https://api.notion.test"
TOKEN = "ntn_TESTSECRET0123456789"
T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
TITLE = "backlog-candidates"


def iso_minute(moment: datetime) -> str:
    """A timestamp the way Notion shows created_time: rounded down to the minute."""
    return moment.strftime("%Y-%m-%dT%H:%M:00.000Z")


def settings(**overrides: Any) -> Settings:
    """The real-API settings (NOTION_TOKEN set): the gateway gives real-Notion errors and hints."""
    values: dict[str, Any] = {"notion_token": SecretStr(TOKEN), "notion_api_url": API, "notion_max_retries": 3}
    values.update(overrides)
    return Settings(**values)


def make_gateway(notion: FaultyNotion, sleeps: list[float], **overrides: Any) -> NotionGateway:
    """A gateway whose every request goes through `notion.transport` (faults, recording); sleeps are recorded."""
    limiter = RateLimiter(1000.0, burst=1000, sleep=lambda _s: None)  # never waits: tests assert retry sleeps
    return NotionGateway.from_settings(
        settings(**overrides), transport=notion.transport, sleep=sleeps.append, limiter=limiter
    )


def setup_gateway(notion: FaultyNotion, **overrides: Any) -> NotionGateway:
    """A gateway straight to the sandbox (no faults, not recorded): for seeding with the real code."""
    limiter = RateLimiter(1000.0, burst=1000, sleep=lambda _s: None)
    transport = SandboxTransport(notion.sandbox)
    return NotionGateway.from_settings(
        settings(**overrides), transport=transport, sleep=lambda _s: None, limiter=limiter
    )


def pm_gateway(notion: FaultyNotion, tmp_path: Any, **overrides: Any) -> NotionGateway:
    """The PM editing in Notion's UI: straight to the sandbox as the workspace's person (last_edited_by is not
    the bot), with a cache dir of its own (a person's edit never reaches the service's cache)."""
    limiter = RateLimiter(1000.0, burst=1000, sleep=lambda _s: None)
    values = {"backlog_cache_dir": tmp_path / "pm-cache", **overrides}
    return NotionGateway.from_settings(
        settings(**values), transport=ActAsPerson(SandboxTransport(notion.sandbox)), sleep=lambda _s: None,
        limiter=limiter,
    )  # fmt: skip


def seed_rows(gateway: NotionGateway, count: int, start: int = 0) -> dict[str, str]:
    """`count` new Zendesk rows written by the service (zendesk:<start>...): Source Key -> page id."""
    writes = [
        RowWrite(f"zendesk:{n}", {"Name": f"row {n}", "Source": "Zendesk"}, {"Status": "New"})
        for n in range(start, start + count)
    ]
    return dict(gateway.upsert(writes, existing={}).created)


def full_database(notion: FaultyNotion) -> tuple[str, str]:
    """The candidates database as `backlog init` makes it: (database id, data source id)."""
    with setup_gateway(notion) as gateway:
        ref = gateway.init_database().ref
    return ref.database_id, ref.data_source_id


def create_database(notion: FaultyNotion, properties: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """A database the PM made by hand, with exactly `properties`: (database id, data source id)."""
    db = notion.api(
        "POST",
        "databases",
        {
            "parent": {"type": "page_id", "page_id": notion.sandbox.root_page_id},
            "title": encode_rich_text(TITLE),
            "initial_data_source": {"properties": properties},
        },
    )
    return str(db["id"]), str(db["data_sources"][0]["id"])


def add_row(
    notion: FaultyNotion, data_source_id: str, key: str, *, created: datetime | None = None, **values: Any
) -> str:
    """A row created outside the gateway (no Content Hash), at `created` or one minute after the last one."""
    if created is None:
        notion.clock.tick()
    else:
        notion.clock.now = created
    properties = {"Source Key": encode_property("rich_text", key)}
    properties.update({name: encode_property(BY_NAME[name].type, value) for name, value in values.items()})
    page = notion.api("POST", "pages", {"parent": {"data_source_id": data_source_id}, "properties": properties})
    return str(page["id"])


def rows_of(notion: FaultyNotion, data_source_id: str) -> list[dict[str, Any]]:
    """Every live row of the data source, read behind the faults."""
    answer = notion.api("POST", f"data_sources/{data_source_id}/query", {"page_size": 100})
    return list(answer["results"])


def write_for(key: str, **props: Any) -> RowWrite:
    base: dict[str, Any] = {"Name": f"Title {key}", "Source": "Zendesk", "Votes": 1, "Last Seen": T0}
    return RowWrite(key, {**base, **props}, {"Status": "New", "Type": "Feature"})


def paragraph(i: int) -> dict[str, Any]:
    return {"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": f"line {i}"}}]}}
