"""In-process cost of a first sync and first score against N (issue 12): wall time, time per item, peak RSS, and
the linear floor (N/1000 x the 1k time). Prints figures, asserts nothing.
`python bench/scale.py [--quick] [--n 1000 --n 10000] [--profile] [--memory] [--served]`.

Each N runs in its own process (so peak RSS is that N's, model included) against a fresh in-process sandbox: a
generated `gh issue list` export of N GitHub items (bench/cost.py's `Export`), then `run_sync` (every item new:
each is matched for duplicates and created) and `run_score` (every row scored and written). `--profile` adds the
top functions by cumulative and by own time (cProfile), `--memory` the allocation sites holding the most memory
at the end of the sync (tracemalloc; slows the run several times, so its wall times are not comparable).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cost import DEMO_CONFIG, SANDBOX_TOKEN, STEP, Export, _serve, machine, peak_rss_mb  # noqa: E402

from service.logging import configure_logging  # noqa: E402
from service.notion import NotionGateway  # noqa: E402
from service.pipelines.score import run_score  # noqa: E402
from service.pipelines.sync import run_sync  # noqa: E402
from service.policy_file import load_policy  # noqa: E402
from service.settings import Settings  # noqa: E402

# Feedback-like titles (cost.py's differ only by number, so every row matches the one before by title and the
# meaning pass never runs): ~12,000 combinations, some near-repeats (the title pass), most distinct (meaning).
ASKS = ["Add", "Support", "Allow", "We need", "Please add", "Request:", "Improve", "Fix", "Show", "Let admins use"]
FEATURES = [
    "SSO with Okta", "SCIM provisioning", "dark mode", "audit log export", "webhook retries", "CSV export of calls",
    "Salesforce sync", "HubSpot integration", "custom voices", "Spanish transcription", "call recording redaction",
    "latency under 500 ms", "barge-in detection", "multi-language IVR", "SIP trunk failover", "usage alerts",
    "role-based permissions", "API rate limit headers", "sentiment analytics", "call summaries in Slack",
    "Zendesk ticket creation", "warm transfer to agents", "voicemail detection", "holiday schedules", "PCI redaction",
    "EU data residency", "bulk phone number import", "per-agent dashboards", "LLM function calling",
    "RAG over the help center", "custom wake words", "DTMF input", "call queue priorities", "outbound pacing",
    "a GDPR deletion API", "Teams integration", "screen pop in the CRM", "post-call surveys", "speech speed control",
    "background noise removal",
]  # fmt: skip
WHERE = [
    "for the support team", "in the dashboard", "on mobile", "for enterprise accounts", "via the API", "in reports",
    "for our EU customers", "during peak hours", "for outbound calls", "in the admin console", "", "", "", "asap",
    "before renewal", "for the pilot", "per workspace", "for resellers", "in the call log", "with an audit trail",
    "without a restart", "for every region", "in the mobile SDK", "on the free plan", "for managers", "by default",
    "in bulk", "for 2027 planning", "in our sandbox", "like competitors do",
]  # fmt: skip
QUICK = [1_000, 2_000]
FULL = [1_000, 2_000, 5_000, 10_000]
TOP = 5
# The bench's and the pipelines' own entry points: every run's cumulative top would start with them.
ENTRY = ("scale.py", "run_sync", "run_score", "_read_and_write", "_write_source", "<built-in method builtins.exec>")


class FeedbackExport(Export):
    """cost.py's export with feedback-like titles and excerpts (see ASKS)."""

    def add(self, number: int, updated: datetime, title: str | None = None) -> None:
        super().add(number, updated, title)
        rng = random.Random(number * 7919)
        ask = " ".join(p for p in (rng.choice(ASKS), rng.choice(FEATURES), rng.choice(WHERE)) if p)
        item = self.items[number]
        item["title"] = title or ask
        item["body"] = f"Customer {number % 400} writes: {ask.lower()}. " + "It blocks our rollout. " * 4


def _phase(name: str, work: Callable[[], Any], profile: bool) -> dict[str, Any]:
    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    work()
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    figure: dict[str, Any] = {"phase": name, "wall_s": wall, "cpu_s": cpu, "rss_mb": peak_rss_mb()}
    if profiler:
        figure["profile"] = _top(profiler)
    return figure


