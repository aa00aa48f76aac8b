"""What `backlog report` costs at N candidates (issue 12's page part): calls by endpoint and the page's size.
`python bench/report_cost.py [--n 1000 --n 10000] [--keep DIR]`. Prints figures, asserts nothing.

Seeds N GitHub items the way bench/cost.py does (a first sync, the PM's RICE inputs, a score), on an in-process
sandbox, then: `report --sprint 1` and re-runs with no edits, `report --sprint 2` and re-runs. Each step runs in
a fresh gateway, as a new process would; "+M min" steps run with the sandbox's and the page cache's clocks M
minutes on (Notion stamps edits to the minute, so texts read in the minute of a page's last edit are not trusted
yet).
`--keep DIR` keeps the seeded workspace there and reuses it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cost import DEMO_CONFIG, STEP, Export, bench_settings, groom  # noqa: E402
from service.logging import configure_logging  # noqa: E402
from service.notion import NotionGateway  # noqa: E402
from service.pipelines.report import run_report  # noqa: E402
from service.pipelines.score import run_score  # noqa: E402
from service.pipelines.sync import run_sync  # noqa: E402
from service.policy_file import load_policy  # noqa: E402
from service.sandbox import Sandbox, SandboxTransport  # noqa: E402
from service.settings import Settings  # noqa: E402

POLICY = load_policy(DEMO_CONFIG, explicit=True)


settings_for = bench_settings  # the same workspace layout as bench/cost.py


def seed(n: int, tmp: Path) -> None:
    """N rows synced, groomed and scored (the row cache warm)."""
    settings = settings_for(tmp)
    export = Export(tmp / "github.json", datetime.now(UTC).replace(microsecond=0))
    for number in range(1, n + 1):
        export.add(number, export.now - timedelta(days=2) - STEP * (n - number))
    export.write()
    with NotionGateway.from_settings(settings) as gateway:
        gateway.init_database()
        run_sync(settings, gateway, POLICY)
        groom(gateway, "github:acme/voice#1", f"github:acme/voice#{n // 2 + 1}")
        run_score(gateway, POLICY)
        run_score(gateway, POLICY)


def page_size(gateway: NotionGateway, page_id: str | None) -> tuple[int, int]:
    """(top-level blocks, every block) of the page, read without counting."""
    if page_id is None:
        return 0, 0
    top = gateway.list_children(page_id)
    total, stack = len(top), [b for b in top if b.get("has_children")]
    while stack:
        children = gateway.list_children(str(stack.pop()["id"]))
        total += len(children)
        stack += [b for b in children if b.get("has_children")]
    return len(top), total


def later_gateway(settings: Settings, minutes: int) -> NotionGateway:
    """A fresh gateway (a new process) on a sandbox whose clock, and the page cache's, run `minutes` ahead."""

    def clock() -> datetime:
        return datetime.now(UTC) + timedelta(minutes=minutes)

    token = settings.backlog_sandbox_token.get_secret_value()
    sandbox = Sandbox(settings.backlog_sandbox_path, token=token, wall_clock=clock)
    gateway = NotionGateway.from_settings(settings, transport=SandboxTransport(sandbox))
    gateway.page_cache.now = clock
    return gateway


def measure(settings: Settings, label: str, work: Callable[[NotionGateway], Any], minutes: int = 0) -> None:
    with later_gateway(settings, minutes) as gateway:
        started = time.perf_counter()
        result = work(gateway)
        wall = time.perf_counter() - started
        calls = Counter(gateway.calls.by_endpoint())
        top, total = page_size(gateway, result.page_id)
    shown = ", ".join(f"{name} {count}" for name, count in calls.most_common())
    print(
        f"| {label} | {sum(calls.values())} | {result.page_action} | {result.planned} | {top} | {total} "
        f"| {wall:.1f} s | {shown} |"
    )
    sys.stdout.flush()


def run(n: int, keep: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        seeded = keep / f"seed-{n}" if keep else tmp / "seed"
        if not (seeded / "sandbox.sqlite3").exists():
            seeded.mkdir(parents=True, exist_ok=True)
            seed(n, seeded)
        work = tmp / "work"
        shutil.copytree(seeded, work)
        settings = settings_for(work)
        start = datetime.now(UTC).date()
        print(f"\n### N = {n:,}\n")
        print("| step | calls | page | planned | top-level blocks | all blocks | wall | by endpoint |")
        print("|---|---:|---|---:|---:|---:|---:|---|")
        one = lambda gw: run_report(gw, POLICY, sprint=1, start=start)  # noqa: E731
        two = lambda gw: run_report(gw, POLICY, sprint=2, start=start + timedelta(days=14))  # noqa: E731
        measure(settings, "`report --sprint 1`", one)
        measure(settings, "re-run at once, no edits", one)
        measure(settings, "re-run +3 min", one, 3)
        measure(settings, "re-run +6 min", one, 6)
        measure(settings, "`report --sprint 2` +9 min", two, 9)
        measure(settings, "sprint 2 re-run +12 min", two, 12)
        measure(settings, "sprint 2 re-run +15 min", two, 15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, action="append", help="candidates (repeatable); default 1,000 and 10,000")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the seeded workspaces in this folder")
    args = parser.parse_args()
    configure_logging("ERROR")
    for n in args.n or [1_000, 10_000]:
        run(n, args.keep)


if __name__ == "__main__":
    main()
