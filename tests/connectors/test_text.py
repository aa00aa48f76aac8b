"""Shared text helpers: HTML to text, titles, kind/tag guesses, timestamps and export-file record locators."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.http import SourceConfigError
from connectors.signal import KindHint
from connectors.text import (
    csv_records,
    first_line,
    guess_kind,
    guess_tags,
    html_to_text,
    json_records,
    ndjson_records,
    parse_timestamp,
    read_export_text,
)


def test_html_to_text_keeps_paragraphs_and_drops_markup() -> None:
    html = (
        "<p>Hi&nbsp;<b>team</b>,</p><p>Latency   is &gt; 1s<br>on calls</p>"
        "<ul><li>EU</li><li>US</li></ul><script>x()</script>"
    )
    assert html_to_text(html) == "Hi team,\n\nLatency is > 1s\non calls\n\n- EU\n- US"


def test_html_to_text_on_plain_text_only_normalises() -> None:
    assert html_to_text("  a  &amp;  b \r\n\r\n\r\n\r\nc  ") == "a & b\n\nc"


def test_first_line_skips_blank_lines_and_cuts_at_a_word() -> None:
    assert first_line("\n\n   Spanish voices please  \nmore") == "Spanish voices please"
    cut = first_line("word " * 100, limit=50)
    assert len(cut) <= 50
    assert cut.endswith("word…")
    assert first_line("") == ""


@pytest.mark.parametrize(
    ("texts", "labels", "expected"),
    [
        (("The SDK crashes on reconnect",), (), KindHint.BUG),
        (("Webhook deliveries failing since Tuesday",), (), KindHint.BUG),
        (("Add a debug mode to the console",), (), KindHint.FEATURE),  # "debug" is not "bug"
        (("anything",), ("type: Bug",), KindHint.BUG),
        (("anything",), ("tech-debt",), KindHint.TECH_DEBT),
        (("anything",), ("on-call",), KindHint.RELIABILITY),
        (("anything",), ("SOC2",), KindHint.COMPLIANCE),
        (("it crashes when I ask for it",), ("feature-request",), KindHint.FEATURE),  # labels are deliberate
        (("Custom wake word",), (), KindHint.FEATURE),
    ],
)
def test_guess_kind(texts: tuple[str, ...], labels: tuple[str, ...], expected: KindHint) -> None:
    assert guess_kind(*texts, labels=labels) is expected


def test_guess_tags() -> None:
    assert guess_tags("We went with Retell because of latency") == ("competitive-loss",)
    assert guess_tags("Lost the deal on price") == ("competitive-loss",)
    assert guess_tags("If this is not fixed we will cancel our subscription") == ("churn-risk",)
    assert guess_tags("Considering cancelling", "lost to Vapi") == ("competitive-loss", "churn-risk")
    assert guess_tags("Please add a cancel button to the call widget") == ()
    assert guess_tags("The retelling of the story") == ()


def test_parse_timestamp_forms() -> None:
    expected = datetime(2026, 11, 3, 19, 5, tzinfo=UTC)
    assert parse_timestamp("2026-11-03T19:05:00Z") == expected
    assert parse_timestamp("2026-11-03T14:05:00-05:00") == expected
    assert parse_timestamp("2026-11-03 19:05:00") == expected  # naive = UTC
    assert parse_timestamp(expected.timestamp()) == expected
    assert parse_timestamp(str(int(expected.timestamp()))) == expected
    with pytest.raises(ValueError, match="unparseable date 'Nov 3rd'"):
        parse_timestamp("Nov 3rd")
    with pytest.raises(ValueError, match="not a timestamp"):
        parse_timestamp(None)


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
