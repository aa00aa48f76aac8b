"""The `backlog` command line on the local sandbox: help, argument and configuration errors, `init` twice, `sync`
of the demo exports, and `backlog run`'s one-run-per-host lock (in process and with two real processes)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.app.cli import app
from service.app.runlock import RunLock
from tests.fakes.sandbox_helpers import (
    DEMO_CONFIG,
    DEMO_EXPORTS,
    DEMO_TOTAL,
    MALFORMED_G2_WHERE,
    backlog_command,
    demo_env,
    sandbox_settings,
    source_key_counts,
    sqlite_row_count,
)

COMMANDS = ("init", "sync", "score", "report", "run", "serve", "doctor", "sandbox", "demo", "config")


def flat(text: str) -> str:
    """Output with rich's box characters and line wrapping removed, so a sentence can be matched whole."""
    return " ".join(text.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def sandbox_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No NOTION_TOKEN: every command runs on the sandbox file under tmp_path, with the demo policy."""
    monkeypatch.setenv("BACKLOG_SANDBOX_PATH", str(tmp_path / "sandbox.sqlite3"))
    monkeypatch.setenv("BACKLOG_LOCK_PATH", str(tmp_path / "run.lock"))
    monkeypatch.setenv("BACKLOG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BACKLOG_CONFIG", str(DEMO_CONFIG))
    monkeypatch.setenv("BACKLOG_LOG_LEVEL", "WARNING")
    return tmp_path / "sandbox.sqlite3"


@pytest.fixture
def demo_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, path in DEMO_EXPORTS.items():
        monkeypatch.setenv(name.upper(), str(path))


# --- help and argument errors -------------------------------------------------------------------------------


def test_help_lists_every_command(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f" {name} " in result.stdout, f"{name} missing from --help"


def test_sync_with_an_unknown_source_names_it_before_touching_notion(runner: CliRunner, sandbox_env: Path) -> None:
    result = runner.invoke(app, ["sync", "--source", "zendesk", "--source", "nope"])
    assert result.exit_code == 2
    message = flat(result.output)
    assert "unknown source 'nope'" in message
    assert "choose from zendesk, g2, gong, github, discord" in message
    assert not sandbox_env.exists()  # no Notion call was made, not even to open the sandbox


def test_missing_explicit_config_file_exits_2_naming_the_setting(
    runner: CliRunner, sandbox_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "backlog.toml"
    monkeypatch.setenv("BACKLOG_CONFIG", str(missing))
    assert runner.invoke(app, ["init"]).exit_code == 0

    result = runner.invoke(app, ["sync"])

    assert result.exit_code == 2
    assert f"BACKLOG_CONFIG={missing} does not exist" in flat(result.output)
    assert sqlite_row_count(sandbox_env) == 0


# --- init -----------------------------------------------------------------------------------------------------


def test_init_twice_changes_nothing_the_second_time(runner: CliRunner, sandbox_env: Path) -> None:
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    assert "created database 'backlog-candidates'" in first.stdout

    second = runner.invoke(app, ["init"])

    assert second.exit_code == 0, second.output
    assert "adopted database 'backlog-candidates'" in second.stdout
    assert "nothing to change" in second.stdout
    assert "writes 0)" in second.stderr  # the "Notion calls: N (reads N, writes 0)" summary


# --- sync -----------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_exports")
def test_cli_sync_of_demo_exports_reports_the_bad_row_and_is_idempotent(runner: CliRunner, sandbox_env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0

    first = runner.invoke(app, ["sync"])

    assert first.exit_code == 0, first.output
    assert MALFORMED_G2_WHERE in first.stdout
    assert f"Notion writes: {DEMO_TOTAL};" in first.stdout
    assert sqlite_row_count(sandbox_env) == DEMO_TOTAL

    second = runner.invoke(app, ["sync"])

    assert second.exit_code == 0, second.output
    assert "Notion writes: 0;" in second.stdout
    assert sqlite_row_count(sandbox_env) == DEMO_TOTAL


@pytest.mark.usefixtures("demo_exports")
def test_cli_sync_dry_run_lists_what_it_would_create_and_writes_nothing(runner: CliRunner, sandbox_env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0

    result = runner.invoke(app, ["sync", "--dry-run", "--source", "zendesk"])

    assert result.exit_code == 0, result.output
    assert "would create: Need SOC 2 Type II report for vendor review" in result.stdout
    assert "Notion writes: 0;" in result.stdout
    assert sqlite_row_count(sandbox_env) == 0


# --- run: one at a time per host --------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_exports")
def test_run_exits_1_without_work_while_another_run_holds_the_lock(
    runner: CliRunner, sandbox_env: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    holder = RunLock(tmp_path / "run.lock")
    holder.acquire()
    try:
        blocked = runner.invoke(app, ["run"])
    finally:
        holder.release()

    assert blocked.exit_code == 1
    assert "another `backlog run` is in progress" in blocked.output
    assert sqlite_row_count(sandbox_env) == 0

    after = runner.invoke(app, ["run"])  # the lock is free again: the next run does the work

    assert after.exit_code == 0, after.output
    assert sqlite_row_count(sandbox_env) == DEMO_TOTAL


def test_two_runs_started_at_once_one_works_the_other_exits_1(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    init = subprocess.run(
        backlog_command("init"), check=False, env=demo_env(tmp_path), cwd=tmp_path, capture_output=True
    )
    assert init.returncode == 0, init.stderr.decode()
    # ~115 Notion calls (55 creates, 55 score writes) at 20/s: the first run holds the lock for about six seconds.
    # The second starts as soon as the first holds the lock (not a fixed delay), so a loaded machine cannot let
    # the first finish before the second begins.
    env = demo_env(tmp_path, NOTION_RATE_LIMIT="20")
    lock_path = Path(env["BACKLOG_LOCK_PATH"])
    first = subprocess.Popen(
        backlog_command("run"), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (lock_path.exists() and "pid" in lock_path.read_text()):
        time.sleep(0.05)
    second = subprocess.Popen(
        backlog_command("run"), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    outcomes = []
    for process in (first, second):
        stdout, stderr = process.communicate(timeout=90)
        outcomes.append((process.returncode, process.pid, stdout.decode() + stderr.decode()))

    assert sorted(code for code, _, _ in outcomes) == [0, 1], outcomes
    (_, winner_pid, _), (_, _, loser_output) = sorted(outcomes)
    assert "another `backlog run` is in progress" in loser_output
    assert f"pid {winner_pid}" in loser_output  # the message names the run holding the lock
    counts = source_key_counts(settings)
    assert sum(counts.values()) == DEMO_TOTAL
    assert max(counts.values()) == 1


# --- run: the cycle's steps, each with its exit code and Notion calls ---------------------------------------------


@pytest.mark.usefixtures("demo_exports")
def test_run_with_report_prints_each_step_then_its_exit_code_and_calls(runner: CliRunner, sandbox_env: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0

    result = runner.invoke(app, ["run", "--report", "--sprint", "2", "--start", "2026-11-23"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    step_lines = [line for line in lines if line.startswith("run: ")]
    expected = [f"run: {step} exit 0" for step in ("sync", "themes", "score", "report")]
    assert [line.split(",")[0] for line in step_lines] == expected
    assert "themes: " in result.stdout  # the grooming run keeps backlog-themes current
    assert f"Notion writes: {DEMO_TOTAL};" in result.stdout  # the sync table's footer, before its step line
    assert lines.index(step_lines[0]) > next(i for i, line in enumerate(lines) if line.startswith("Notion writes"))
    assert "report: sprint 2:" in result.stdout
    assert "Notion calls:" in result.stderr  # the frame's footer, once
    assert result.stderr.count("Notion calls:") == 1


def test_a_sprint_without_report_a_typo_sprint_and_a_page_that_is_no_page_are_named(
    runner: CliRunner, sandbox_env: Path
) -> None:
    """Each used to do something else than asked: run sync + score and ignore the sprint, write Sprint
    99999999999999999999 on the planned rows, or ask Notion for page "garbage" and exit 1."""
    no_report = runner.invoke(app, ["run", "--sprint", "2"])
    typo = runner.invoke(app, ["report", "--sprint", "20261"])
    no_page = runner.invoke(app, ["score", "--page", "garbage"])

    assert no_report.exit_code == 2
    assert "run `backlog run --report --sprint 2`" in flat(no_report.output)
    assert typo.exit_code == 2
    assert "less than or equal to 9999" in flat(typo.output)
    assert no_page.exit_code == 2
    assert "'garbage' is not a Notion page id or URL" in flat(no_page.output)
    assert not sandbox_env.exists()  # refused before Notion (the sandbox) was opened


def test_run_report_without_a_sprint_and_a_bad_start_date_are_named(runner: CliRunner, sandbox_env: Path) -> None:
    no_sprint = runner.invoke(app, ["run", "--report"])
    bad_start = runner.invoke(app, ["report", "--sprint", "1", "--start", "next week"])

    assert no_sprint.exit_code == 2
    assert "--report needs --sprint N" in flat(no_sprint.output)
    assert bad_start.exit_code == 2
    assert "'next week' is not a date; use YYYY-MM-DD" in flat(bad_start.output)
    assert not sandbox_env.exists()


# --- demo ---------------------------------------------------------------------------------------------------------


def test_demo_walks_every_step_under_its_heading_and_writes_the_summary(
    runner: CliRunner, sandbox_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".backlog").mkdir()

    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 0, result.output
    headings = ["1. backlog init", "2. backlog sync", "3. the PM grooms", "4. backlog score", "5. backlog report"]
    positions = [result.stdout.index(h) for h in [*headings, "where to look"]]
    assert positions == sorted(positions)
    assert f"Notion writes: {DEMO_TOTAL};" in result.stdout
    assert "PM edits applied to 58 rows" in result.stdout
    assert "summary written to .backlog/demo-summary.md" in result.stdout
    assert (tmp_path / ".backlog" / "demo-summary.md").read_text(encoding="utf-8").strip()
    themes = int(re.search(r"themes: (\d+) \(", result.stdout).group(1))  # type: ignore[union-attr]
    assert themes >= 5  # backlog-themes rows, after cycle 2's seven tickets (deploy/demo/cycle2/)
    assert sqlite_row_count(sandbox_env) == DEMO_TOTAL + 7 + themes

    again = runner.invoke(app, ["demo"])

    assert again.exit_code == 0, again.output
    assert "Notion writes: 0;" in again.stdout
    assert "writes 0)" in again.stderr


def test_an_error_naming_a_policy_key_in_brackets_is_printed_whole(
    runner: CliRunner, sandbox_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rich would read "[capacity.velocity]" as markup and drop it: the one thing that says where to fix it."""
    policy = tmp_path / "backlog.toml"
    policy.write_text("[capacity]\nvelocity = 9\n", encoding="utf-8")
    monkeypatch.setenv("BACKLOG_CONFIG", str(policy))
    assert runner.invoke(app, ["init"]).exit_code == 0

    result = runner.invoke(app, ["score"])

    assert result.exit_code == 2
    assert "backlog.toml: [capacity.velocity] Extra inputs are not permitted" in flat(result.output)
