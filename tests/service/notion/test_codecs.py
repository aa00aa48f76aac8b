"""Property codecs at Notion's limits, and round trips for every schema type."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from service.notion.codecs import (
    ELLIPSIS,
    MAX_RICH_TEXT,
    READ_MORE,
    CodecError,
    LinkedText,
    decode_property,
    decode_rich_text,
    encode_properties,
    encode_property,
    encode_rich_text,
    utf16_len,
)
from service.notion.schema import SCHEMA


def _as_response(spec_type: str, encoded: dict[str, Any]) -> dict[str, Any]:
    """What Notion sends back for a value we wrote: same shape plus `type` and `plain_text`."""
    value = encoded[spec_type]
    if spec_type in ("title", "rich_text"):
        value = [{**item, "plain_text": item["text"]["content"]} for item in value]
    return {"id": "x", "type": spec_type, spec_type: value}


def _contents(objects: list[dict[str, Any]]) -> list[str]:
    return [item["text"]["content"] for item in objects]


@pytest.mark.parametrize(("length", "objects"), [(0, 0), (1, 1), (2000, 1), (2001, 2), (4000, 2), (4001, 3)])
def test_rich_text_splits_into_2000_unit_objects(length: int, objects: int) -> None:
    encoded = encode_rich_text("a" * length)
    assert len(encoded) == objects
    assert all(len(c) <= 2000 for c in _contents(encoded))
    assert "".join(_contents(encoded)) == "a" * length


def test_rich_text_at_200000_is_kept_whole_in_100_objects() -> None:
    encoded = encode_rich_text("b" * MAX_RICH_TEXT)
    assert len(encoded) == 100
    assert "".join(_contents(encoded)) == "b" * MAX_RICH_TEXT


def test_rich_text_over_200000_is_cut_with_ellipsis() -> None:
    encoded = encode_rich_text("c" * (MAX_RICH_TEXT + 1))
    text = "".join(_contents(encoded))
    assert len(encoded) == 100
    assert text.endswith(ELLIPSIS)
    assert utf16_len(text) == MAX_RICH_TEXT


def test_rich_text_over_limit_with_link_ends_with_read_more() -> None:
    encoded = encode_rich_text("d" * (MAX_RICH_TEXT + 1), link="https://example.com/t/1")
    assert len(encoded) == 100
    assert encoded[-1]["text"] == {"content": READ_MORE, "link": {"url": "https://example.com/t/1"}}
    assert encoded[-2]["text"]["content"].endswith(ELLIPSIS)
    assert utf16_len("".join(_contents(encoded))) <= MAX_RICH_TEXT


def test_limit_chars_cuts_short_text_and_links() -> None:
    encoded = encode_rich_text("word " * 100, link="https://x.test/1", limit_chars=50)
    text = "".join(_contents(encoded))
    assert utf16_len(text) <= 50
    assert text.endswith(ELLIPSIS + READ_MORE)
    assert encoded[-1]["text"]["link"] == {"url": "https://x.test/1"}


def test_text_within_limit_gets_no_read_more_even_with_link() -> None:
    assert encode_property("rich_text", LinkedText("short", "https://x.test")) == {
        "rich_text": [{"type": "text", "text": {"content": "short", "link": None}}]
    }


def test_astral_characters_count_as_two_units_and_are_never_split() -> None:
    text = "😀" * 1001  # 2002 UTF-16 code units, 1001 Python characters
    encoded = encode_rich_text(text)
    assert _contents(encoded) == ["😀" * 1000, "😀"]
    mixed = "a" + "😀" * 1000  # 2001 units: the emoji that would straddle the boundary moves on whole
    assert _contents(encode_rich_text(mixed)) == ["a" + "😀" * 999, "😀"]


def test_astral_text_over_the_total_limit_is_cut_by_units() -> None:
    encoded = encode_rich_text("😀" * (MAX_RICH_TEXT // 2 + 1))
    assert len(encoded) <= 100
    assert all(utf16_len(c) <= 2000 for c in _contents(encoded))
    assert utf16_len("".join(_contents(encoded))) <= MAX_RICH_TEXT


def test_select_replaces_commas_trims_and_cuts_to_100() -> None:
    assert encode_property("select", " Acme,  Inc. ") == {"select": {"name": "Acme; Inc."}}
    assert encode_property("select", "x" * 150) == {"select": {"name": "x" * 100}}
    assert encode_property("select", "") == {"select": None}
    assert encode_property("status", None) == {"status": None}


@pytest.mark.parametrize(("count", "ok"), [(100, True), (101, False)])
def test_arrays_hold_at_most_100(count: int, ok: bool) -> None:
    ids = [f"id-{i}" for i in range(count)]
    for spec_type in ("relation", "people", "multi_select"):
        if ok:
            assert len(encode_property(spec_type, ids)[spec_type]) == count
        else:
            with pytest.raises(CodecError, match="at most 100"):
                encode_property(spec_type, ids)


def test_number_rejects_text_and_booleans_and_empties_nan() -> None:
    assert encode_property("number", "12") == {"number": 12.0}
    assert encode_property("number", float("nan")) == {"number": None}
    with pytest.raises(CodecError, match="not a number"):
        encode_property("number", "many")
    with pytest.raises(CodecError, match="boolean"):
        encode_property("number", True)


def test_bad_date_and_long_url_are_clear_errors() -> None:
    with pytest.raises(CodecError, match="ISO 8601"):
        encode_property("date", "last tuesday")
    with pytest.raises(CodecError, match="at most 2000"):
        encode_property("url", "https://x.test/" + "a" * 2000)


def test_encode_properties_names_the_property() -> None:
    with pytest.raises(CodecError, match=r"'Votes' \(number\)"):
        encode_properties({"Votes": "lots"}, {"Votes": "number"})
    with pytest.raises(CodecError, match=r"'Nope' does not exist.*backlog init"):
        encode_properties({"Nope": 1}, {"Votes": "number"})


SAMPLES: dict[str, Any] = {
    "title": "A title",
    "rich_text": "Some text 😀",
    "select": "Zendesk",
    "status": "New",
    "multi_select": ("O1", "O3"),
    "number": 4.5,
    "date": datetime(2026, 7, 4, 9, 8, tzinfo=UTC),
    "url": "https://example.com/a",
    "checkbox": True,
    "relation": ("page-1", "page-2"),
    "people": ("user-1",),
}


@pytest.mark.parametrize("spec_type", sorted({spec.type for spec in SCHEMA} | {"status"}))
def test_every_schema_type_round_trips(spec_type: str) -> None:
    value = SAMPLES[spec_type]
    assert decode_property(_as_response(spec_type, encode_property(spec_type, value))) == value


def test_date_only_round_trips_as_date() -> None:
    assert decode_property(_as_response("date", encode_property("date", date(2026, 1, 2)))) == date(2026, 1, 2)


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"type": "created_time", "created_time": "2026-07-04T09:08:00.000Z"}, datetime(2026, 7, 4, 9, 8, tzinfo=UTC)),
        ({"type": "formula", "formula": {"type": "number", "number": 3}}, 3),
        ({"type": "formula", "formula": {"type": "string", "string": "hi"}}, "hi"),
        ({"type": "rollup", "rollup": {"type": "number", "number": 7}}, 7),
        ({"type": "unique_id", "unique_id": {"prefix": "BL", "number": 12}}, "BL-12"),
        ({"type": "email", "email": "a@b.test"}, "a@b.test"),
        ({"type": "phone_number", "phone_number": "+1 555"}, "+1 555"),
        ({"type": "people", "people": [{"object": "user", "id": "u1", "name": "Ada"}, {"id": "u2"}]}, ("Ada", "u2")),
        ({"type": "some_future_type", "some_future_type": {"x": 1}}, None),
        ({"type": "select", "select": None}, None),
    ],
)
def test_read_only_and_unknown_types_decode_without_crashing(prop: dict[str, Any], expected: Any) -> None:
    assert decode_property(prop) == expected


def test_read_only_types_cannot_be_written() -> None:
    with pytest.raises(CodecError, match="cannot be written"):
        encode_property("formula", 1)


def test_decode_rich_text_uses_plain_text_of_mentions() -> None:
    items: list[dict[str, Any]] = [
        {"type": "mention", "plain_text": "@Ada"},
        {"type": "text", "text": {"content": " hi"}},
    ]
    assert decode_rich_text(items) == "@Ada hi"
