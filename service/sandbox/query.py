"""Data source query filters and sorts, evaluated in Python over a data source's pages.

A filter is compiled once into a predicate (validating property names, filter types and operators with Notion's
messages), then run per page; values are extracted once per page and property, so an `or` of 100 conditions
over 1,000 rows stays fast. The ordered result of a query is kept (`QueryCache`) while nothing is written, so
paging through 10,000 rows filters and sorts once, not once per 100-row page.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from service.sandbox.model import JSON, check_array, parse_id, parse_time, validation
from service.sandbox.properties import comparable, find_property

Row = dict[str, Any]  # {"page": doc, "stamps": (created, edited), "cache": {...}}
Predicate = Callable[[Row], bool]

TEXT_FILTERS = frozenset({"title", "rich_text", "url", "email", "phone_number"})
TEXT_TYPES = TEXT_FILTERS
LIST_TYPES = frozenset({"relation", "people", "files", "created_by", "last_edited_by"})
DATE_TYPES = frozenset({"date", "created_time", "last_edited_time"})
FILTER_KEYS = TEXT_FILTERS | LIST_TYPES | DATE_TYPES | {"number", "checkbox", "select", "multi_select", "status"}
MAX_DEPTH = 2


def _value(row: Row, prop: JSON) -> Any:
    cache: dict[str, Any] = row["cache"]
    key = prop["id"]
    if key not in cache:
        cache[key] = comparable(prop, row["page"], row["stamps"])
    return cache[key]


def compile_filter(
    raw: Any,
    schema: dict[str, JSON],
    now: datetime,
    depth: int = 0,
    where: str = "body.filter",
    groups_match: bool = True,
) -> Predicate:
    """A Notion filter as a predicate over rows (or a validation_error); `groups_match`: see `_with_groups`."""
    if not isinstance(raw, dict):
        raise validation(f"body failed validation: {where} should be an object.")
    for compound in ("and", "or"):
        if compound in raw:
            if depth >= MAX_DEPTH:
                raise validation(f"body failed validation: {where} nests compound filters more than {MAX_DEPTH} deep.")
            fast = _equals_set(raw[compound], schema) if compound == "or" else None
            if fast is not None:
                return fast
            parts = [
                compile_filter(item, schema, now, depth + 1, f"{where}.{compound}[{index}]", groups_match)
                for index, item in enumerate(check_array(raw[compound], f"{where}.{compound}"))
            ]
            if compound == "and":
                return lambda row: all(part(row) for part in parts)
            return lambda row: any(part(row) for part in parts)
    if "timestamp" in raw:
        stamp = raw["timestamp"]
        if stamp not in {"created_time", "last_edited_time"}:
            raise validation(f"body failed validation: {where}.timestamp should be created_time or last_edited_time.")
        condition = raw.get(stamp)
        index = 0 if stamp == "created_time" else 1
        test = _date_test(condition, now, f"{where}.{stamp}")
        return lambda row: test(row["stamps"][index])
    name = raw.get("property")
    if not isinstance(name, str):
        raise validation(f"body failed validation: {where}.property should be defined, instead was `undefined`.")
    prop = find_property(schema, name)
    if prop is None:
        raise validation(f"Could not find property with name or id: {name}")
    keys = [key for key in raw if key in FILTER_KEYS]
    if len(keys) != 1:
        raise validation(f"body failed validation: {where} should name one filter type, e.g. `{prop['type']}`.")
    key = keys[0]
    kind = prop["type"]
    compatible = key == kind or (key in TEXT_FILTERS and kind in TEXT_TYPES)
    if not compatible:
        raise validation(f"database property {kind} does not match filter {key}")
    condition = raw[key]
    if kind in TEXT_TYPES:
        text_test = _text_test(condition, f"{where}.{key}")
        return lambda row: text_test(_value(row, prop) or "")
    if kind in DATE_TYPES:
        date_test = _date_test(condition, now, f"{where}.{key}")
        return lambda row: date_test(_value(row, prop))
    test = _simple_test(kind, condition, f"{where}.{key}")
    if kind == "status" and groups_match:
        test = _with_groups(prop, condition, test)
    return lambda row: test(_value(row, prop))


def _with_groups(prop: JSON, condition: Any, test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """`equals`/`does_not_equal` on a status group's name also covers the group's options (before 2026-12-01)."""
    op, arg = next(iter(condition.items()))  # _simple_test has checked: one operator
    options = {opt["id"]: opt["name"] for opt in prop["config"].get("options", [])}
    members = {
        group["name"]: {options[oid] for oid in group.get("option_ids", []) if oid in options}
        for group in prop["config"].get("groups", [])
    }
    if op not in {"equals", "does_not_equal"} or arg not in members:
        return test
    group = members[arg]
    if op == "equals":
        return lambda v: v == arg or v in group
    return lambda v: v != arg and v not in group


def _equals_set(items: Any, schema: dict[str, JSON]) -> Predicate | None:
    """`or` of text `equals` on one property (the upsert lookup by Source Key) as one set membership test."""
    if not isinstance(items, list) or not items or len(items) > 100:
        return None
    wanted: set[str] = set()
    name = None
    for item in items:
        if not isinstance(item, dict) or set(item) != {"property", *(k for k in item if k in TEXT_FILTERS)}:
            return None
        keys = [k for k in item if k in TEXT_FILTERS]
        condition = item[keys[0]] if len(keys) == 1 else None
        if not isinstance(condition, dict) or set(condition) != {"equals"} or not isinstance(condition["equals"], str):
            return None
        if name is not None and item["property"] != name:
            return None
        name = item["property"]
        wanted.add(condition["equals"])
    prop = find_property(schema, name) if isinstance(name, str) else None
    if prop is None or prop["type"] not in TEXT_TYPES:
        return None  # the general path raises the precise error
    return lambda row: (_value(row, prop) or "") in wanted


def _one_operator(condition: Any, allowed: set[str], where: str) -> tuple[str, Any]:
    if not isinstance(condition, dict) or len(condition) != 1:
        raise validation(f"body failed validation: {where} should have exactly one of: {', '.join(sorted(allowed))}.")
    op, arg = next(iter(condition.items()))
    if op not in allowed:
        raise validation(
            f"body failed validation: {where}.{op} is not a supported filter; use one of {sorted(allowed)}."
        )
    return op, arg


def _text_test(condition: Any, where: str) -> Callable[[str], bool]:
    ops = {
        "equals",
        "does_not_equal",
        "contains",
        "does_not_contain",
        "starts_with",
        "ends_with",
        "is_empty",
        "is_not_empty",
    }
    op, arg = _one_operator(condition, ops, where)
    if op in {"is_empty", "is_not_empty"}:
        return (lambda v: v == "") if op == "is_empty" else (lambda v: v != "")
    if not isinstance(arg, str):
        raise validation(f"body failed validation: {where}.{op} should be a string, instead was `{arg!r}`.")
    low = arg.lower()
    tests: dict[str, Callable[[str], bool]] = {
        "equals": lambda v: v == arg,
        "does_not_equal": lambda v: v != arg,
        "contains": lambda v: low in v.lower(),
        "does_not_contain": lambda v: low not in v.lower(),
        "starts_with": lambda v: v.lower().startswith(low),
        "ends_with": lambda v: v.lower().endswith(low),
    }
    return tests[op]


def _simple_test(kind: str, condition: Any, where: str) -> Callable[[Any], bool]:
    if kind == "number":
        ops = {
            "equals",
            "does_not_equal",
            "greater_than",
            "less_than",
            "greater_than_or_equal_to",
            "less_than_or_equal_to",
            "is_empty",
            "is_not_empty",
        }
        op, arg = _one_operator(condition, ops, where)
        if op == "is_empty":
            return lambda v: v is None
        if op == "is_not_empty":
            return lambda v: v is not None
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            raise validation(f"body failed validation: {where}.{op} should be a number, instead was `{arg!r}`.")
        compare: dict[str, Callable[[float], bool]] = {
            "equals": lambda v: v == arg,
            "does_not_equal": lambda v: v != arg,
            "greater_than": lambda v: v > arg,
            "less_than": lambda v: v < arg,
            "greater_than_or_equal_to": lambda v: v >= arg,
            "less_than_or_equal_to": lambda v: v <= arg,
        }
        number_test = compare[op]
        if op == "does_not_equal":
            return lambda v: v is None or number_test(v)
        return lambda v: v is not None and number_test(v)
    if kind == "checkbox":
        op, arg = _one_operator(condition, {"equals", "does_not_equal"}, where)
        if not isinstance(arg, bool):
            raise validation(f"body failed validation: {where}.{op} should be a boolean, instead was `{arg!r}`.")
        return (lambda v: bool(v) == arg) if op == "equals" else (lambda v: bool(v) != arg)
    if kind in {"select", "status"}:
        op, arg = _one_operator(condition, {"equals", "does_not_equal", "is_empty", "is_not_empty"}, where)
        if op == "is_empty":
            return lambda v: v is None
        if op == "is_not_empty":
            return lambda v: v is not None
        if not isinstance(arg, str):
            raise validation(f"body failed validation: {where}.{op} should be a string, instead was `{arg!r}`.")
        return (lambda v: v == arg) if op == "equals" else (lambda v: v != arg)
    # multi_select, relation, people, files, created_by, last_edited_by: list membership.
    op, arg = _one_operator(condition, {"contains", "does_not_contain", "is_empty", "is_not_empty"}, where)
    if op == "is_empty":
        return lambda v: not v
    if op == "is_not_empty":
        return bool
    if not isinstance(arg, str):
        raise validation(f"body failed validation: {where}.{op} should be a string, instead was `{arg!r}`.")
    needle = arg
    if kind in {"relation", "people", "created_by", "last_edited_by"}:
        needle = parse_id(arg, f"body failed validation: {where}.{op}")
    if op == "contains":
        return lambda v: needle in (v or [])
    return lambda v: needle not in (v or [])


def _date_test(condition: Any, now: datetime, where: str) -> Callable[[Any], bool]:
    ops = {
        "equals",
        "before",
        "after",
        "on_or_before",
        "on_or_after",
        "is_empty",
        "is_not_empty",
        "past_week",
        "past_month",
        "past_year",
        "next_week",
        "next_month",
        "next_year",
        "this_week",
    }
    op, arg = _one_operator(condition, ops, where)
    if op == "is_empty":
        return lambda v: v is None
    if op == "is_not_empty":
        return lambda v: v is not None
    relative = {
        "past_week": (now - timedelta(days=7), now),
        "past_month": (now - timedelta(days=30), now),
        "past_year": (now - timedelta(days=365), now),
        "next_week": (now, now + timedelta(days=7)),
        "next_month": (now, now + timedelta(days=30)),
        "next_year": (now, now + timedelta(days=365)),
        "this_week": (now - timedelta(days=now.weekday()), now + timedelta(days=7 - now.weekday())),
    }
    if op in relative:
        low, high = relative[op]
        return lambda v: v is not None and low <= parse_time(v, where) <= high
    target = parse_time(arg, f"body failed validation: {where}.{op}")
    date_only = isinstance(arg, str) and len(arg.strip()) == 10

    def key(value: Any) -> Any:
        parsed = parse_time(value, where)
        return parsed.astimezone(UTC).date() if date_only else parsed

    goal: Any = target.date() if date_only else target
    tests: dict[str, Callable[[Any], bool]] = {
        "equals": lambda k: k == goal,
        "before": lambda k: k < goal,
        "after": lambda k: k > goal,
        "on_or_before": lambda k: k <= goal,
        "on_or_after": lambda k: k >= goal,
    }
    test = tests[op]
    return lambda v: v is not None and test(key(v))


def compile_sorts(raw: Any, schema: dict[str, JSON]) -> Callable[[list[Row]], list[Row]] | None:
    """Sorts as a function over rows: property or timestamp sorts, empty values last in both directions."""
    if raw is None:
        return None
    sorts = check_array(raw, "body.sorts")
    keys: list[tuple[Callable[[Row], Any], bool]] = []
    for index, item in enumerate(sorts):
        where = f"body.sorts[{index}]"
        if not isinstance(item, dict):
            raise validation(f"body failed validation: {where} should be an object.")
        direction = item.get("direction", "ascending")
        if direction not in {"ascending", "descending"}:
            raise validation(f"body failed validation: {where}.direction should be `ascending` or `descending`.")
        descending = direction == "descending"
        if "timestamp" in item:
            stamp_index = 0 if item["timestamp"] == "created_time" else 1
            if item["timestamp"] not in {"created_time", "last_edited_time"}:
                raise validation(
                    f"body failed validation: {where}.timestamp should be created_time or last_edited_time."
                )
            keys.append((functools.partial(_stamp_key, stamp_index), descending))
            continue
        name = item.get("property")
        prop = find_property(schema, name) if isinstance(name, str) else None
        if prop is None:
            raise validation(f"Could not find sort property with name or id: {name}")
        keys.append((functools.partial(_sort_key, prop), descending))

    def compare(left: Row, right: Row) -> int:
        for key, descending in keys:
            a, b = key(left), key(right)
            if a == b:
                continue
            if a is None:
                return 1
            if b is None:
                return -1
            result = -1 if a < b else 1
            return -result if descending else result
        return 0

    return lambda rows: sorted(rows, key=functools.cmp_to_key(compare))


def _stamp_key(index: int, row: Row) -> Any:
    return row["stamps"][index]


def _sort_key(prop: JSON, row: Row) -> Any:
    value = _value(row, prop)
    kind = prop["type"]
    if kind in {"select", "status"}:
        names = [opt["name"] for opt in prop["config"].get("options", [])]
        return names.index(value) if value in names else None
    if kind == "multi_select":
        return ",".join(value) if value else None
    if kind in TEXT_TYPES:
        return value.lower() if value else None
    if kind in {"relation", "people", "files"}:
        return len(value) if value else None
    if kind == "checkbox":
        return int(bool(value))
    if kind == "date" and value:
        return parse_time(value, "sort").timestamp()
    return value


@dataclass
class Ordered:
    """The page ids a query answers, in order, with each id's position (cursors are ids)."""

    ids: list[str]
    position: dict[str, int]
    capped: bool


class QueryCache:
    """The last few query results by (data source, body, store generation): a page of a paged query is a slice."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, Ordered] = OrderedDict()

    def get(self, key: Hashable) -> Ordered | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, value: Ordered) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
