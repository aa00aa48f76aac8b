"""`run_sync` end to end on the in-process Notion sandbox with the demo export files: counts, idempotence, PM
ownership, failing sources, dry run, cursors, and convergence after a SIGKILL."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock

from connectors.discord import DiscordConnector
from connectors.signal import Signal
from service.notion.gateway import NotionGateway, Row, RowWrite
from service.pipelines.heal import PM_OWNED
from service.pipelines.sources import build_connector
from service.pipelines.sync import SourceReport, SyncReport, cursors_from_rows, run_sync
from service.policy_file import load_policy
from service.sandbox import Sandbox, SandboxTransport
from service.settings import Settings
from tests.fakes.faults import CHAOS, Clock, FaultyTransport, lost_answer, timeout
from tests.fakes.sandbox_helpers import (
    DEMO_CONFIG,
    DEMO_DIR,
    DEMO_ITEMS,
    DEMO_TOTAL,
    MALFORMED_G2_WHERE,
    backlog_command,
    demo_env,
    no_sleep,
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


# --- 7. faults, clocks, hung sources (issue 10) -------------------------------------------------------------------


def sandbox_token(settings: Settings) -> str:
    return settings.backlog_sandbox_token.get_secret_value()


def faulty_gateway(settings: Settings, transport: FaultyTransport) -> NotionGateway:
    return NotionGateway.from_settings(settings, transport=transport, sleep=no_sleep)


def test_sync_at_ten_percent_faults_with_lost_answers_writes_each_item_once_and_keeps_pm_values(
    tmp_path: Path,
) -> None:
    settings = sandbox_settings(tmp_path, notion_max_retries=4)
    with sandbox_gateway(settings):
        pass
    box = Sandbox(settings.backlog_sandbox_path, token=sandbox_token(settings))
    pool = (*CHAOS, lost_answer(502), lost_answer(500), timeout(applied=True))  # more of the faults that duplicate
    transport = FaultyTransport(SandboxTransport(box), seed=11, rate=0.10, pool=pool)

    with faulty_gateway(settings, transport) as gateway:
        first = run_sync(settings, gateway, POLICY)
    pm_values = pm_edit_every_row(settings)
    with faulty_gateway(settings, transport) as gateway:
        second = run_sync(settings, gateway, POLICY, since=datetime(2000, 1, 1, tzinfo=UTC))  # read everything

    lost = [(method, path) for method, path, fault in transport.faults() if "applied" in fault]
    assert ("POST", "pages") in lost, transport.faults()  # the seed does lose the answer of a create that landed
    assert (first.exit_code, second.exit_code) == (0, 0)
    counts = source_key_counts(settings)
    assert sum(counts.values()) == DEMO_TOTAL
    assert max(counts.values()) == 1
    assert second.totals()["updated"] == DEMO_TOTAL  # every row rewritten under faults (stale hashes) ...
    assert pm_owned_values(settings) == pm_values  # ... and not one PM-owned value changed


def pm_edit_every_row(settings: Settings) -> dict[str, dict[str, object]]:
    """A PM's edits on every row, and a stale Content Hash so that the next sync rewrites each row."""
    with sandbox_gateway(settings, init=False) as gateway:
        for index, row in enumerate(gateway.iter_rows()):
            values = {"Effort": ["XS", "S", "M", "L", "XL"][index % 5], "Status": "Triaged", "Content Hash": "stale"}
            gateway.update_properties(row.page_id, values)
    return pm_owned_values(settings)


def pm_owned_values(settings: Settings) -> dict[str, dict[str, object]]:
    with sandbox_gateway(settings, init=False) as gateway:
        return {str(r.source_key): {n: r.values.get(n) for n in PM_OWNED} for r in gateway.iter_rows()}


def github_issue(number: int, updated: str, title: str | None = None) -> dict[str, object]:
    return {
        "number": number,
        "title": title or f"Feature request number {number} for the voice agent",
        "body": "Please add this.",
        "labels": [{"name": "enhancement"}],
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": updated,
        "url": f"https://github.com/acme/voice/issues/{number}",
        "reactionGroups": [],
        "author": {"login": "someone"},
        "state": "OPEN",
    }


