"""The one export reader: records with their file:line, utf-8-sig, JSON / NDJSON / CSV, errors naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.exports import csv_records, json_records, ndjson_records, read_export_text
from connectors.http import SourceConfigError


def test_json_records_give_each_item_its_starting_line() -> None:
    text = '{"tickets": [\n  {"id": 1},\n\n  {"id": 2,\n   "x": [1, 2]},\n  {"id": 3}\n]}'
    assert json_records(text, "tickets") == [(2, {"id": 1}), (4, {"id": 2, "x": [1, 2]}), (6, {"id": 3})]
    assert json_records('[{"id": 1}]', "tickets") == [(1, {"id": 1})]
    assert json_records('{"users": []}', "tickets") is None


def test_ndjson_records_yield_errors_for_bad_lines() -> None:
    records = list(ndjson_records('{"id": 1}\n\n{oops\n{"id": 2}\n'))
    assert [line for line, _ in records] == [1, 3, 4]
    assert isinstance(records[1][1], ValueError)


def test_csv_records_number_lines_across_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('\ufeffReview ID,What do you like best?\n1,"two\nlines"\n\n2,short\n3\n', encoding="utf-8")
    assert list(csv_records(path)) == [
        (2, {"review id": "1", "what do you like best": "two\nlines"}),
        (5, {"review id": "2", "what do you like best": "short"}),
        (6, {"review id": "3", "what do you like best": ""}),
    ]


def test_read_export_text_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match=r"ZENDESK_EXPORT_PATH=.*does not exist"):
        read_export_text("zendesk", tmp_path / "missing.json", "ZENDESK_EXPORT_PATH")
