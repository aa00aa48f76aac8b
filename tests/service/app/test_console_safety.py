"""What a person sees: console text is never markup, a source error is printed once without a doubled prefix,
and per-row log events stay out of a console run (JSON logs keep them)."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from service.app import render
from service.logging import configure_logging, get_logger
from service.pipelines.sync import SourceReport, SyncReport


def printed(monkeypatch: pytest.MonkeyPatch, report: SyncReport) -> str:
    buffer = io.StringIO()
    monkeypatch.setattr(render, "out", Console(file=buffer, width=200, color_system=None))
    render.render_sync(report)
    return buffer.getvalue()


def report(**fields: object) -> SyncReport:
    source = SourceReport(source="github", **fields)  # type: ignore[arg-type]
    return SyncReport(sources=[source], notion_calls=0, notion_writes=0, duration_s=0.0, dry_run=True)


def test_source_error_is_printed_once_without_a_doubled_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    text = printed(monkeypatch, report(status="failed", message="github: repo acme/x not found"))
    assert "github: github:" not in text
    assert text.count("repo acme/x not found") == 1


def test_titles_and_problems_print_as_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    hostile = "[/] closing tag alone [bold red]not markup[/bold red] [link=https://evil.example]x[/link]"
    text = printed(monkeypatch, report(problems=[hostile], would_create=[hostile]))
    assert text.count(hostile) == 2


def test_per_row_events_stay_off_the_console_but_reach_json_logs() -> None:
    console = io.StringIO()
    configure_logging(fmt="console", stream=console)
    get_logger("t").warning("sync.row_skipped", where="f.json:3", problem="bad")
    get_logger("t").warning("sync.other", detail="kept")
    assert "f.json:3" not in console.getvalue()
    assert "sync.other" in console.getvalue()

    lines = io.StringIO()
    configure_logging(fmt="json", stream=lines)
    get_logger("t").warning("sync.row_skipped", where="f.json:3", problem="bad")
    assert json.loads(lines.getvalue().splitlines()[-1])["where"] == "f.json:3"


def test_per_row_events_print_at_debug() -> None:
    console = io.StringIO()
    configure_logging(level="DEBUG", fmt="console", stream=console)
    get_logger("t").warning("sync.row_skipped", where="f.json:3", problem="bad")
    assert "f.json:3" in console.getvalue()
    configure_logging(fmt="json", stream=io.StringIO())