def test_future_and_year_one_items_are_imported_flagged_and_never_break_the_cursor(tmp_path: Path) -> None:
    export = tmp_path / "issues.json"
    issues = [
        github_issue(1, "9999-12-31T23:59:59Z", "Dated in the future by a broken clock"),
        github_issue(5, "2099-06-01T00:00:00Z"),
        github_issue(2, "2026-11-20T10:00:00Z"),
        github_issue(3, "0001-01-01T00:00:00Z", "Dated in year one by a bad export"),
    ]
    export.write_text(json.dumps(issues), encoding="utf-8")
    settings = sandbox_settings(tmp_path, demo_exports=False, github_export_path=export)

    first = sync(settings, sources=["github"])

    github = by_source(first)["github"]
    assert (github.status, github.created) == ("ok", 4)
    assert any("Dated in the future" in n and "github:acme/voice#1" in n for n in github.notices)
    assert any("year one" in n and "before 1970" in n for n in github.notices)
    assert all(n in github.problems for n in github.notices)  # shown in the summary
    # A new item older than the future one but newer than the rest is still read: the cursor stayed in the past.
    issues.append(github_issue(4, "2026-11-21T10:00:00Z"))
    export.write_text(json.dumps(issues), encoding="utf-8")

    second = sync(settings, sources=["github"])

    github = by_source(second)["github"]
    assert github.since == datetime(2026, 11, 20, 10, tzinfo=UTC) - timedelta(hours=24)
    assert github.created == 1
    assert second.exit_code == 0
    assert sum(source_key_counts(settings).values()) == 5


def test_year_one_as_the_newest_date_means_read_everything() -> None:
    row = Row("p", "", datetime.now(UTC), datetime.now(UTC), None, {"Source": "GitHub", "Last Seen": date(1, 1, 1)})
    notices: dict[str, list[str]] = {}

    cursors = cursors_from_rows([row], timedelta(hours=24), notices=notices)

    assert cursors == {"GitHub": None}
    assert "before 1970" in notices["GitHub"][0]


def test_rows_are_written_oldest_first_so_a_kill_leaves_a_safe_cursor(tmp_path: Path) -> None:
    export = tmp_path / "issues.json"
    newest_first = [github_issue(n, f"2026-0{1 + n % 9}-1{n % 10}T00:00:00Z") for n in range(30, 0, -1)]
    export.write_text(json.dumps(newest_first), encoding="utf-8")
    settings = sandbox_settings(tmp_path, demo_exports=False, github_export_path=export)

    sync(settings, sources=["github"])

    with sandbox_gateway(settings, init=False) as gateway:
        written = [r.values["Last Seen"] for r in gateway.iter_rows()]  # created_time order = write order
    assert written == sorted(written)


def hanging(release: threading.Event) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        release.wait(30)  # a source that stops answering
        return httpx.Response(200, json=[])

    return httpx.MockTransport(handler)


def test_a_hung_source_times_out_while_the_others_are_written_as_soon_as_they_are_read(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path, github_repos=["acme/open-voice"], backlog_source_deadline_s=1.5)
    release = threading.Event()
    events: list[str] = []
    started = time.monotonic()
    try:
        with sandbox_gateway(settings) as gateway:
            report = run_sync(
                settings,
                gateway,
                POLICY,
                transports={"github": hanging(release)},
                on_event=lambda kind, data: events.append(data["source"]) if kind == "source_done" else None,
            )
    finally:
        release.set()

    assert time.monotonic() - started < 10
    sources = by_source(report)
    assert sources["github"].status == "failed"
    assert "timed out after 1.5 s" in sources["github"].message
    assert "BACKLOG_SOURCE_DEADLINE_S" in sources["github"].message
    assert sorted(events) == sorted(n for n in DEMO_ITEMS if n != "github")  # github held nothing back
    assert {name: s.created for name, s in sources.items() if name != "github"} == {
        k: v for k, v in DEMO_ITEMS.items() if k != "github"
    }
    assert report.exit_code == 1


