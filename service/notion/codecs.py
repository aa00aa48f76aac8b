"""Notion property values <-> plain Python values, both ways, within Notion's request limits.

Pure functions, no I/O and no `notion_client`: the gateway calls them, tests pin them at the limits.

Limits (https://developers.notion.com/reference/request-limits): one rich text object's `text.content` holds at
most 2000 characters, a rich text array at most 100 objects, a URL at most 2000 characters, multi_select /
relation / people at most 100 items, select option names no commas and at most 100 characters. Notion validates
lengths with JavaScript's `String.length`, i.e. in UTF-16 code units: an emoji outside the BMP counts as 2.
We count the same way, so text full of emoji never trips a 400 (and never splits a surrogate pair).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, get_args

from service.notion.schema import PropertyType

MAX_TEXT_CHUNK = 2000  # UTF-16 code units per rich text object
MAX_ARRAY = 100  # rich text objects per array; items per multi_select / relation / people
MAX_RICH_TEXT = MAX_TEXT_CHUNK * MAX_ARRAY  # 200,000 code units in one title / rich_text value
MAX_OPTION_NAME = 100
MAX_URL = 2000
ELLIPSIS = "…"
READ_MORE = " (read more)"
COMMA_REPLACEMENT = ";"

# Types that can be written (the schema's property types); the rest are decoded only.
WRITABLE_TYPES: frozenset[str] = frozenset(get_args(PropertyType))


class CodecError(ValueError):
    """A value cannot be written as that Notion property type; the message names the property and the fix."""


@dataclass(frozen=True)
class LinkedText:
    """Text for a title/rich_text property; when cut to fit, it ends with "(read more)" linking to `link`."""

    text: str
    link: str | None = None


# --- text --------------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length as Notion (JavaScript) counts it."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cut_utf16(text: str, units: int) -> str:
    """The longest prefix of `text` of at most `units` UTF-16 code units, never splitting a character."""
    if units <= 0:
        return ""
    if len(text) <= units and utf16_len(text) <= units:
        return text
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text


def split_text(text: str, size: int = MAX_TEXT_CHUNK) -> list[str]:
    """Cut `text` into pieces of at most `size` UTF-16 code units each."""
    if utf16_len(text) == len(text):  # no astral characters: plain slicing is exact (and fast)
        return [text[i : i + size] for i in range(0, len(text), size)]
    chunks: list[str] = []
    rest = text
    while rest:
        piece = _cut_utf16(rest, size)
        chunks.append(piece)
        rest = rest[len(piece) :]
    return chunks


def _text_object(content: str, link: str | None = None) -> dict[str, Any]:
    return {"type": "text", "text": {"content": content, "link": {"url": link} if link else None}}


def encode_rich_text(text: str, *, link: str | None = None, limit_chars: int | None = None) -> list[dict[str, Any]]:
    """A rich text array for `text`: ≤ 2000-unit objects, ≤ 100 of them, at most `limit_chars` units in all.

    Text that does not fit is cut and ends with "…"; with `link`, a last " (read more)" object links to it
    (a link longer than Notion's URL limit is left out rather than failing the whole write).
    """
    limit = MAX_RICH_TEXT if limit_chars is None else max(0, min(limit_chars, MAX_RICH_TEXT))
    if utf16_len(text) <= limit:
        return [_text_object(piece) for piece in split_text(text)]
    usable_link = link if link and len(link) <= MAX_URL else None
    budget = limit - utf16_len(ELLIPSIS)
    max_objects = MAX_ARRAY
    if usable_link:
        budget -= utf16_len(READ_MORE)
        max_objects -= 1  # the "(read more)" object takes one slot of the 100
    budget = min(budget, max_objects * MAX_TEXT_CHUNK - utf16_len(ELLIPSIS))
    body = _cut_utf16(text, max(0, budget)) + ELLIPSIS
    objects = [_text_object(piece) for piece in split_text(body)]
    if usable_link:
        objects.append(_text_object(READ_MORE, usable_link))
    return objects


def decode_rich_text(items: Iterable[Mapping[str, Any]] | None) -> str:
    """Plain text of a rich text array (mentions and equations included as Notion renders them)."""
    parts: list[str] = []
    for item in items or ():
        plain = item.get("plain_text")
        if plain is None:
            plain = (item.get("text") or {}).get("content", "")
        parts.append(str(plain))
    return "".join(parts)


# --- options -----------------------------------------------------------------------------------------------


def clean_option_name(value: Any) -> str | None:
    """A select/status/multi_select option name Notion accepts: no commas, trimmed, at most 100 characters."""
    if value is None:
        return None
    name = " ".join(str(value).replace(",", COMMA_REPLACEMENT).split())
    name = _cut_utf16(name, MAX_OPTION_NAME).strip()
    return name or None


# --- scalar helpers ----------------------------------------------------------------------------------------


def _iso(value: date | datetime | str) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).strip()
    parse_iso(text)  # validates; raises CodecError
    return text


def parse_iso(text: str) -> date | datetime:
    """ISO 8601 date or date-time from Notion ("2026-07-04", "2026-07-04T09:08:00.000Z")."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise CodecError(
            f"{text!r} is not an ISO 8601 date or date-time (e.g. 2026-07-04 or 2026-07-04T09:00Z)"
        ) from None


