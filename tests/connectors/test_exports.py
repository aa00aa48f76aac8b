"""The one export reader: records with their file:line, utf-8-sig, JSON / NDJSON / CSV, errors naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.exports import ExportFile, csv_records, json_records, ndjson_records, read_export_text
from connectors.http import MalformedPayloadError, SourceConfigError


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


def test_export_file_names_each_record_by_line_and_the_item_when_lines_are_shared(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text('\ufeff[\r\n  {"id": 1},\r\n  {"id": 2}, {"id": 3}\r\n]\r\n', encoding="utf-8")
    export = ExportFile("github", path, "GITHUB_EXPORT_PATH")

    assert list(export.records(None, "a JSON array")) == [
        (f"{path}:2", {"id": 1}),
        (f"{path}:3 item 2", {"id": 2}),
        (f"{path}:3 item 3", {"id": 3}),
    ]


def test_export_file_errors_name_the_file_the_line_and_the_expected_shape(tmp_path: Path) -> None:
    path = tmp_path / "calls.json"
    path.write_text('{"calls": [\n  {"id": 1},\n  oops\n]}', encoding="utf-8")
    with pytest.raises(MalformedPayloadError, match=r"calls\.json:3: not valid JSON .*expected \{\"calls\""):
        list(ExportFile("gong", path, "GONG_EXPORT_PATH").records("calls", '{"calls": [...]}'))

    path.write_text('{"users": []}', encoding="utf-8")
    with pytest.raises(MalformedPayloadError, match=r"calls\.json: expected \{\"calls\""):
        list(ExportFile("gong", path, "GONG_EXPORT_PATH").records("calls", '{"calls": [...]}'))


def test_ndjson_bad_lines_are_skipped_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "tickets.ndjson"
    path.write_text('{"id": 1}\n{broken\n{"id": 2}\n', encoding="utf-8")
    skipped: list[tuple[str, str]] = []

    records = list(
        ExportFile("zendesk", path, "ZENDESK_EXPORT_PATH").records(
            "tickets", "tickets", skip=lambda w, m: skipped.append((w, m))
        )
    )

    assert records == [(f"{path}:1", {"id": 1}), (f"{path}:3", {"id": 2})]
    assert [where for where, _ in skipped] == [f"{path}:2"]
