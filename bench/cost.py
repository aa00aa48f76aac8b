"""Cost proportional to the change (issue 12): Notion calls per scenario against their floor. Prints figures,
asserts nothing. `python bench/cost.py [--quick] [--n 1000 --n 10000] [--rate-calls 200]`.

Each N runs in its own process (so peak RSS is that N's) against a fresh in-process sandbox, in this order:
first sync of N GitHub items (a generated `gh issue list` export, one source); sync with nothing new; the PM
grooms every row (RICE inputs; not measured); score first time; score with no edits; hourly sync of 10 new +
10 changed items; (a score, not measured, then) `run` (sync + score) for the next hour's 10 + 10; one PM edit
moving the bottom row to the top, rescored the webhook's way (`run_score(page_id=...)`); an everyday edit
(Confidence one step up, mid-table);
`report` and its re-run. The naive baseline (an automation that looks each item up and writes it: 2 calls per
item) is printed for the same data. Then one real-rate run over HTTP against `backlog sandbox --rate-limit 3`.

Floors (the issue's): writes = rows created + rows whose own written values change; reads = ceil(keys looked
up / 100) + the pages the incremental read returns + 1 per source. The bench works with whatever the pipelines
do today: it only calls run_sync / run_score / run_cycle / run_report and counts the gateway's calls.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.logging import configure_logging  # noqa: E402
from service.notion import NotionGateway, RowWrite  # noqa: E402
from service.pipelines.cycle import run_cycle  # noqa: E402
from service.pipelines.report import run_report  # noqa: E402
from service.pipelines.score import run_score  # noqa: E402
from service.pipelines.sync import run_sync  # noqa: E402
from service.policy_file import load_policy  # noqa: E402
from service.sandbox import ActAsPerson, Sandbox, SandboxTransport  # noqa: E402
from service.settings import Settings  # noqa: E402

DEMO_CONFIG = ROOT / "deploy" / "demo" / "backlog.toml"
STEP = timedelta(hours=3)  # between seeded items: the cursor's 24 h overlap re-delivers 8 of them, at any N
HOUR_NEW, HOUR_CHANGED = 10, 10
SANDBOX_TOKEN = "bench-sandbox-token-0123456789"  # noqa: S105 - the throwaway served sandbox's token
TOPICS = ["latency", "webhooks", "SSO", "exports", "audit log", "SCIM", "dark mode", "Salesforce sync"]
REACH, IMPACT = ["10", "5", "3", "1", "0.5"], ["3", "2", "1", "0.5"]
CONFIDENCE, EFFORT = ["100%", "80%", "50%", "20%"], ["XS", "S", "M", "L", "XL"]


@dataclass
class Figure:
    scenario: str
    calls: Counter[str]
    writes: int
    floor: int
    wall_s: float
    rss_mb: float
    note: str = ""

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@dataclass
class Export:
    """The GitHub source: a `gh issue list --json` file the bench rewrites as the world changes."""

    path: Path
    now: datetime
    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    synced_until: datetime | None = None  # newest updatedAt a sync has seen

    def add(self, number: int, updated: datetime, title: str | None = None) -> None:
        topic = random.Random(number).choice(TOPICS)
        before = self.items.get(number)  # an upstream edit keeps the item's creation date (First Seen)
        created = before["createdAt"] if before else _iso(updated - timedelta(days=1))
        self.items[number] = {
            "number": number,
            "title": title or f"Request {number}: {topic} for team {number % 97}",
            "body": f"Customer {number % 400} asks for {topic}. " + "Details follow. " * 20,
            "labels": [{"name": "enhancement"}],
            "createdAt": created,
            "updatedAt": _iso(updated),
            "url": f"https://github.com/acme/voice/issues/{number}",
            "reactionGroups": [],
            "author": {"login": f"user{number % 300}"},
            "state": "OPEN",
        }

    def write(self) -> int:
        """Write the file (newest first, as gh gives it); returns the items a sync will deliver (cursor overlap)."""
        ordered = sorted(self.items.values(), key=lambda item: item["updatedAt"], reverse=True)
        self.path.write_text(json.dumps(ordered), encoding="utf-8")
        since = (self.synced_until - timedelta(hours=24)) if self.synced_until else None
        delivered = [item for item in ordered if since is None or _parse(item["updatedAt"]) >= since]
        self.synced_until = _parse(ordered[0]["updatedAt"])
        return len(delivered)

    def hour(self, first_new: int) -> None:
        """10 new items and 10 existing ones edited, all in the last hour."""
        moment = self.now - timedelta(minutes=30)
        for number in range(first_new, first_new + HOUR_NEW):
            self.add(number, moment)
        for number in random.Random(first_new).sample(range(1, first_new // 2), HOUR_CHANGED):
            self.add(number, moment, title=f"Request {number}: edited upstream at {first_new}")
        self.now += timedelta(hours=1)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(
    gateway: NotionGateway, scenario: str, floor: int | Callable[[Any], int], work: Callable[[], Any]
) -> Figure:
    """Run `work` once and count the gateway's calls it made (by endpoint), its writes and its wall time."""
    before, writes_before = Counter(gateway.calls.by_endpoint()), gateway.calls.writes
    started = time.perf_counter()
    outcome = work()
    wall = time.perf_counter() - started
    calls = Counter(gateway.calls.by_endpoint())
    calls.subtract(before)
    figure = Figure(scenario, +calls, gateway.calls.writes - writes_before, 0, wall, peak_rss_mb())
    figure.floor = floor(outcome) if callable(floor) else floor
    return figure


