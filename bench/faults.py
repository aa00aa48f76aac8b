"""Faults survived: each way issue 10 saw items lost or doubled, replayed and counted. Prints a table; asserts
nothing (tests/service/pipelines/test_sync.py and tests/e2e/ assert the same outcomes). `python bench/faults.py`.

Columns: items the sources hold, faults injected, rows lost (items with no live row), duplicates (extra live rows
for one Source Key) at the end, wall time of the scenario.
"""

from __future__ import annotations

import io
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.logging import configure_logging  # noqa: E402
from service.notion import NotionGateway  # noqa: E402
from service.pipelines.sync import run_sync  # noqa: E402
from service.policy_file import load_policy  # noqa: E402
from service.sandbox import Sandbox, SandboxTransport  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.e2e.support import (  # noqa: E402
    gh_export,
    key_counts,
    run,
    served_sandbox,
    start,
    sync_env,
    sync_killed_after,
)
from tests.fakes.faults import CHAOS, Clock, FaultyTransport, lost_answer, timeout  # noqa: E402
from tests.fakes.sandbox_helpers import DEMO_CONFIG, no_sleep, sandbox_settings  # noqa: E402

POLICY = load_policy(DEMO_CONFIG, explicit=True)


@dataclass
class Outcome:
    scenario: str
    items: int
    faults: str
    lost: int
    duplicates: int
    wall_s: float


def _tally(expected: list[str], counts: Counter[str]) -> tuple[int, int]:
    return sum(1 for k in expected if counts[k] == 0), sum(n - 1 for n in counts.values() if n > 1)


def _gateway(settings: Settings, transport: httpx.BaseTransport, sleep: Callable[[float], None]) -> NotionGateway:
    return NotionGateway.from_settings(settings, transport=transport, sleep=sleep)


def _counts(settings: Settings, transport: httpx.BaseTransport) -> Counter[str]:
    with _gateway(settings, transport, no_sleep) as gateway:
        return Counter(str(r.source_key) for r in gateway.iter_rows())


def chaos(tmp: Path) -> Outcome:
    """Two syncs of 300 items through a transport failing 10 % of requests, lost answers included."""
    export = tmp / "issues.json"
    keys = gh_export(export, 300)
    settings = sandbox_settings(tmp, demo_exports=False, github_export_path=export, notion_max_retries=4)
    box = Sandbox(settings.backlog_sandbox_path, token=settings.backlog_sandbox_token.get_secret_value())
    pool = (*CHAOS, lost_answer(502), lost_answer(500), timeout(applied=True))
    transport = FaultyTransport(SandboxTransport(box), seed=11, rate=0.10, pool=pool)
    for _ in range(2):
        with _gateway(settings, transport, no_sleep) as gateway:
            gateway.init_database()
            run_sync(settings, gateway, POLICY, since=datetime(2000, 1, 1, tzinfo=UTC))
    lost_answers = sum(1 for f in transport.faults() if "applied" in f[2])
    faults = f"{len(transport.faults())} ({lost_answers} lost answers)"
    return Outcome("10 % Notion faults, 2 syncs", 300, faults, *_tally(keys, _counts(settings, transport)), 0)


def lagging_index(tmp: Path) -> Outcome:
    """5 create answers lost while the query index lags 3 s (the rechecks find the rows), then 5 more while it
    lags 10 min (longer than the rechecks: a duplicate is made), then the sync that heals."""
    export = tmp / "issues.json"
    settings = sandbox_settings(tmp, demo_exports=False, github_export_path=export)
    clock = Clock(datetime.now(UTC))
    token = settings.backlog_sandbox_token.get_secret_value()
    box = Sandbox(settings.backlog_sandbox_path, token=token, wall_clock=clock)
    transport = FaultyTransport(SandboxTransport(box))

    def sleep(seconds: float) -> None:
        clock.now += timedelta(seconds=seconds)

    with _gateway(settings, transport, sleep) as gateway:
        gateway.init_database()
    for items, lag in ((50, 3.0), (100, 600.0)):
        keys = gh_export(export, items)
        box.query_lag_s = lag
        transport.fail("POST", "pages", lost_answer(502), times=5)
        with _gateway(settings, transport, sleep) as gateway:  # the new items are older than the cursor: read all
            run_sync(settings, gateway, POLICY, since=datetime(2000, 1, 1, tzinfo=UTC))
        clock.now += timedelta(minutes=11)
    with _gateway(settings, transport, sleep) as gateway:
        healed = len(run_sync(settings, gateway, POLICY).healing.trashed)  # the healing pass
    lost, dupes = _tally(keys, _counts(settings, transport))
    faults = f"10 lost answers ({healed} copies healed)"
    return Outcome("lost create answers, query lag 3 s / 10 min", 100, faults, lost, dupes, 0)


