"""The command frame: each known error becomes one message and its exit code (never a traceback), the Notion
call count is printed after the message, and the run lock is held around the whole command."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from service.app.frame import CommandError, command
from service.app.runlock import RunLock, RunLockHeldError
from service.notion import NotionAuthError, NotionError, NotionNotFoundError
from service.policy_file import ConfigError


@pytest.fixture(autouse=True)
def sandbox_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKLOG_SANDBOX_PATH", str(tmp_path / "sandbox.sqlite3"))
    monkeypatch.setenv("BACKLOG_LOCK_PATH", str(tmp_path / "run.lock"))
    monkeypatch.setenv("BACKLOG_LOG_LEVEL", "WARNING")


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (CommandError("only on the sandbox", code=2), 2, "t: only on the sandbox"),
        (ConfigError("backlog.toml: [capacity.x] bad"), 2, "configuration error: backlog.toml: [capacity.x] bad"),
        (NotionAuthError("NOTION_TOKEN is wrong"), 2, "t: NOTION_TOKEN is wrong"),
        (NotionNotFoundError("run `backlog init`"), 2, "t: run `backlog init`"),
        (NotionError("Notion answered 502 five times"), 1, "t failed: Notion answered 502 five times"),
    ],
)
def test_known_errors_become_a_message_then_the_call_count_and_an_exit_code(
    error: Exception, code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as stopped, command("t"):
        raise error

    assert stopped.value.exit_code == code
    printed = capsys.readouterr().err
    assert message in printed
    assert printed.index(message) < printed.index("Notion calls: 0")
    assert "Traceback" not in printed


def test_an_exclusive_command_holds_the_lock_until_it_ends(tmp_path: Path) -> None:
    with command("run", exclusive=True), pytest.raises(RunLockHeldError):
        RunLock(tmp_path / "run.lock").acquire()

    after = RunLock(tmp_path / "run.lock")
    after.acquire()  # released when the command ended
    after.release()


def test_an_exclusive_command_exits_1_before_opening_notion_while_the_lock_is_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = RunLock(tmp_path / "run.lock")
    holder.acquire()
    try:
        with pytest.raises(typer.Exit) as stopped, command("run", exclusive=True):
            pytest.fail("the command body must not run")
    finally:
        holder.release()

    assert stopped.value.exit_code == 1
    printed = capsys.readouterr().err
    assert "another `backlog run` is in progress" in printed
    assert "Notion calls" not in printed  # Notion was never opened
    assert not (tmp_path / "sandbox.sqlite3").exists()