def _top(profiler: cProfile.Profile) -> dict[str, list[str]]:
    """The TOP functions by cumulative time (below the entry points) and by own time, as printable lines."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = stats.stats  # type: ignore[attr-defined]  # (file, line, name) -> (cc, nc, tt, ct, callers)
    total = max(sum(tt for _cc, _nc, tt, _ct, _callers in rows.values()), 1e-9)

    def label(key: tuple[str, int, str]) -> str:
        filename, line, name = key
        where = str(Path(filename).relative_to(ROOT)) if filename.startswith(str(ROOT)) else Path(filename).name
        return f"{name} ({where}:{line})" if line else name

    def lines(index: int, skip: tuple[str, ...]) -> list[str]:
        ranked = sorted(rows.items(), key=lambda kv: -kv[1][index])
        kept = [(k, v) for k, v in ranked if not any(s in label(k) for s in skip)][:TOP]
        return [f"{v[index]:7.2f} s {v[index] / total:4.0%}  {v[1]:>9,} calls  {label(k)}" for k, v in kept]

    by_file: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in rows.items():
        where = str(Path(filename).relative_to(ROOT)) if filename.startswith(str(ROOT)) else Path(filename).name
        by_file[where] = by_file.get(where, 0.0) + tt
    files = sorted(by_file.items(), key=lambda kv: -kv[1])[: 2 * TOP]
    modules = [f"{tt:7.2f} s {tt / total:4.0%}  {where}" for where, tt in files]
    return {"cumulative": lines(3, ENTRY), "own": lines(2, ()), "own time per file": modules}


def run_one(n: int, *, profile: bool, memory: bool, served: bool = False) -> dict[str, Any]:
    """First sync then first score of `n` generated GitHub items, in this process (`served`: against the sandbox
    served by `backlog sandbox` in another process, so that the peak RSS is the service's alone, as with Notion)."""
    configure_logging("ERROR")
    random.seed(n)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = {"sandbox": "sandbox.sqlite3", "cache_dir": "cache", "lock": "run.lock", "export": "github.json"}
        paths = {key: tmp / name for key, name in files.items()}
        server, remote = _serve(tmp, 100_000.0, sandbox=paths["sandbox"]) if served else (None, {})
        if server is not None:
            remote = {"notion_token": SANDBOX_TOKEN, "notion_api_url": remote, "notion_rate_limit": 100_000.0}
        settings = Settings(
            backlog_config=DEMO_CONFIG,
            backlog_sandbox_path=paths["sandbox"],
            backlog_cache_dir=paths["cache_dir"],
            backlog_lock_path=paths["lock"],
            github_export_path=paths["export"],
            **remote,
        )
        policy = load_policy(DEMO_CONFIG, explicit=True)
        export = FeedbackExport(paths["export"], datetime.now(UTC).replace(microsecond=0))
        oldest = export.now - timedelta(days=2) - STEP * n
        for number in range(1, n + 1):
            export.add(number, oldest + STEP * number)  # cost.py's dates: 3 h apart, newest two days ago
        export.write()
        export.items.clear()  # the file is what the sync reads; the bench's copy is not the pipeline's memory
        gateway = NotionGateway.from_settings(settings)
        gateway.init_database()
        if memory:
            tracemalloc.start(1)
        phases = [_phase("first sync", lambda: run_sync(settings, gateway, policy), profile)]
        if memory:
            phases[0]["memory"] = _held(tracemalloc.take_snapshot(), tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        phases.append(_phase("first score", lambda: run_score(gateway, policy), profile))
        gateway.close()
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    return {"n": n, "phases": phases}


def _held(snapshot: tracemalloc.Snapshot, peak: int) -> list[str]:
    """The allocation sites holding the most memory at the end of the sync, and the traced peak."""
    stats = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)]).statistics("lineno")
    lines = [f"traced peak {peak / 2**20:.0f} MB, held at the end {sum(s.size for s in stats) / 2**20:.0f} MB"]
    for stat in stats[:8]:
        frame = stat.traceback[0]
        where = frame.filename.replace(str(ROOT) + "/", "")
        lines.append(f"{stat.size / 2**20:7.1f} MB {stat.count:>9,} blocks  {where}:{frame.lineno}")
    return lines


def print_results(results: list[dict[str, Any]]) -> None:
    """One table per phase: wall, per item, peak RSS, and the linear floor from the smallest N measured."""
    if not results:
        return
    base = min(results, key=lambda r: r["n"])
    for index, phase in enumerate(base["phases"]):
        name, base_wall = phase["phase"], phase["wall_s"]
        print(f"\n### {name}\n")
        print(f"| N | wall | CPU | per item | peak RSS | floor: N/{base['n']:,} x {base_wall:.2f} s | wall/floor |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for result in sorted(results, key=lambda r: r["n"]):
            figure, n = result["phases"][index], result["n"]
            floor = n / base["n"] * base_wall
            print(
                f"| {n:,} | {figure['wall_s']:.2f} s | {figure['cpu_s']:.2f} s | {figure['wall_s'] / n * 1000:.2f} ms "
                f"| {figure['rss_mb']:.0f} MB | {floor:.2f} s | {figure['wall_s'] / floor:.2f} |"
            )
    for result in sorted(results, key=lambda r: r["n"]):
        for figure in result["phases"]:
            for title, lines in [*figure.get("profile", {}).items(), ("memory", figure.get("memory"))]:
                if lines:
                    print(f"\n{figure['phase']}, N = {result['n']:,}, top by {title}:\n")
                    print("\n".join(f"    {line}" for line in lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, action="append", help="backlog size (repeatable); default 1k, 2k, 5k, 10k")
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and 2,000 only")
    parser.add_argument("--profile", action="store_true", help="top functions by cumulative and own time")
    parser.add_argument("--memory", action="store_true", help="what holds memory after the sync (tracemalloc)")
    parser.add_argument("--served", action="store_true", help="the sandbox in another process (the service's RSS)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one N in this process (the parent spawns it)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, profile=args.profile, memory=args.memory, served=args.served)))
        return
    sizes = args.n or (QUICK if args.quick else FULL)
    print(f"# bench/scale.py on {machine()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    chosen = (("--profile", args.profile), ("--memory", args.memory), ("--served", args.served))
    flags = [flag for flag, on in chosen if on]
    results = []
    for n in sizes:
        done = subprocess.run(  # noqa: S603 - this script
            [sys.executable, __file__, "--one", str(n), *flags], check=False, capture_output=True, text=True
        )
        if done.returncode != 0:
            print(f"N = {n:,} failed (exit {done.returncode}):\n{done.stderr[-2000:]}", flush=True)
            continue
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        sync = results[-1]["phases"][0]
        print(f"N = {n:,}: first sync {sync['wall_s']:.1f} s, peak RSS {sync['rss_mb']:.0f} MB", flush=True)
    print_results(results)


if __name__ == "__main__":
    main()
