"""Process-level helpers: a generated `gh issue list` export, `backlog` subprocesses, SIGKILL at a row count, and
the sandbox served over HTTP. Shared by tests/e2e and bench/faults.py (which prints what these tests assert)."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.notion import NotionGateway
from service.settings import Settings
from tests.fakes.sandbox_helpers import DEMO_CONFIG, backlog_command, no_sleep, sqlite_row_count

TOKEN = "ntn_e2e_sandbox_token_0123456789"
NEWEST = datetime(2026, 11, 20, 12, tzinfo=UTC)


def gh_export(path: Path, items: int, *, step: timedelta = timedelta(hours=12)) -> list[str]:
    """`gh issue list --json ...` of `items` issues, newest first (as gh gives them), one every `step`: far more
    than the cursor's 24 h overlap, so a cursor that passes unwritten items loses them. Returns the Source Keys."""
    issues = []
    for n in range(items, 0, -1):
        updated = NEWEST - step * (items - n)
        issues.append(
            {
                "number": n,
                "title": f"Request {n}: {random.Random(n).choice(['latency', 'webhooks', 'SSO', 'exports'])} #{n}",
                "body": f"Customer {n} asks for this.",
                "labels": [{"name": "enhancement"}],
                "createdAt": (updated - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "updatedAt": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "url": f"https://github.com/acme/voice/issues/{n}",
                "reactionGroups": [],
                "author": {"login": f"user{n}"},
                "state": "OPEN",
            }
        )
    path.write_text(json.dumps(issues), encoding="utf-8")
    return [f"github:acme/voice#{n}" for n in range(items, 0, -1)]


def sync_env(tmp_path: Path, export: Path, *, lock: str = "run.lock", **extra: str) -> dict[str, str]:
    """A `backlog sync` of one GitHub export into the sandbox file under `tmp_path` (fast rate limit)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTION_", "BACKLOG_", "GITHUB_", "ZENDESK_"))}
    env.update(
        {
            "BACKLOG_SANDBOX_PATH": str(tmp_path / "sandbox.sqlite3"),
            "BACKLOG_SANDBOX_TOKEN": TOKEN,
            "BACKLOG_CACHE_DIR": str(tmp_path / "cache"),
            "BACKLOG_LOCK_PATH": str(tmp_path / lock),
            "BACKLOG_CONFIG": str(DEMO_CONFIG),
            "BACKLOG_LOG_LEVEL": "WARNING",
            "BACKLOG_LOG_FORMAT": "json",
            "GITHUB_EXPORT_PATH": str(export),
            "NOTION_RATE_LIMIT": "200",
        }
    )
    env.update(extra)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    """The Settings a process with `env` has (for reading the result through a gateway)."""
    values = {k.lower(): v for k, v in env.items() if k.startswith(("NOTION_", "BACKLOG_"))}
    return Settings(**values)  # type: ignore[arg-type]


def key_counts(env: dict[str, str]) -> Counter[str]:
    """Live rows per Source Key, read the way a new process would."""
    with NotionGateway.from_settings(settings_for(env), sleep=no_sleep) as gateway:
        return Counter(str(row.source_key) for row in gateway.iter_rows())


def run(env: dict[str, str], *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        backlog_command(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def start(env: dict[str, str], *args: str, cwd: Path) -> subprocess.Popen[bytes]:
    """A `backlog` process left running (its output dropped)."""
    return subprocess.Popen(
        backlog_command(*args), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def sync_killed_after(env: dict[str, str], cwd: Path, new_rows: int, *, limit_s: float = 60) -> int:
    """Start `backlog sync`, SIGKILL it once the sandbox holds `new_rows` more rows (or let it end); the rows
    it made. A run that ends before the count is reached is simply a complete run."""
    sandbox = Path(env["BACKLOG_SANDBOX_PATH"])
    before = sqlite_row_count(sandbox)
    process = start(env, "sync", cwd=cwd)
    try:
        deadline = time.monotonic() + limit_s
        while sqlite_row_count(sandbox) < before + new_rows and process.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"`backlog sync` made {sqlite_row_count(sandbox) - before} rows in {limit_s}s")
            time.sleep(0.01)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    return sqlite_row_count(sandbox) - before


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Served:
    url: str
    env: dict[str, str]  # a client's environment: NOTION_API_URL + NOTION_TOKEN pointing at the served sandbox


@contextmanager
def served_sandbox(tmp_path: Path, export: Path) -> Iterator[Served]:
    """`backlog sandbox --port <free port>` in a subprocess; yields once it answers, stops it afterwards."""
    port = free_port()
    server_env = sync_env(tmp_path, export)
    process = start(server_env, "sandbox", "--port", str(port), cwd=tmp_path)
    try:
        _wait_for_port(port, process)
        url = f"http://127.0.0.1:{port}"
        client = {**server_env, "NOTION_API_URL": url, "NOTION_TOKEN": TOKEN}
        yield Served(url, client)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"`backlog sandbox` exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"`backlog sandbox` did not listen on {port} in 20 s")
