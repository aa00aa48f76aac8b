"""`run_sync` end to end on the in-process Notion sandbox with the demo export files: counts, idempotence, PM
ownership, failing sources, dry run, cursors, and convergence after a SIGKILL."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock

from service.notion.gateway import NotionGateway
from service.pipelines.sources import build_connector
from service.pipelines.sync import SourceReport, SyncReport, run_sync
from service.policy_file import load_policy
from service.settings import Settings
from tests.fakes.sandbox_helpers import (
    DEMO_CONFIG,
    DEMO_DIR,
    DEMO_ITEMS,
    DEMO_TOTAL,
    MALFORMED_G2_WHERE,
    backlog_command,
    demo_env,
    sandbox_gateway,
    sandbox_settings,
    source_key_counts,
    sqlite_row_count,
)

POLICY = load_policy(DEMO_CONFIG, explicit=True)


def sync(
    settings: Settings,
    *,
    sources: list[str] | None = None,
    dry_run: bool = False,
    transports: dict[str, httpx.BaseTransport] | None = None,
) -> SyncReport:
    """One sync through a fresh gateway, as a new `backlog sync` process would run it."""
    with sandbox_gateway(settings) as gateway:
        return run_sync(settings, gateway, POLICY, sources=sources, dry_run=dry_run, transports=transports)


def by_source(report: SyncReport) -> dict[str, SourceReport]:
    return {s.source: s for s in report.sources}


def row_for(gateway: NotionGateway, source_key: str) -> dict[str, object]:
    rows = gateway.find_by_source_keys([source_key])
    assert source_key in rows, f"no row for {source_key}"
    return rows[source_key].values


# --- 1. demo exports: counts, the malformed row, and a second sync that writes nothing ---------------------------


def test_demo_sync_creates_one_row_per_item_and_a_second_sync_writes_nothing(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)

    first = sync(settings)

    sources = by_source(first)
    assert {name: s.created for name, s in sources.items()} == DEMO_ITEMS
    assert all(s.status == "ok" for s in sources.values())
    assert first.exit_code == 0
    assert first.notion_writes == DEMO_TOTAL  # one create per row, nothing else
    assert sources["g2"].skipped == 1
    assert any(MALFORMED_G2_WHERE in problem and "10465093" in problem for problem in sources["g2"].problems)
    counts = source_key_counts(settings)
    assert sum(counts.values()) == DEMO_TOTAL
    assert "g2:10465093" not in counts  # the malformed review was skipped, not half-written

    second = sync(settings)

    assert second.notion_writes == 0
    assert second.exit_code == 0
    assert second.totals()["created"] == 0
    assert second.totals()["updated"] == 0
    assert second.totals()["unchanged"] > 0  # the overlap re-read some rows and found them unchanged
    assert by_source(second)["g2"].skipped == 1  # still reported, still skipped
    # One call: a single page of rows (55 < 100); no per-row lookups (init already read the database and schema).
    assert second.notion_calls == 1
    assert source_key_counts(settings) == counts


# --- 2. one export item changed: exactly that row is updated, PM-owned properties survive ------------------------


def test_changed_export_item_updates_only_that_row_and_keeps_pm_properties(tmp_path: Path) -> None:
    export = tmp_path / "zendesk_tickets.json"
    export.write_text((DEMO_DIR / "zendesk_tickets.json").read_text(encoding="utf-8"), encoding="utf-8")
    settings = sandbox_settings(tmp_path, zendesk_export_path=export)
    sync(settings)
    with sandbox_gateway(settings) as gateway:
        row = gateway.find_by_source_keys(["zendesk:35436"])["zendesk:35436"]
        gateway.update_properties(row.page_id, {"Impact": "2", "Status": "Triaged", "Reach": "5"})

    data = json.loads(export.read_text(encoding="utf-8"))
    ticket = next(t for t in data["tickets"] if t["id"] == 35436)
    ticket["subject"] = ticket["raw_subject"] = "First response latency blocks our IVR rollout"
    ticket["updated_at"] = "2026-11-20T10:00:00Z"
    export.write_text(json.dumps(data), encoding="utf-8")

    report = sync(settings)

    zendesk = by_source(report)["zendesk"]
    assert (zendesk.created, zendesk.updated, zendesk.failed) == (0, 1, 0)
    assert report.totals()["updated"] == 1
    assert report.totals()["created"] == 0
    assert report.notion_writes == 1
    with sandbox_gateway(settings) as gateway:
        values = row_for(gateway, "zendesk:35436")
    assert values["Name"] == "First response latency blocks our IVR rollout"
    assert values["Last Seen"] == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert (values["Impact"], values["Status"], values["Reach"]) == ("2", "Triaged", "5")
    assert sum(source_key_counts(settings).values()) == DEMO_TOTAL


# --- 3. a failing source does not stop the others ----------------------------------------------------------------


def test_github_401_fails_only_github_and_unconfigured_source_is_skipped_with_hint(
    tmp_path: Path, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        url=re.compile(r"^https://api\.github\.com/repos/acme/open-voice/issues\b"),
        status_code=401,
        json={"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
    )
    settings = sandbox_settings(
        tmp_path,
        demo_exports=False,
        zendesk_export_path=DEMO_DIR / "zendesk_tickets.json",
        github_repos=["acme/open-voice"],
        github_token="ghp_notarealtoken0000000000",
    )

    report = sync(settings, sources=["zendesk", "github", "discord"])

    sources = by_source(report)
    assert sources["github"].status == "failed"
    assert "GITHUB_TOKEN" in sources["github"].message
    assert "ghp_notarealtoken" not in sources["github"].message
    assert sources["zendesk"].status == "ok"
    assert sources["zendesk"].created == DEMO_ITEMS["zendesk"]
    assert sources["discord"].status == "skipped"
    assert "DISCORD_EXPORT_PATH" in sources["discord"].message
    assert report.exit_code == 1
    assert sum(source_key_counts(settings).values()) == DEMO_ITEMS["zendesk"]


def test_github_500s_are_retried_then_fail_while_its_export_rows_and_other_sources_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests: list[httpx.Request] = []

    def always_500(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(500, json={"message": "Server Error"})

    waits: list[float] = []
    sleep_default = build_connector.__kwdefaults__
    assert sleep_default is not None
    monkeypatch.setitem(sleep_default, "sleep", waits.append)  # no real back-off: the sleep is recorded
    settings = sandbox_settings(tmp_path, github_repos=["acme/open-voice"])

    report = sync(settings, transports={"github": httpx.MockTransport(always_500)})

    sources = by_source(report)
    assert sources["github"].status == "failed"
    assert "still failing after" in sources["github"].message
    assert len(requests) == len(waits) + 1 > 1  # retried with back-off, through the injected sleep
    assert sources["github"].created == DEMO_ITEMS["github"]  # what the export gave is still written
    assert {name: s.created for name, s in sources.items() if name != "github"} == {
        k: v for k, v in DEMO_ITEMS.items() if k != "github"
    }
    assert report.exit_code == 1


# --- 4. dry run -------------------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_reports_what_it_would_create(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)

    report = sync(settings, dry_run=True)

    assert report.dry_run
    assert report.notion_writes == 0
    assert source_key_counts(settings) == {}
    assert report.totals()["created"] == DEMO_TOTAL
    assert "First response latency is too slow for our IVR replacement" in by_source(report)["zendesk"].would_create


# --- 5. cursors come from Notion ----------------------------------------------------------------------------------


def test_next_sync_starts_at_newest_last_seen_minus_overlap(tmp_path: Path) -> None:
    overlap = timedelta(hours=6)
    settings = sandbox_settings(tmp_path, backlog_sync_overlap_hours=6)
    newest = {name: max(s.updated_at for s in build_connector(settings, name).read(None)) for name in DEMO_ITEMS}
    assert newest["zendesk"] == datetime(2026, 11, 17, 8, 30, tzinfo=UTC)  # ticket 35521; billing 35527 ignored

    first = sync(settings)
    assert all(s.since is None for s in first.sources)  # empty database: read everything

    second = sync(settings)

    assert {s.source: s.since for s in second.sources} == {name: when - overlap for name, when in newest.items()}
    # Only items at or after the cursor were read again.
    assert by_source(second)["zendesk"].fetched == 1


# --- 6. SIGKILL mid-run, then a run to completion: exactly one row per item ----------------------------------------


def test_sync_killed_mid_run_converges_without_duplicates(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    with sandbox_gateway(settings):
        pass  # creates the database, as `backlog init` would
    env = demo_env(tmp_path, NOTION_RATE_LIMIT="20")  # ~60 calls at 20/s: about three seconds of work
    with (tmp_path / "killed.out").open("wb") as out:
        process = subprocess.Popen(backlog_command("sync"), env=env, cwd=tmp_path, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 15
            while sqlite_row_count(settings.backlog_sandbox_path) < 10 and process.poll() is None:
                assert time.monotonic() < deadline, "the sync subprocess created no rows in 15 s"
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, (tmp_path / "killed.out").read_text()
    rows_left = sqlite_row_count(settings.backlog_sandbox_path)
    assert 0 < rows_left < DEMO_TOTAL

    report = sync(settings)

    assert report.exit_code == 0
    assert report.totals()["created"] == DEMO_TOTAL - rows_left
    counts = source_key_counts(settings)
    assert sum(counts.values()) == DEMO_TOTAL
    assert max(counts.values()) == 1
    assert {key.split(":", 1)[0] for key in counts} == set(DEMO_ITEMS)
