"""Tech-debt tracker: the spreadsheet's CSV with its column names from backlog.toml `[sources.tracker]`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.http import MalformedPayloadError
from connectors.signal import KindHint
from connectors.tracker import TrackerConnector, sheet_date
from service.pipelines.doctor import source_checks
from service.pipelines.sources import build_connector
from service.settings import Settings
from tests import REPO_ROOT

DEMO = REPO_ROOT / "deploy" / "demo" / "tech_debt_tracker.csv"
DEMO_CONFIG = REPO_ROOT / "deploy" / "demo" / "backlog.toml"


def make(**settings: Any) -> TrackerConnector:
    connector = build_connector(Settings(**settings), "tracker")
    assert isinstance(connector, TrackerConnector)
    return connector


def test_columns_come_from_backlog_toml() -> None:
    connector = make(tracker_export_path=DEMO, backlog_config=DEMO_CONFIG)

    signals = list(connector.read(None))

    assert [s.source_key for s in signals] == [
        "tracker:TD-14",
        "tracker:TD-17",
        "tracker:TD-21",
        "tracker:TD-22",
        "tracker:TD-25",
    ]
    first = signals[0]
    assert first.title == "Webhook retry queue is an in-memory list"
    assert first.text.endswith("Owner: Amir")
    assert first.kind_hint is KindHint.TECH_DEBT
    assert first.updated_at == datetime(2026, 11, 8, tzinfo=UTC)
    assert first.url is None
    assert connector.problems == []


def test_default_columns_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "debt.csv"
    path.write_text(
        "ID,Title,Description,Owner,Updated\n"
        "TD-1,Slow build,CI takes 40 minutes,Kenji,2026-11-03\n"
        ",No id,,,2026-11-03\n"
        "TD-3,Undated,,,\n"
        "TD-4,Bad date,,,next week\n",
        encoding="utf-8",
    )
    connector = make(tracker_export_path=path, backlog_config=tmp_path / "absent.toml")

    assert [s.external_id for s in connector.read(None)] == ["TD-1"]
    assert [(p.where.rsplit(":", 1)[1], p.message.split(":")[0]) for p in connector.problems] == [
        ("3", "the 'ID' cell is empty"),
        ("4", "item TD-3"),
        ("5", "item TD-4"),
    ]


def test_missing_column_says_where_to_name_it(tmp_path: Path) -> None:
    path = tmp_path / "debt.csv"
    path.write_text("Key,Summary,Changed\nA,b,2026-11-03\n", encoding="utf-8")
    with pytest.raises(
        MalformedPayloadError, match=r"debt.csv:1: no 'ID', 'Title', 'Updated' column.*\[sources.tracker\]"
    ):
        list(make(tracker_export_path=path, backlog_config=tmp_path / "absent.toml").read(None))


def test_doctor_checks_the_file(tmp_path: Path) -> None:
    checks = source_checks(Settings(tracker_export_path=tmp_path / "gone.csv"), "tracker", None)
    assert [(c.name, c.ok, c.fix) for c in checks] == [("export file", False, "fix TRACKER_EXPORT_PATH")]


def test_sheet_dates() -> None:
    assert sheet_date("11/03/2026") == datetime(2026, 11, 3, tzinfo=UTC)
    assert sheet_date("2026-11-03T10:00:00Z") == datetime(2026, 11, 3, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="unparseable"):
        sheet_date("soon")