def test_a_connector_bug_fails_its_source_whole_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parser meeting a shape it never met raises something it should have reported: that source fails with
    its file named, none of it is written (what came first may not be its oldest part), the others are written."""
    real = DiscordConnector.read_export

    def half_then_bug(self: DiscordConnector, since: datetime | None) -> Iterator[Signal]:
        yield next(iter(real(self, since)))
        raise TypeError("unhashable type: 'dict'")

    monkeypatch.setattr(DiscordConnector, "read_export", half_then_bug)
    settings = sandbox_settings(tmp_path)
    with sandbox_gateway(settings) as gateway:
        report = run_sync(settings, gateway, POLICY)
        keys = {str(row.source_key) for row in gateway.iter_rows()}

    sources = by_source(report)
    assert sources["discord"].status == "failed"
    message = sources["discord"].message
    assert str(settings.discord_export_path) in message
    assert "TypeError: unhashable type: 'dict'" in message
    assert "Nothing of this source was written" in message
    assert sources["discord"].created == 0
    assert not any(key.startswith("discord:") for key in keys)
    assert {name: s.created for name, s in sources.items() if name != "discord"} == {
        k: v for k, v in DEMO_ITEMS.items() if k != "discord"
    }
    assert report.exit_code == 1


def test_sync_heals_duplicates_a_racing_run_left_and_updates_go_to_the_oldest(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    sync(settings, sources=["zendesk"])
    later = datetime.now(UTC) + timedelta(minutes=5)  # Notion's created_time has minute precision
    box = Sandbox(settings.backlog_sandbox_path, token=sandbox_token(settings), wall_clock=lambda: later)
    with NotionGateway.from_settings(settings, transport=SandboxTransport(box), sleep=no_sleep) as gateway:
        rows = list(gateway.iter_rows())
        oldest_id = rows[0].page_id
        key = str(rows[0].source_key)
        copy = gateway.upsert([RowWrite(key, {"Name": "copy", "Source": "Zendesk"}, {"Status": "New"})], existing={})
        gateway.update_properties(copy.created[0][1], {"Effort": "L", "Content Hash": "stale"})

    report = sync(settings, sources=["zendesk"])

    assert any(key in line and "Effort" in line for line in report.healing.merged)
    assert any(key in line for line in by_source(report)["zendesk"].notices)
    counts = source_key_counts(settings)
    assert counts[key] == 1
    with sandbox_gateway(settings, init=False) as gateway:
        kept = gateway.find_by_source_keys([key])[key]
    assert kept.page_id == oldest_id
    assert kept.values["Effort"] == "L"


def lagging_gateway(settings: Settings, lag_s: float) -> tuple[NotionGateway, FaultyTransport, Clock]:
    """A gateway on a sandbox whose query index lags `lag_s` behind writes; sleeping moves the sandbox's clock."""
    clock = Clock(datetime.now(UTC))
    box = Sandbox(settings.backlog_sandbox_path, token=sandbox_token(settings), wall_clock=clock, query_lag_s=lag_s)
    transport = FaultyTransport(SandboxTransport(box))

    def sleep(seconds: float) -> None:
        clock.now += timedelta(seconds=seconds)

    return NotionGateway.from_settings(settings, transport=transport, sleep=sleep), transport, clock


def test_a_lost_create_answer_while_queries_lag_is_found_by_rechecking_not_created_again(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    with sandbox_gateway(settings):
        pass
    gateway, transport, _clock = lagging_gateway(settings, lag_s=3)
    transport.fail("POST", "pages", lost_answer(502), times=3)

    with gateway:
        report = run_sync(settings, gateway, POLICY, sources=["zendesk"])

    assert report.exit_code == 0
    assert transport.count("POST", "pages") == DEMO_ITEMS["zendesk"]  # no create was sent twice
    counts = source_key_counts(settings)
    assert sum(counts.values()) == DEMO_ITEMS["zendesk"]
    assert max(counts.values()) == 1


def test_a_duplicate_left_by_a_lag_longer_than_the_rechecks_is_healed_by_the_next_sync(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    with sandbox_gateway(settings):
        pass
    gateway, transport, clock = lagging_gateway(settings, lag_s=600)
    transport.fail("POST", "pages", lost_answer(502))
    with gateway:
        run_sync(settings, gateway, POLICY, sources=["zendesk"])
    clock.now += timedelta(minutes=11)  # the index caught up: both copies are visible
    with NotionGateway.from_settings(settings, transport=transport, sleep=no_sleep) as gateway:
        assert max(Counter(str(r.source_key) for r in gateway.iter_rows()).values()) == 2

    with NotionGateway.from_settings(settings, transport=transport, sleep=no_sleep) as gateway:
        report = run_sync(settings, gateway, POLICY, sources=["zendesk"])

    assert len(report.healing.trashed) == 1
    with NotionGateway.from_settings(settings, transport=transport, sleep=no_sleep) as gateway:
        counts = Counter(str(r.source_key) for r in gateway.iter_rows())
    assert sum(counts.values()) == DEMO_ITEMS["zendesk"]
    assert max(counts.values()) == 1