def sync_floor(created: int, changed: int, delivered: int, sources: int = 1) -> int:
    """Writes (rows created + rows changed) + ceil(keys looked up / 100) + 1 per source; the incremental read of
    a sync returns nothing new (the sync's own writes are the only edits)."""
    return created + changed + math.ceil(delivered / 100) + sources


def groom(pm: NotionGateway, bottom: str, middle: str) -> None:
    """The PM's RICE inputs on every row (through a gateway that is not counted): `bottom` gets the lowest
    score of all, `middle` Confidence 50 % (the everyday edit moves it one step up)."""
    for row in pm.iter_rows():
        rng = random.Random(row.source_key)
        values = {
            "Reach": rng.choice(REACH[:4]),
            "Impact": rng.choice(IMPACT[:3]),
            "Confidence": rng.choice(CONFIDENCE[:3]),
            "Effort": rng.choice(EFFORT[:4]),
        }
        if row.source_key == bottom:
            values = {"Reach": "0.5", "Impact": "0.5", "Confidence": "20%", "Effort": "XL"}
        elif row.source_key == middle:
            values["Confidence"] = "50%"
        pm.update_properties(row.page_id, values, what="bench grooming")


def person_gateway(settings: Settings, tmp: Path) -> NotionGateway:
    """The PM in Notion's UI: the sandbox acting as the workspace's person (their edits are not the bot's, as on
    Notion), with a cache dir of its own (a person's click never reaches the service's cache)."""
    own = settings.model_copy(update={"backlog_cache_dir": tmp / "pm-cache"})
    transport = ActAsPerson(SandboxTransport(Sandbox(settings.backlog_sandbox_path)))
    return NotionGateway.from_settings(own, transport=transport)


def page_of(pm: NotionGateway, key: str) -> str:
    return next(iter(pm.find_by_source_keys([key]).values())).page_id


def report_floor(result: Any) -> int:
    """Planned rows + the page (create + its blocks, 100 per append) + one incremental read + one page lookup."""
    planned = int(getattr(result, "planned", 0) or 0)
    return planned + 2 + 2


def bench_settings(tmp: Path) -> Settings:
    return Settings(
        backlog_sandbox_path=tmp / "sandbox.sqlite3",
        backlog_cache_dir=tmp / "cache",
        backlog_lock_path=tmp / "run.lock",
        backlog_config=DEMO_CONFIG,
        github_export_path=tmp / "github.json",
    )


