"""Benchmarks: print figures, assert nothing. `make bench`.

1. Upsert N synthetic feedback rows into a fresh in-process sandbox, then again unchanged: Notion calls, writes
   and wall time per run (the real ceiling in production is Notion's ~3 requests/s, so calls are the cost).
2. Score a backlog of M candidates (pure scoring): wall time.
3. The sandbox answering an `or` of 100 Source Key filters over the rows of (1).
4. Duplicates by meaning and themes on tests/fixtures/dedupe_eval.jsonl (bench/dedupe_eval.py).
5. `bench/cost.py`: Notion calls per scenario against the floor at N = 1,000 and 10,000 (issue 12);
   `BENCH_QUICK=1` runs it at N = 1,000 only.
6. `bench/scale.py`: in-process wall time and peak RSS of a first sync and score at N = 1k, 2k, 5k, 10k against
   the linear floor (issue 12); `BENCH_QUICK=1` runs 1k and 2k.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.models import Candidate  # noqa: E402
from scoring.policy import Policy  # noqa: E402
from scoring.score import score_backlog  # noqa: E402
from service.logging import configure_logging  # noqa: E402
from service.notion import NotionGateway, RowWrite  # noqa: E402
from service.settings import Settings  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
CANDIDATES = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000


def writes(n: int) -> list[RowWrite]:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        RowWrite(
            source_key=f"zendesk:{100000 + i}",
            properties={
                "Name": f"Request {i}: {random.choice(['latency', 'webhooks', 'SOC 2', 'Salesforce'])}",
                "Source": "Zendesk",
                "Excerpt": "x" * 400,
                "Customer": f"Customer {i % 40}",
                "Segment": "Unknown",
                "First Seen": base + timedelta(minutes=i),
                "Last Seen": base + timedelta(minutes=i),
            },
            create_only={"Status": "New", "Type": "Feature"},
        )
        for i in range(n)
    ]


def bench_upsert(tmp: Path) -> NotionGateway:
    settings = Settings(backlog_sandbox_path=tmp / "bench.sqlite3")
    gateway = NotionGateway.from_settings(settings)
    gateway.init_database()
    batch = writes(ROWS)
    for label in ("first run", "second run (unchanged)"):
        before_total, before_writes = gateway.calls.total, gateway.calls.writes
        started = time.perf_counter()
        existing = {str(r.values["Source Key"]): r for r in gateway.iter_rows()}
        result = gateway.upsert(batch, existing=existing)
        took = time.perf_counter() - started
        calls = gateway.calls.total - before_total
        print(
            f"upsert {ROWS} rows, {label}: created {len(result.created)}, updated {len(result.updated)}, "
            f"unchanged {len(result.unchanged)}; Notion calls {calls} (writes {gateway.calls.writes - before_writes}); "
            f"{took:.2f}s in-process; at Notion's 3 req/s: {calls / 3:.0f}s"
        )
    return gateway


def bench_lookup(gateway: NotionGateway) -> None:
    keys = [f"zendesk:{100000 + i}" for i in random.sample(range(ROWS), min(100, ROWS))]
    started = time.perf_counter()
    found = gateway.find_by_source_keys(keys)
    took = time.perf_counter() - started
    print(f"find_by_source_keys: {len(keys)} keys over {ROWS} rows -> {len(found)} found in {took * 1000:.0f} ms")


def bench_scoring() -> None:
    rng = random.Random(7)
    candidates = [
        Candidate(
            page_id=f"p{i}",
            name=f"Item {i}",
            source=rng.choice(["Zendesk", "G2", "Gong", "GitHub", "Discord"]),
            customer=f"Customer {rng.randrange(200)}",
            reach=rng.choice(["10", "5", "3", "1", "0.5", None]),
            impact=rng.choice(["3", "2", "1", "0.5"]),
            confidence=rng.choice(["100%", "80%", "50%", "20%", None]),
            effort=rng.choice(["XS", "S", "M", "L", "XL", "4"]),
            okrs=tuple(rng.sample(["O1", "O2", "O3", "O4"], rng.randrange(3))),
            merged_into=(f"p{rng.randrange(i)}",) if i > 10 and rng.random() < 0.2 else (),
        )
        for i in range(CANDIDATES)
    ]
    started = time.perf_counter()
    results = score_backlog(candidates, Policy())
    took = time.perf_counter() - started
    ranked = sum(1 for r in results.values() if r.rank is not None)
    print(f"score_backlog: {CANDIDATES} candidates ({ranked} ranked) in {took:.2f}s")


def main() -> None:
    configure_logging("WARNING")
    random.seed(1)
    with tempfile.TemporaryDirectory() as tmp:
        gateway = bench_upsert(Path(tmp))
        bench_lookup(gateway)
        gateway.close()
    bench_scoring()
    print("--- duplicates by meaning (bench/dedupe_eval.py) ---", flush=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "dedupe_eval.py")], check=True)  # noqa: S603  (our own script)
    quick = ["--quick"] if os.environ.get("BENCH_QUICK") else []
    subprocess.run([sys.executable, str(ROOT / "bench" / "cost.py"), *quick], check=False)  # noqa: S603 - ours
    subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py"), *quick], check=False)  # noqa: S603 - ours


if __name__ == "__main__":
    main()
