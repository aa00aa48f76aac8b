"""Cost proportional to the change (issue 12): exact Notion call counts, the same at N = 300 and N = 1,000 rows,
on the in-process sandbox with a clock that moves one second per stamp (so, like the real API at its rate
limit, at most about 60 rows share a minute). Every scenario runs through a fresh gateway, as a new process
would, with a warm row cache; deleting the cache costs one full read and changes nothing in the workspace."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.notion import NotionGateway
from service.pipelines.cycle import run_cycle
from service.pipelines.report import run_report
from service.pipelines.score import run_score
from service.pipelines.sync import SyncReport, run_sync
from service.policy_file import load_policy
from service.sandbox import Sandbox, SandboxTransport
from service.settings import Settings
from tests.fakes.sandbox_helpers import DEMO_CONFIG, DEMO_DIR, no_sleep, sandbox_settings

POLICY = load_policy(DEMO_CONFIG, explicit=True)
NEWEST = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SIZES = (300, 1000)


class TickingClock:
    """The sandbox's wall clock: one second further on every reading."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _ticket(template: dict[str, Any], number: int, updated: datetime, subject: str) -> dict[str, Any]:
    stamp = updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        **template,
        "id": 100000 + number,
        "url": f"https://wavelength.zendesk.com/api/v2/tickets/{100000 + number}.json",
        "subject": subject,
        "raw_subject": subject,
        "created_at": stamp,
        "updated_at": stamp,
    }