def scenarios(n: int, tmp: Path) -> list[Figure]:
    """Every measured scenario at `n` rows, in order (each builds on the state the one before left)."""
    settings = bench_settings(tmp)
    policy = load_policy(DEMO_CONFIG, explicit=True)
    export = Export(tmp / "github.json", datetime.now(UTC).replace(microsecond=0))
    for number in range(1, n + 1):
        export.add(number, export.now - timedelta(days=2) - STEP * (n - number))
    pm = person_gateway(settings, tmp)
    pm.init_database()
    gateway = NotionGateway.from_settings(settings)
    figures = [
        measure(gateway, "first sync", sync_floor(n, 0, export.write()), lambda: run_sync(settings, gateway, policy))
    ]
    figures.append(
        measure(
            gateway, "sync, nothing new", sync_floor(0, 0, export.write()), lambda: run_sync(settings, gateway, policy)
        )
    )
    bottom, middle = "github:acme/voice#1", f"github:acme/voice#{n // 2 + 1}"
    groom(pm, bottom, middle)
    figures += _scoring(gateway, policy, n)
    export.hour(n + 1)
    hourly = sync_floor(HOUR_NEW, HOUR_CHANGED, export.write())
    figures.append(
        measure(gateway, "hourly sync, 10 new + 10 changed", hourly, lambda: run_sync(settings, gateway, policy))
    )
    run_score(gateway, policy)  # the hour's rows scored (not counted): the next `run` starts from a scored backlog
    export.hour(n + 1 + HOUR_NEW)
    hour_run = sync_floor(HOUR_NEW, HOUR_CHANGED, export.write()) + HOUR_NEW  # + the new rows' scores
    figures.append(
        measure(gateway, "`run` for that hour (sync + score)", hour_run, lambda: run_cycle(settings, gateway, policy))
    )
    figures += _edits(gateway, pm, policy, bottom, middle)
    figures += _reports(gateway, policy)
    pm.close()
    gateway.close()
    return figures


def _scoring(gateway: NotionGateway, policy: Any, n: int) -> list[Figure]:
    first = measure(gateway, "score, first time", n + math.ceil(n / 100), lambda: run_score(gateway, policy))
    again = measure(gateway, "score, no edits", 1, lambda: run_score(gateway, policy))
    return [first, again]


def _edits(gateway: NotionGateway, pm: NotionGateway, policy: Any, bottom: str, middle: str) -> list[Figure]:
    """The webhook's path: the PM edits one row, `run_score(page_id=...)` rescores it. Floor (the issue's rule):
    the incremental read (one page: the PM's edit) + the page itself (fresh: the index may lag the webhook) + one
    write = 3."""
    figures = []
    for scenario, key, values in (
        (
            "one PM edit, bottom -> top (webhook path)",
            bottom,
            {"Reach": "10", "Impact": "3", "Confidence": "100%", "Effort": "XS"},
        ),
        ("everyday edit, Confidence 50% -> 80%", middle, {"Confidence": "80%"}),
    ):
        page_id = page_of(pm, key)
        pm.update_properties(page_id, values, what="bench PM edit")
        figures.append(measure(gateway, scenario, 3, lambda page=page_id: run_score(gateway, policy, page_id=page)))
    return figures


def _reports(gateway: NotionGateway, policy: Any) -> list[Figure]:
    start = datetime.now(UTC).date()
    first = measure(
        gateway, "`report --sprint 1`", report_floor, lambda: run_report(gateway, policy, sprint=1, start=start)
    )
    # The re-run's floor: one incremental read + one look at the page it owns (the same "one page lookup" as in
    # report_floor): is the page still there (trash, 404, moved, renamed) and as this service left it?
    again = measure(
        gateway, "`report --sprint 1` re-run", 2, lambda: run_report(gateway, policy, sprint=1, start=start)
    )
    return [first, again]


