"""Exit codes that tell the truth, and one host lock for every writing command.

`report` exits 1 when a row could not be marked (and names it), `run --report` inherits it, `score` exits 1 on a
failed row write; `sync`, `score`, `report`, `run` and `init` all exit 1 while another command holds
BACKLOG_LOCK_PATH, naming the lock file and its holder, and wait for it up to BACKLOG_LOCK_WAIT_S."""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.app.cli import app
from service.app.runlock import RunLock
from service.notion import NotionError, NotionGateway
from service.settings import Settings
from tests.fakes.sandbox_helpers import DEMO_CONFIG


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def use_env(monkeypatch: pytest.MonkeyPatch, where: Path) -> None:
    monkeypatch.setenv("BACKLOG_SANDBOX_PATH", str(where / "sandbox.sqlite3"))
    monkeypatch.setenv("BACKLOG_LOCK_PATH", str(where / "run.lock"))
    monkeypatch.setenv("BACKLOG_CACHE_DIR", str(where / "cache"))
    monkeypatch.setenv("BACKLOG_CONFIG", str(DEMO_CONFIG))
    monkeypatch.setenv("BACKLOG_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("NOTION_RATE_LIMIT", "1000")


@pytest.fixture(scope="module")
def demo_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`backlog demo` once (init, sync, the PM's edits, score, report sprint 1): a groomed backlog to copy."""
    where = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        use_env(patch, where)
        patch.chdir(where)  # the demo finds deploy/demo next to its package; its summary goes to ./.backlog/
        (where / ".backlog").mkdir()
        result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    return where / "sandbox.sqlite3"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_sandbox: Path) -> Path:
    """A copy of the demo's groomed sandbox for this test; returns the lock path."""
    use_env(monkeypatch, tmp_path)
    for part in demo_sandbox.parent.glob(demo_sandbox.name + "*"):  # the database and its WAL
        shutil.copy(part, tmp_path / part.name)
    return tmp_path / "run.lock"


@pytest.fixture
def lock_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for an empty sandbox: the lock is refused before Notion is opened, so none is needed."""
    use_env(monkeypatch, tmp_path)
    return tmp_path / "run.lock"


def fail_writes_of(monkeypatch: pytest.MonkeyPatch, owned: str) -> None:
    """Every update_properties that writes `owned` fails the way Notion does after its retries."""
    real = NotionGateway.update_properties

    def update(self: NotionGateway, page_id: str, values: dict[str, Any], *, what: str = "") -> None:
        if owned in values:
            raise NotionError(f"Notion answered 502 five times while {what or 'writing'}")
        real(self, page_id, values, what=what)

    monkeypatch.setattr(NotionGateway, "update_properties", update)


def test_report_exits_1_and_names_the_row_it_could_not_mark(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_writes_of(monkeypatch, "Sprint")
    result = CliRunner().invoke(app, ["report", "--sprint", "2", "--start", "2026-12-07"])
    output = flat(result.output)
    assert result.exit_code == 1, output
    assert "not marked for sprint 2" in output
    assert "Notion answered 502 five times" in output


def test_run_with_report_inherits_the_report_exit_code(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_writes_of(monkeypatch, "Sprint")
    result = CliRunner().invoke(app, ["run", "--report", "--sprint", "2", "--start", "2026-12-07"])
    assert result.exit_code == 1, result.output
    assert "not marked for sprint 2" in flat(result.output)


def test_report_exits_0_when_every_row_is_marked(workspace: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--sprint", "2", "--start", "2026-12-07"])
    assert result.exit_code == 0, result.output


def test_score_exits_1_when_a_row_write_fails(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(backlog_sandbox_path=workspace.parent / "sandbox.sqlite3")
    with NotionGateway.from_settings(settings) as gateway:
        row = next(r for r in gateway.iter_rows() if r.values.get("RICE") is not None)
        gateway.update_properties(row.page_id, {"Effort": 13}, what="the PM re-estimating (test)")
    fail_writes_of(monkeypatch, "Score Note")
    result = CliRunner().invoke(app, ["score"])
    assert result.exit_code == 1, result.output
    assert "Notion answered 502 five times" in flat(result.output)


@pytest.mark.parametrize(
    "argv",
    [["sync"], ["score"], ["report", "--sprint", "1"], ["run"], ["init"]],
    ids=["sync", "score", "report", "run", "init"],
)
def test_every_writing_command_exits_1_naming_the_lock_and_its_holder(lock_path: Path, argv: list[str]) -> None:
    holder = RunLock(lock_path, command="run")
    holder.acquire()
    try:
        result = CliRunner().invoke(app, argv)
    finally:
        holder.release()
    output = flat(result.output)
    assert result.exit_code == 1, output
    assert "another `backlog run` is in progress" in output
    assert str(lock_path) in output.replace(" ", "")  # a long path may wrap
    assert "command `backlog run`" in output
    assert "since " in output
    assert f"this `backlog {argv[0]}` exits without work" in output
    assert "Notion calls" not in output  # refused before Notion is opened


def test_a_dry_run_writes_nothing_so_it_needs_no_lock(workspace: Path) -> None:
    holder = RunLock(workspace, command="run")
    holder.acquire()
    try:
        result = CliRunner().invoke(app, ["sync", "--dry-run"])
    finally:
        holder.release()
    assert result.exit_code == 0, result.output


def test_a_command_waits_for_the_lock_up_to_backlog_lock_wait_s(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKLOG_LOCK_WAIT_S", "10")
    holder = RunLock(workspace, command="run")
    holder.acquire()
    threading.Timer(0.4, holder.release).start()
    began = time.monotonic()
    result = CliRunner().invoke(app, ["score"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - began >= 0.3  # it waited for the holder, then worked


def test_the_lock_file_names_its_holder_only_while_held(lock_path: Path) -> None:
    lock = RunLock(lock_path, command="sync")
    lock.acquire()
    assert lock_path.read_text().startswith("pid ")
    assert "command `backlog sync`" in lock_path.read_text()
    lock.release()
    assert lock_path.read_text() == ""  # a later reader never names a holder that has gone