@dataclass
class World:
    """One sandbox file, its clock, the Zendesk export sync reads, and the settings of every process."""

    tmp: Path
    size: int
    clock: TickingClock
    settings: Settings
    export: Path

    @classmethod
    def make(cls, tmp: Path, size: int) -> World:
        export = tmp / "zendesk_tickets.json"
        world = cls(tmp, size, TickingClock(datetime(2026, 11, 21, 8, 0, tzinfo=UTC)), Settings(), export)
        world.settings = sandbox_settings(tmp, demo_exports=False, zendesk_export_path=export)
        world.write_export(size)
        return world

    def write_export(self, size: int, *, changed: int = 0) -> None:
        """`size` tickets a day apart (the newest at NEWEST); the newest `changed` of them edited an hour later."""
        data = json.loads((DEMO_DIR / "zendesk_tickets.json").read_text(encoding="utf-8"))
        template = data["tickets"][0]
        tickets = []
        for n in range(size):
            updated = NEWEST - timedelta(days=size - 1 - n)
            subject = f"Request {n}: {'latency' if n % 2 else 'export'} issue number {n * 7919 % 10007}"
            if n >= size - changed:
                updated, subject = NEWEST + timedelta(hours=1), f"{subject} (edited)"
            tickets.append(_ticket(template, n, updated, subject))
        data["tickets"], data["count"] = tickets, len(tickets)
        self.export.write_text(json.dumps(data), encoding="utf-8")

    @property
    def sandbox_path(self) -> Path:
        return self.settings.backlog_sandbox_path

    def gateway(self) -> NotionGateway:
        sandbox = Sandbox(self.sandbox_path, token="sandbox", wall_clock=self.clock)
        return NotionGateway.from_settings(self.settings, transport=SandboxTransport(sandbox), sleep=no_sleep)

    def sync(self) -> tuple[SyncReport, dict[str, int]]:
        with self.gateway() as gateway:
            report = run_sync(self.settings, gateway, POLICY, sources=["zendesk"])
            return report, gateway.calls.by_endpoint()

    def score(self, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with self.gateway() as gateway:
            report = run_score(gateway, POLICY, **kwargs)
            return report.written, gateway.calls.by_endpoint()

    def report(self) -> dict[str, int]:
        with self.gateway() as gateway:
            run_report(gateway, POLICY, sprint=1, start=date(2026, 11, 23))
            return gateway.calls.by_endpoint()

    def workspace(self) -> dict[str, dict[str, Any]]:
        """Every row's values by Source Key, read in full without the cache."""
        with self.gateway() as gateway:
            return {str(row.source_key): row.values for row in gateway.iter_rows()}


def _seeded(tmp: Path, size: int) -> World:
    """`size` rows made by a first sync, then scored, then read once more: the cache is warm and up to date."""
    world = World.make(tmp, size)
    with world.gateway() as gateway:
        gateway.init_database()
    first, _ = world.sync()
    assert first.totals()["created"] == size
    world.sync()  # the first sync read an empty database: this one reads the rows it made
    world.score()
    world.score()  # reads the rows the first score wrote
    world.report()
    world.report()
    return world


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[int, World]:
    return {size: _seeded(tmp_path_factory.mktemp(f"cost{size}"), size) for size in SIZES}


def _copy(world: World, tmp: Path) -> World:
    """A private copy of a seeded world (sandbox, cache and export), so each scenario starts from the same state."""
    shutil.copytree(world.tmp, tmp, dirs_exist_ok=True)
    copy = World(tmp, world.size, TickingClock(world.clock.now), world.settings, tmp / "zendesk_tickets.json")
    copy.settings = sandbox_settings(tmp, demo_exports=False, zendesk_export_path=copy.export)
    return copy


def _both(worlds: dict[int, World], tmp_path: Path) -> list[World]:
    return [_copy(worlds[size], tmp_path / str(size)) for size in SIZES]


def test_a_sync_with_nothing_new_costs_two_calls_at_any_size(worlds: dict[int, World], tmp_path: Path) -> None:
    counts = []
    for world in _both(worlds, tmp_path):
        report, calls = world.sync()
        assert report.notion_writes == 0
        assert report.totals()["unchanged"] == 2  # the overlap re-delivered the newest two tickets
        counts.append(calls)
    # One incremental read (the boundary minute again) and one lookup of the two delivered keys.
    assert counts[0] == counts[1] == {"data_sources.query": 2}


def test_ten_new_and_ten_changed_cost_their_writes_plus_two_reads(worlds: dict[int, World], tmp_path: Path) -> None:
    counts = []
    for world in _both(worlds, tmp_path):
        world.write_export(world.size + 10, changed=20)  # 10 new tickets and the 10 newest old ones edited
        report, calls = world.sync()
        assert (report.totals()["created"], report.totals()["updated"]) == (10, 10)
        counts.append(calls)
    lookups = math.ceil(22 / 100)  # 20 delivered + the 2 the overlap re-delivers
    assert counts[0] == counts[1] == {"data_sources.query": 1 + lookups, "pages.create": 10, "pages.update": 10}


def test_a_score_with_no_edits_is_one_read(worlds: dict[int, World], tmp_path: Path) -> None:
    results = [world.score() for world in _both(worlds, tmp_path)]
    assert results[0] == results[1] == (0, {"data_sources.query": 1})


def test_one_pm_edit_is_rescored_with_one_read_and_one_write(worlds: dict[int, World], tmp_path: Path) -> None:
    results = []
    for world in _both(worlds, tmp_path):
        with world.gateway() as gateway:
            row = gateway.find_by_source_keys(["zendesk:100100"])["zendesk:100100"]
            gateway.update_properties(row.page_id, {"Confidence": "100%", "Reach": 400, "Effort": "S"})
        results.append(world.score())
    assert results[0] == results[1] == (1, {"data_sources.query": 1, "pages.update": 1})


def test_a_report_rerun_with_no_edits_costs_the_incremental_read_and_one_look_at_its_page(
    worlds: dict[int, World], tmp_path: Path
) -> None:
    counts = [world.report() for world in _both(worlds, tmp_path)]
    assert counts[0] == counts[1]
    # the page was written by this host seconds ago: Notion's last_edited_by says nobody edited it since
    assert counts[0] == {"data_sources.query": 1, "pages.retrieve": 1}
    assert not {"pages.update", "pages.create", "blocks.children.append", "blocks.delete"} & set(counts[0])


def test_deleting_the_cache_costs_one_full_read_and_changes_no_result(worlds: dict[int, World], tmp_path: Path) -> None:
    for world in _both(worlds, tmp_path):
        before = world.workspace()
        shutil.rmtree(world.settings.backlog_cache_dir)
        report, calls = world.sync()
        assert report.notion_writes == 0
        assert report.totals()["unchanged"] == 2
        pages = math.ceil(world.size / 100)
        # Found again (search) with its schema, and one full read, which also answers which keys exist.
        assert calls == {"search": 1, "data_sources.retrieve": 1, "data_sources.query": pages}
        assert world.workspace() == before
        written, score_calls = world.score()
        # ... and who the integration is, once per cache file, to leave its own edits out of the reads
        assert (written, score_calls) == (0, {"data_sources.query": 1, "users.me": 1})


def test_run_reads_once_for_sync_and_score(worlds: dict[int, World], tmp_path: Path) -> None:
    counts = []
    for world in _both(worlds, tmp_path):
        world.write_export(world.size, changed=1)  # one ticket edited: one update, which score then rescores
        with world.gateway() as gateway:
            result = run_cycle(world.settings, gateway, POLICY)
            counts.append(gateway.calls.by_endpoint())
        assert result.exit_code == 0
    # sync: the incremental read + one lookup + the update; score: no read of its own, at most the rescore write
    assert counts[0] == counts[1]
    assert counts[0]["data_sources.query"] == 2
    assert counts[0]["pages.update"] in (1, 2)


def test_existence_is_decided_in_notion_not_by_the_cache(worlds: dict[int, World], tmp_path: Path) -> None:
    world = _copy(worlds[300], tmp_path)
    newest = f"zendesk:{100000 + world.size - 1}"
    elsewhere = sandbox_settings(tmp_path / "other", demo_exports=False)  # another host: its own cache dir
    sandbox = Sandbox(world.sandbox_path, token="sandbox", wall_clock=world.clock)
    with NotionGateway.from_settings(
        elsewhere.model_copy(update={"backlog_sandbox_path": world.sandbox_path}),
        transport=SandboxTransport(sandbox),
        sleep=no_sleep,
    ) as gateway:
        gateway.trash_row(gateway.find_by_source_keys([newest])[newest].page_id)  # this host's cache still has it

    report, _ = world.sync()

    assert report.totals()["created"] == 1  # the lookup found no row: made again, not "unchanged" from the cache
    assert newest in world.workspace()
