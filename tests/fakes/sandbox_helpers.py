"""Helpers for end-to-end tests on the in-process Notion sandbox: settings, an initialised gateway, the demo exports.

Kept small on purpose: other test modules import it. Every path is absolute because `conftest.py` chdirs each
test into an empty temp directory.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.notion import NotionGateway
from service.settings import Settings
from tests import REPO_ROOT

DEMO_DIR = REPO_ROOT / "deploy" / "demo"
DEMO_CONFIG = DEMO_DIR / "backlog.toml"
# Settings field -> the sample export `backlog demo` reads.
DEMO_EXPORTS: dict[str, Path] = {
    "zendesk_export_path": DEMO_DIR / "zendesk_tickets.json",
    "g2_export_path": DEMO_DIR / "g2_reviews.csv",
    "gong_export_path": DEMO_DIR / "gong_calls.json",
    "github_export_path": DEMO_DIR / "github_issues.json",
    "discord_export_path": DEMO_DIR / "discord_export.json",
    "slack_export_path": DEMO_DIR / "slack_export",
    "salesforce_export_path": DEMO_DIR / "salesforce_lost_deals.csv",
    "trustpilot_export_path": DEMO_DIR / "trustpilot_reviews.csv",
    "pagerduty_export_path": DEMO_DIR / "pagerduty_incidents.json",
    "tracker_export_path": DEMO_DIR / "tech_debt_tracker.csv",
}
# Feedback items in those files, counted by hand: Zendesk has 15 tickets, one of them billing (not feedback);
# G2 has 11 reviews, one with the malformed rating "4,5" on line 11, which is reported and skipped. Slack has 6
# top-level human messages (a join, a bot message and 3 thread replies are not rows); Salesforce 4 lost deals
# (the report's totals and footer are not rows); Trustpilot 5 reviews; PagerDuty 4 incidents; the tracker 5 rows.
DEMO_ITEMS: dict[str, int] = {
    "zendesk": 14,
    "g2": 10,
    "gong": 8,
    "github": 11,
    "discord": 12,
    "slack": 6,
    "salesforce": 4,
    "trustpilot": 5,
    "pagerduty": 4,
    "tracker": 5,
}
DEMO_TOTAL = sum(DEMO_ITEMS.values())
MALFORMED_G2_WHERE = "g2_reviews.csv:11"


def no_sleep(_seconds: float) -> None:
    """Injected instead of `time.sleep`: tests never wait for a rate limiter or a back-off."""


def sandbox_settings(tmp_path: Path, *, demo_exports: bool = True, **overrides: Any) -> Settings:
    """Settings for the local sandbox file under `tmp_path`, with the demo exports unless told otherwise."""
    values: dict[str, Any] = {
        "backlog_sandbox_path": tmp_path / "sandbox.sqlite3",
        "backlog_cache_dir": tmp_path / "cache",
        "backlog_lock_path": tmp_path / "run.lock",
        "backlog_config": DEMO_CONFIG,
    }
    if demo_exports:
        values.update(DEMO_EXPORTS)
    values.update(overrides)
    return Settings(**values)


def open_gateway(settings: Settings, *, init: bool = True) -> NotionGateway:
    """A gateway on the sandbox (no real waiting); `init` creates or adopts the candidates database first."""
    gateway = NotionGateway.from_settings(settings, sleep=no_sleep)
    if init:
        gateway.init_database()
    return gateway


@contextmanager
def sandbox_gateway(settings: Settings, *, init: bool = True) -> Iterator[NotionGateway]:
    """`open_gateway` that is closed afterwards."""
    gateway = open_gateway(settings, init=init)
    try:
        yield gateway
    finally:
        gateway.close()


def source_key_counts(settings: Settings) -> Counter[str]:
    """Rows per Source Key, read through a fresh gateway (the way a new process would see the workspace)."""
    with sandbox_gateway(settings, init=False) as gateway:
        return Counter(str(row.source_key) for row in gateway.iter_rows())


def sqlite_row_count(sandbox_path: Path) -> int:
    """Candidate rows in a sandbox file, read straight from SQLite: safe while another process writes to it."""
    if not sandbox_path.exists():
        return 0
    with sqlite3.connect(str(sandbox_path), timeout=5) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM objects WHERE kind = 'page' AND json_extract(doc, '$.parent.type') = 'data_source_id'"
        ).fetchone()
    return int(count)


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a `backlog` subprocess: no NOTION_TOKEN (so the sandbox), demo exports, files in tmp."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTION_", "BACKLOG_"))}
    env.update({name.upper(): str(path) for name, path in DEMO_EXPORTS.items()})
    env.update(
        {
            "BACKLOG_SANDBOX_PATH": str(tmp_path / "sandbox.sqlite3"),
            "BACKLOG_CACHE_DIR": str(tmp_path / "cache"),
            "BACKLOG_LOCK_PATH": str(tmp_path / "run.lock"),
            "BACKLOG_CONFIG": str(DEMO_CONFIG),
            "BACKLOG_LOG_LEVEL": "WARNING",
            "BACKLOG_LOG_FORMAT": "json",
        }
    )
    env.update(extra)
    return env


def backlog_command(*args: str) -> list[str]:
    """argv for the installed `backlog` entry point of this interpreter's environment."""
    script = Path(sys.executable).parent / "backlog"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from service.app.cli import main; main()", *args]