def sigkill(tmp: Path) -> Outcome:
    """`backlog sync` SIGKILLed 10 times after a seeded number of rows, then run to the end."""
    keys = gh_export(tmp / "issues.json", 300)
    env = sync_env(tmp, tmp / "issues.json")
    run(env, "init", cwd=tmp)
    rng = random.Random(10)
    for _ in range(10):
        sync_killed_after(env, tmp, rng.randint(1, 25))
    run(env, "sync", cwd=tmp)
    return Outcome("SIGKILL x10 (newest-first export)", 300, "10 kills", *_tally(keys, key_counts(env)), 0)


def racing(tmp: Path) -> Outcome:
    """Two `backlog sync` with different lock paths on one sandbox over HTTP, then one more sync."""
    keys = gh_export(tmp / "issues.json", 120)
    with served_sandbox(tmp, tmp / "issues.json") as served:
        run(served.env, "init", cwd=tmp)
        envs = [{**served.env, "BACKLOG_LOCK_PATH": str(tmp / f"lock-{i}")} for i in (1, 2)]
        procs = [start(e, "sync", cwd=tmp) for e in envs]
        for proc in procs:
            proc.wait(timeout=300)
        doubled = _tally(keys, key_counts(served.env))[1]
        run(served.env, "sync", cwd=tmp)
        lost, dupes = _tally(keys, key_counts(served.env))
    return Outcome("2 racing syncs + 1 sync", 120, f"1 race ({doubled} copies healed)", lost, dupes, 0)


def hung_source(tmp: Path) -> Outcome:
    """GitHub's API never answers (deadline 2 s) next to four demo export sources."""
    settings = sandbox_settings(tmp, github_repos=["acme/open-voice"], backlog_source_deadline_s=2)
    release = threading.Event()

    def hang(_request: httpx.Request) -> httpx.Response:
        release.wait(60)
        return httpx.Response(200, json=[])

    with NotionGateway.from_settings(settings, sleep=no_sleep) as gateway:
        gateway.init_database()
        report = run_sync(settings, gateway, POLICY, transports={"github": httpx.MockTransport(hang)})
    release.set()
    written = sum(s.created for s in report.sources)
    expected = sum(s.fetched for s in report.sources if s.source != "github")
    status = next(s.status for s in report.sources if s.source == "github")
    scenario = f"hung source (github {status}, exit {report.exit_code})"
    return Outcome(scenario, expected, "1 hang", expected - written, 0, 0)


def odd_dates(tmp: Path) -> Outcome:
    """Items dated 2099 and year 1 among ordinary ones; a later item must still be read."""
    export = tmp / "issues.json"
    issues = json.loads((ROOT / "deploy/demo/github_issues.json").read_text(encoding="utf-8"))
    issues[0]["updatedAt"], issues[1]["updatedAt"] = "2099-01-01T00:00:00Z", "0001-01-01T00:00:00Z"
    export.write_text(json.dumps(issues), encoding="utf-8")
    settings = sandbox_settings(tmp, demo_exports=False, github_export_path=export)
    with NotionGateway.from_settings(settings, sleep=no_sleep) as gateway:
        gateway.init_database()
        run_sync(settings, gateway, POLICY)
        issues[2]["updatedAt"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # edited just now
        issues[2]["title"] += " (edited)"
        export.write_text(json.dumps(issues), encoding="utf-8")
        second = run_sync(settings, gateway, POLICY)
        counts = Counter(str(r.source_key) for r in gateway.iter_rows())
    keys = list(counts)
    lost = 0 if second.totals()["updated"] == 1 else 1  # the edit after the bad dates arrived
    return Outcome("dates 2099 and year 1", len(issues), "2 bad clocks", lost, _tally(keys, counts)[1], 0)


def main() -> None:
    configure_logging("ERROR", "json", stream=io.StringIO())  # the table only; the logs are the tests' business
    print("faults survived")
    print(f"| {'scenario':<44} | items | {'faults injected':<34} | rows lost | duplicates | wall time |")
    print(f"|{'-' * 46}|-------|{'-' * 36}|-----------|------------|-----------|")
    for scenario in (chaos, lagging_index, sigkill, racing, hung_source, odd_dates):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.monotonic()
            o = scenario(Path(tmp))
            o.wall_s = time.monotonic() - started
        cells = f"{o.items:>5} | {o.faults:<34} | {o.lost:>9} | {o.duplicates:>10} | {o.wall_s:>8.1f}s"
        print(f"| {o.scenario:<44} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
