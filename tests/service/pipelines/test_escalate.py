"""`backlog escalate PAGE`: the trade-off is shown and logged on the sprint page; rows change only with --apply."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.app.cli import app
from service.notion import NotionGateway
from service.pipelines.escalate import EscalationError, page_id_of, run_escalate
from tests.service.pipelines.test_report import (
    PICKED,
    POLICY,
    SPRINT_1,
    block_texts,
    blocks_of,
    report,
    sprint_pages,
)
from tests.service.pipelines.test_score import new_gateway, rows_by_key, seed_backlog

TODAY = SPRINT_1.replace(day=14)


@pytest.fixture
def gateway(tmp_path: Path) -> NotionGateway:
    gw = new_gateway(tmp_path / "s.sqlite3")
    seed_backlog(gw)
    report(gw)  # sprint 1 planned: latency, webhooks, escalation, hipaa
    return gw


def planned(gateway: NotionGateway) -> set[str]:
    return {k for k, r in rows_by_key(gateway).items() if r.get("Sprint") == 1 and r.get("Status") == "Planned"}


def page_texts(gateway: NotionGateway) -> list[str]:
    (page_id,) = [pid for title, pid in sprint_pages(gateway).items() if title.startswith("Sprint 1 —")]
    return block_texts(blocks_of(gateway, page_id))


def test_a_dry_run_writes_nothing(gateway: NotionGateway) -> None:
    analytics = rows_by_key(gateway)["analytics"]
    writes = gateway.calls.writes
    result = run_escalate(gateway, POLICY, analytics.page_id, sprint=1, today=TODAY, dry_run=True)
    assert result.escalation.drops
    assert result.escalation.fits
    assert gateway.calls.writes == writes
    assert not result.recorded


def test_without_apply_the_trade_off_is_logged_and_no_row_changes(gateway: NotionGateway) -> None:
    analytics = rows_by_key(gateway)["analytics"]
    result = run_escalate(gateway, POLICY, analytics.url or analytics.page_id, today=TODAY)  # latest sprint page
    assert result.sprint == 1
    assert not result.applied
    assert result.rows_written == 0
    assert planned(gateway) == PICKED
    texts = page_texts(gateway)
    assert texts[-1] == result.log_line
    assert result.log_line.startswith("2026-01-14 proposed (confirm with --apply): Escalate Custom analytics")
    # The next report keeps the log (it is read back and rendered as the page's last section).
    report(gateway)
    assert page_texts(gateway)[-1] == result.log_line


def test_apply_plans_the_escalated_row_and_drops_the_shown_rows(gateway: NotionGateway) -> None:
    analytics = rows_by_key(gateway)["analytics"]
    result = run_escalate(gateway, POLICY, analytics.page_id, sprint=1, today=TODAY, apply=True)
    dropped = {d.candidate.name for d in result.escalation.drops}
    assert result.applied
    assert result.rows_written == 1 + len(dropped)
    rows = rows_by_key(gateway)
    assert (rows["analytics"].get("Sprint"), rows["analytics"].get("Status")) == (1, "Planned")
    for key, row in rows.items():
        if row.get("Name") in dropped:
            assert (row.get("Sprint"), row.get("Status")) == (None, "Scored"), key
    assert page_texts(gateway)[-1].startswith("2026-01-14 applied: Escalate Custom analytics")


def test_errors_say_what_to_do(gateway: NotionGateway) -> None:
    with pytest.raises(EscalationError, match="not a Notion page id"):
        page_id_of("analytics")
    with pytest.raises(EscalationError, match="run `backlog report --sprint N` first"):
        run_escalate(gateway, POLICY, rows_by_key(gateway)["analytics"].page_id, sprint=9, today=TODAY)
    assert (
        page_id_of("https://www.notion.so/Row-0123456789abcdef0123456789abcdef") == "0123456789abcdef0123456789abcdef"
    )


def test_the_cli_escalates_as_a_dry_run_and_refuses_an_unknown_audience(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKLOG_SANDBOX_PATH", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("BACKLOG_LOCK_PATH", str(tmp_path / "run.lock"))
    monkeypatch.setenv("BACKLOG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BACKLOG_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("NOTION_TOKEN", raising=False)
    monkeypatch.delenv("BACKLOG_CONFIG", raising=False)
    gw = new_gateway(tmp_path / "cli.sqlite3")
    seed_backlog(gw)
    report(gw)
    analytics = rows_by_key(gw)["analytics"].page_id
    gw.close()
    runner = CliRunner()
    result = runner.invoke(app, ["escalate", analytics, "--sprint", "1", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Escalate Custom analytics" in " ".join(result.output.split())
    assert "nothing recorded" in result.output
    bad = runner.invoke(app, ["report", "--sprint", "1", "--audience", "finance"])
    assert bad.exit_code == 2
    assert "finance" in bad.output
    assert "marketing" in bad.output