def _ids(values: Any, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    ids = list(dict.fromkeys(str(v) for v in values if v))
    if len(ids) > MAX_ARRAY:
        raise CodecError(f"{len(ids)} {what}; Notion accepts at most {MAX_ARRAY} in one property")
    return ids


# --- encode ------------------------------------------------------------------------------------------------


def encode_property(spec_type: str, value: Any) -> dict[str, Any]:
    """The property value object (`{"select": {...}}`) that writes `value` as a `spec_type` property."""
    if spec_type in ("title", "rich_text"):
        if value is None:
            return {spec_type: []}
        if isinstance(value, LinkedText):
            return {spec_type: encode_rich_text(value.text, link=value.link)}
        return {spec_type: encode_rich_text(str(value))}
    if spec_type in ("select", "status"):
        name = clean_option_name(value)
        return {spec_type: {"name": name} if name else None}
    if spec_type == "multi_select":
        raw = [value] if isinstance(value, str) else list(value or ())
        names = list(dict.fromkeys(n for n in (clean_option_name(v) for v in raw) if n))
        if len(names) > MAX_ARRAY:
            raise CodecError(f"{len(names)} options; a multi_select holds at most {MAX_ARRAY}")
        return {"multi_select": [{"name": n} for n in names]}
    if spec_type == "number":
        return {"number": _number(value)}
    if spec_type == "date":
        return {"date": {"start": _iso(value)} if value not in (None, "") else None}
    if spec_type == "url":
        url = str(value).strip() if value not in (None, "") else None
        if url is not None and len(url) > MAX_URL:
            raise CodecError(f"URL of {len(url)} characters; Notion accepts at most {MAX_URL}")
        return {"url": url}
    if spec_type == "checkbox":
        return {"checkbox": bool(value)}
    if spec_type == "relation":
        return {"relation": [{"id": i} for i in _ids(value, "related pages")]}
    if spec_type == "people":
        return {"people": [{"object": "user", "id": i} for i in _ids(value, "people")]}
    raise CodecError(f"properties of type {spec_type!r} cannot be written by the service (read-only or unknown)")


def _number(value: Any) -> int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CodecError(f"{value!r} is a boolean, not a number")
    if isinstance(value, int | float):
        number: int | float = value
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise CodecError(f"{value!r} is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        return None  # Notion rejects NaN/inf; an empty number is the honest value
    return number


def encode_properties(values: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Encode every value by its property's type; a property missing from `types` is a `CodecError` naming it."""
    encoded: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        spec_type = types.get(name)
        if spec_type is None:
            raise CodecError(f"property {name!r} does not exist in the database: run `backlog init` to add it")
        try:
            encoded[name] = encode_property(spec_type, value)
        except CodecError as exc:
            raise CodecError(f"property {name!r} ({spec_type}): {exc}") from None
    return encoded


# --- decode ------------------------------------------------------------------------------------------------


def _user(user: Mapping[str, Any] | None) -> str | None:
    if not user:
        return None
    return str(user.get("name") or user.get("id") or "") or None


def _decode_date(value: Mapping[str, Any] | None) -> date | datetime | None:
    if not value or not value.get("start"):
        return None
    try:
        return parse_iso(str(value["start"]))
    except CodecError:
        return None


def _decode_formula(value: Mapping[str, Any] | None) -> Any:
    if not value:
        return None
    kind = value.get("type")
    if kind == "date":
        return _decode_date(value.get("date"))
    return value.get(str(kind)) if kind in ("string", "number", "boolean") else None


def _decode_rollup(value: Mapping[str, Any] | None) -> Any:
    if not value:
        return None
    kind = value.get("type")
    if kind == "number":
        return value.get("number")
    if kind == "date":
        return _decode_date(value.get("date"))
    if kind == "array":
        return tuple(decode_property(item) for item in value.get("array") or ())
    return None


def decode_property(prop: Mapping[str, Any]) -> Any:
    """Plain value of a page property object. Unknown types decode to None (the caller reports them)."""
    kind = prop.get("type")
    value: Any = prop.get(str(kind)) if kind else None
    if kind in ("title", "rich_text"):
        return decode_rich_text(value)
    if kind in ("select", "status"):
        return value.get("name") if value else None
    if kind == "multi_select":
        return tuple(str(option.get("name")) for option in value or ())
    if kind in ("number", "url", "email", "phone_number"):
        return value
    if kind == "checkbox":
        return bool(value)
    if kind == "date":
        return _decode_date(value)
    if kind in ("created_time", "last_edited_time"):
        return parse_iso(str(value)) if value else None
    if kind == "relation":
        return tuple(str(item.get("id")) for item in value or ())
    if kind == "people":
        return tuple(name for name in (_user(user) for user in value or ()) if name)
    if kind in ("created_by", "last_edited_by"):
        return _user(value)
    if kind == "formula":
        return _decode_formula(value)
    if kind == "rollup":
        return _decode_rollup(value)
    if kind == "unique_id":
        if not value or value.get("number") is None:
            return None
        prefix = value.get("prefix")
        return f"{prefix}-{value['number']}" if prefix else value["number"]
    if kind == "files":
        return tuple(str(item.get("name", "")) for item in value or ())
    return None


def decode_properties(properties: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Every property of a page object, decoded."""
    return {name: decode_property(prop) for name, prop in properties.items()}


__all__ = [
    "ELLIPSIS",
    "MAX_ARRAY",
    "MAX_RICH_TEXT",
    "MAX_TEXT_CHUNK",
    "READ_MORE",
    "CodecError",
    "LinkedText",
    "clean_option_name",
    "decode_properties",
    "decode_property",
    "decode_rich_text",
    "encode_properties",
    "encode_property",
    "encode_rich_text",
    "parse_iso",
    "split_text",
    "utf16_len",
]