def naive(n: int, figures: list[Figure]) -> list[Figure]:
    """The automation that looks each delivered item up and writes it: 2 calls per item, no state."""
    floors = {f.scenario: f.floor for f in figures}
    hourly = floors.get("hourly sync, 10 new + 10 changed", 1)
    rows = [
        ("naive: first import (2 per item)", 2 * n, floors.get("first sync", 1)),
        ("naive: hourly, event-triggered (20 events)", 2 * (HOUR_NEW + HOUR_CHANGED), hourly),
        ("naive: hourly, whole export re-run", 2 * (n + HOUR_NEW), hourly),
    ]
    return [
        Figure(name, Counter({"query + write": calls}), calls // 2, floor, 0.0, 0.0, "computed")
        for name, calls, floor in rows
    ]


def print_table(n: int, figures: list[Figure]) -> None:
    print(f"\n### N = {n:,}\n")
    print(
        "| scenario | calls | floor | calls/floor | writes | at 3 req/s | wall (in-process) | peak RSS | by endpoint |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for f in figures:
        endpoints = ", ".join(f"{name} {count}" for name, count in sorted(f.calls.items(), key=lambda kv: -kv[1]))
        ratio = f.total / f.floor if f.floor else float("inf")
        wall = "-" if f.note else f"{f.wall_s:.2f} s"
        rss = "-" if f.note else f"{f.rss_mb:.0f} MB"
        print(
            f"| {f.scenario} | {f.total:,} | {f.floor:,} | {ratio:.1f} | {f.writes:,} | {_duration(f.total / 3)} "
            f"| {wall} | {rss} | {endpoints} |"
        )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def run_one(n: int, *, rate: float | None) -> None:
    configure_logging("ERROR")
    random.seed(n)
    with tempfile.TemporaryDirectory() as tmp:
        figures = scenarios(n, Path(tmp))
        print_table(n, figures + naive(n, figures))
        sys.stdout.flush()
        if rate:
            webhook_at_rate(n, Path(tmp), rate)
    sys.stdout.flush()


def webhook_at_rate(n: int, tmp: Path, rate: float) -> None:
    """The same workspace served over HTTP by `backlog sandbox --rate-limit RATE`; `serve`'s rescore worker (its
    long-lived gateway, warm cache, one rescore done before, 1 s debounce) gets one page from the webhook after a
    PM edit: the time from the event to the new RICE in Notion, and the calls it took."""
    from service.app.server import build_service  # only this scenario needs the web app

    settings = bench_settings(tmp)
    process, url = _serve(tmp, rate, sandbox=settings.backlog_sandbox_path)
    try:
        served = Settings(
            notion_token=SANDBOX_TOKEN,  # type: ignore[arg-type]
            notion_api_url=url,
            backlog_cache_dir=settings.backlog_cache_dir,
            backlog_lock_path=settings.backlog_lock_path,
            backlog_config=DEMO_CONFIG,
        )
        timing = TimingTransport()
        gateway = NotionGateway.from_settings(served, transport=timing)
        gateway.read_rows()  # serve has been up a while: database found, cache warm
        _, worker = build_service(served, gateway=gateway, debounce_s=1.0)
        worker.start()
        pm = person_gateway(settings, tmp)
        # ... and has rescored before (an unchanged page: no write), as a service that has been up a while has
        warm = worker.rescores
        worker.submit(page_of(pm, f"github:acme/voice#{n // 4}"))
        while worker.rescores == warm:
            time.sleep(0.01)
        time.sleep(2)  # the served sandbox's bucket refills
        page_id = page_of(pm, f"github:acme/voice#{n // 3}")
        before = pm.get_row(page_id).values.get("RICE")
        pm.update_properties(page_id, {"Reach": "10", "Impact": "3", "Confidence": "100%", "Effort": "XS"})
        calls, writes, rescores = gateway.calls.total, gateway.calls.writes, worker.rescores
        timing.waited_s = 0.0
        started = time.perf_counter()
        worker.submit(page_id)  # what the webhook handler does with a verified page.properties_updated event
        while worker.rescores == rescores and time.perf_counter() - started < 60:
            time.sleep(0.01)
        wall = time.perf_counter() - started
        worker.stop()
        after = pm.get_row(page_id).values.get("RICE")
        made = gateway.calls.total - calls
        print(f"\n### One webhook edit at N = {n:,}, `backlog sandbox --rate-limit {rate:g}` over HTTP\n")
        print(
            "| event -> new RICE in Notion | calls | writes | RICE before -> after | debounce "
            "| waiting for the API (the sandbox's own work) | the service's own time |"
        )
        print("|---:|---:|---:|---|---:|---:|---:|")
        own = wall - 1.0 - timing.waited_s
        print(
            f"| {wall:.2f} s | {made} | {gateway.calls.writes - writes} | {before} -> {after} | 1.0 s "
            f"| {timing.waited_s:.2f} s | {own:.2f} s |"
        )
        gateway.close()
        pm.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TimingTransport(httpx.HTTPTransport):
    """Sums the time spent waiting for answers: what the served sandbox (or Notion) took, not the service."""

    def __init__(self) -> None:
        super().__init__()
        self.waited_s = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = super().handle_request(request)
        response.read()
        self.waited_s += time.perf_counter() - started
        return response


class CountingTransport(httpx.HTTPTransport):
    """Counts the answers by status (the 429s the served sandbox gave)."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: Counter[int] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.statuses[response.status_code] += 1
        return response


def _serve(tmp: Path, rate: float, sandbox: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTION_", "BACKLOG_"))}
    env.update(
        BACKLOG_SANDBOX_PATH=str(sandbox or tmp / "served.sqlite3"),
        BACKLOG_SANDBOX_TOKEN=SANDBOX_TOKEN,
        BACKLOG_LOG_LEVEL="ERROR",
    )
    command = [str(Path(sys.executable).parent / "backlog"), "sandbox", "--port", str(port), "--rate-limit", str(rate)]
    log_path = tmp / f"sandbox-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own `backlog` next to this interpreter
            command, env=env, cwd=tmp, stdout=log_file, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 180  # a 10,000-row file takes a while to open on a loaded host
    while time.monotonic() < deadline:
        if process.poll() is not None:  # it died (the port taken meanwhile, the file locked): say why
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise SystemExit(f"`backlog sandbox --port {port}` exited {process.returncode}:\n{tail}")
        try:
            # the API, not the HTML view (which renders the whole workspace: slow at 10,000 rows)
            headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}", "Notion-Version": "2025-09-03"}
            httpx.get(f"http://127.0.0.1:{port}/v1/users/me", headers=headers, timeout=5)
            return process, f"http://127.0.0.1:{port}"
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"`backlog sandbox --port {port}` did not answer in 180 s")


def real_rate(calls: int, rate: float = 3.0) -> None:
    """A few hundred calls (creates in 100-key batches) over HTTP against the rate-limited sandbox, once with the
    default window budget (180/min, bursts) and once with NOTION_RATE_LIMIT=3 (steady): wall ÷ (calls ÷ rate)."""
    configure_logging("ERROR")
    print(f"\n### Real rate: `backlog sandbox --rate-limit {rate:g}` over HTTP\n")
    print("| client limiter | calls sent (incl. retries) | 429s | wall | ideal (calls ÷ rate) | wall ÷ ideal |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, extra in (
        ("NOTION_REQUESTS_PER_MINUTE=180 (default)", {"notion_requests_per_minute": 180}),
        ("NOTION_RATE_LIMIT=3", {"notion_rate_limit": 3.0}),
    ):
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            process, url = _serve(tmp, rate)
            try:
                sent, limited, wall = _rate_run(tmp, url, calls, extra)
            finally:
                process.terminate()
                process.wait(timeout=10)
        ideal = sent / rate
        print(f"| {label} | {sent} | {limited} | {wall:.1f} s | {ideal:.1f} s | {wall / ideal:.2f} |")


def _rate_run(tmp: Path, url: str, calls: int, extra: dict[str, Any]) -> tuple[int, int, float]:
    settings = Settings(
        notion_token=SANDBOX_TOKEN,  # type: ignore[arg-type]
        notion_api_url=url,
        backlog_cache_dir=tmp / "cache",
        notion_max_retries=10,
        **extra,
    )
    transport = CountingTransport()
    gateway = NotionGateway.from_settings(settings, transport=transport)
    started = time.perf_counter()
    gateway.init_database()
    base = datetime(2026, 11, 1, tzinfo=UTC)
    batch = [
        RowWrite(
            source_key=f"zendesk:{500000 + i}",
            properties={"Name": f"Rate run {i}", "Source": "Zendesk", "First Seen": base, "Last Seen": base},
            create_only={"Status": "New"},
        )
        for i in range(calls)
    ]
    while sum(transport.statuses.values()) < calls and batch:
        chunk, batch = batch[:100], batch[100:]
        gateway.upsert(chunk, existing=gateway.find_by_source_keys(w.source_key for w in chunk))
    wall = time.perf_counter() - started
    gateway.close()
    return sum(transport.statuses.values()), transport.statuses[429], wall


def machine() -> str:
    version = sys.version.split()[0]
    return f"nproc {os.cpu_count()}, {os.uname().machine}, Python {version}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, action="append", help="backlog size (repeatable); default 1,000 and 10,000")
    parser.add_argument("--quick", action="store_true", help="N = 1,000 only, and a shorter real-rate run")
    parser.add_argument("--rate-calls", type=int, default=None, help="calls of the real-rate run (default 200)")
    parser.add_argument("--no-rate", action="store_true", help="skip the real-rate run")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one N in this process (the parent spawns it)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, rate=None if args.no_rate else 3.0)
        return
    sizes = args.n or ([1_000] if args.quick else [1_000, 10_000])
    print(f"# bench/cost.py on {machine()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    sys.stdout.flush()
    for n in sizes:
        extra = ["--no-rate"] if args.no_rate else []
        subprocess.run([sys.executable, __file__, "--one", str(n), *extra], check=False)  # noqa: S603 - this script
    if not args.no_rate:
        real_rate(args.rate_calls or (100 if args.quick else 200))


if __name__ == "__main__":
    main()
