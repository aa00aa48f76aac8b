"""Data source schemas and page property values: validate what a request writes, render what Notion shows.

A schema property is stored as `{"id", "name", "type", "description", "config"}`; a page stores its values by
property id as `{"t": type, "v": value}` so renames cost nothing and a changed type shows as empty, like Notion.
Select-like values are stored as option ids and rendered from the schema, so an option's rename shows everywhere.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Any

from service.sandbox.model import (
    COLORS,
    JSON,
    ApiError,
    check_array,
    new_id,
    parse_id,
    parse_time,
    plain,
    rich_text,
    user_ref,
    validation,
)

EMPTY_CONFIG_TYPES = frozenset(
    {
        "title",
        "rich_text",
        "date",
        "url",
        "checkbox",
        "people",
        "email",
        "phone_number",
        "files",
        "created_time",
        "last_edited_time",
        "created_by",
        "last_edited_by",
    }
)
SELECT_TYPES = frozenset({"select", "multi_select", "status"})
READ_ONLY_TYPES = frozenset({"created_time", "last_edited_time", "created_by", "last_edited_by"})
KNOWN_TYPES = EMPTY_CONFIG_TYPES | SELECT_TYPES | {"number", "relation"}
RELATION_PREVIEW = 25
DEFAULT_STATUS = (
    ("Not started", "default", "To-do"),
    ("In progress", "blue", "In progress"),
    ("Done", "green", "Complete"),
)
_GROUP_COLORS = {"To-do": "gray", "In progress": "blue", "Complete": "green"}

_rng = random.SystemRandom()

# Resolves a relation target: (data_source_id or None, database_id or None) -> (data_source_id, database_id).
RelationResolver = Callable[[str | None, str | None], tuple[str, str]]


def new_property_id(taken: set[str]) -> str:
    """Short property ids like Notion's (`aB3x`); letters and digits only, so they need no URL encoding."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(_rng.choice(alphabet) for _ in range(4))
        if candidate not in taken and candidate != "title":
            return candidate


def _option(raw: Any, where: str) -> JSON:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise validation(f"body failed validation: {where}.name should be defined, instead was `undefined`.")
    name = raw["name"].strip()
    check_option_name(name)
    color = raw.get("color") if raw.get("color") in COLORS else "default"
    return {"id": str(raw.get("id") or new_id()), "name": name, "color": color, "description": None}


def check_option_name(name: str) -> None:
    """Select option names: no commas (Notion splits on them), at most 100 characters."""
    if "," in name:
        raise validation(f"Invalid select option, commas not allowed: {name}")
    if len(name) > 100:
        raise validation(
            f"body failed validation: select option name.length should be ≤ `100`, instead was `{len(name)}`."
        )


def _merge_options(existing: list[JSON], given: Any, where: str) -> list[JSON]:
    """Notion replaces the option list with the one given; options named or id'd again keep their id and color."""
    items = check_array(given, where)
    by_id = {opt["id"]: opt for opt in existing}
    by_name = {opt["name"]: opt for opt in existing}
    result: list[JSON] = []
    for index, raw in enumerate(items):
        if isinstance(raw, dict) and raw.get("id") in by_id and "name" not in raw:
            result.append(by_id[raw["id"]])
            continue
        option = _option(raw, f"{where}[{index}]")
        old = by_id.get(str(raw.get("id"))) or by_name.get(option["name"])
        if old is not None:
            option["id"] = old["id"]
            if "color" not in raw:
                option["color"] = old["color"]
        result.append(option)
    return result


def _status_groups(options: list[JSON], group_of: dict[str, str]) -> list[JSON]:
    """Notion's three status groups, with each option in the group `group_of` names (To-do when unnamed)."""
    groups: dict[str, list[str]] = {name: [] for name in _GROUP_COLORS}
    for option in options:
        groups[group_of.get(option["id"], "To-do")].append(option["id"])
    return [
        {"id": new_id(), "name": name, "color": _GROUP_COLORS[name], "option_ids": ids} for name, ids in groups.items()
    ]


def build_config(kind: str, raw: Any, where: str, resolve: RelationResolver, existing: JSON | None = None) -> JSON:
    """The stored `config` of a property of type `kind` from a request's `{"<kind>": {...}}` body."""
    body = raw if isinstance(raw, dict) else {}
    if kind in EMPTY_CONFIG_TYPES:
        return {}
    if kind == "number":
        return {"format": str(body.get("format") or (existing or {}).get("format") or "number")}
    if kind in {"select", "multi_select"}:
        old = list((existing or {}).get("options", []))
        if "options" in body:
            return {"options": _merge_options(old, body["options"], f"{where}.options")}
        return {"options": old}
    if kind == "status":
        return _status_config(body, where, existing)
    if kind == "relation":
        ds_raw = body.get("data_source_id")
        db_raw = body.get("database_id")
        if ds_raw is None and db_raw is None:
            if existing:
                return dict(existing)
            raise validation(
                f"body failed validation: {where}.data_source_id should be defined, instead was `undefined`."
            )
        data_source_id, database_id = resolve(
            parse_id(ds_raw, f"{where}.data_source_id") if ds_raw is not None else None,
            parse_id(db_raw, f"{where}.database_id") if db_raw is not None else None,
        )
        config: JSON = {"database_id": database_id, "data_source_id": data_source_id}
        if "dual_property" in body:
            dual = body.get("dual_property") or {}
            config["type"] = "dual_property"
            config["dual_property"] = {
                "synced_property_name": str(dual.get("synced_property_name") or "Related"),
                "synced_property_id": str(dual.get("synced_property_id") or ""),
            }
        else:
            config["type"] = "single_property"
            config["single_property"] = {}
        return config
    raise validation(f"body failed validation: {where} has an unsupported property type `{kind}`.")


def _status_config(body: JSON, where: str, existing: JSON | None) -> JSON:
    """A status property takes options, never groups: Notion puts options into groups itself.

    Per the request types the official JS SDK generates from the API spec (makenotion/notion-sdk-js v5.26.0,
    src/api-endpoints/common.ts): on creation `options` (name, color, description) are "the initial status
    options. If not provided, defaults are created"; on update they are "Status options to add or update. New
    options are assigned to the To-do group". (reference/update-data-source-properties still says status options
    cannot be updated; the SDK's spec is newer.) Assumed: options given at creation also land in To-do, and the
    "should be not present" wording of the error for `groups`.
    """
    where = f"{where}.status"
    for key in body:
        if key != "options":
            raise validation(f"body failed validation: {where}.{key} should be not present.")
    raw_options = check_array(body.get("options", []), f"{where}.options")
    for index, raw in enumerate(raw_options):
        extra = sorted(set(raw) - {"id", "name", "color", "description"}) if isinstance(raw, dict) else []
        if extra:
            raise validation(f"body failed validation: {where}.options[{index}].{extra[0]} should be not present.")
    if existing and "options" in body:
        return _add_status_options(existing, raw_options, f"{where}.options")
    if existing:
        return dict(existing)
    if "options" in body:
        options = _merge_options([], raw_options, f"{where}.options")
        return {"options": options, "groups": _status_groups(options, {})}
    defaults: list[JSON] = []
    group_of: dict[str, str] = {}
    for name, color, group in DEFAULT_STATUS:
        option_id = new_id()
        defaults.append({"id": option_id, "name": name, "color": color, "description": None})
        group_of[option_id] = group
    return {"options": defaults, "groups": _status_groups(defaults, group_of)}


def _add_status_options(existing: JSON, raw_options: list[Any], where: str) -> JSON:
    """Options named (or id'd) again are updated in place, the rest are kept, new ones join To-do."""
    old: list[JSON] = list(existing.get("options", []))
    given = {option["id"]: option for option in _merge_options(old, raw_options, where)}
    options = [given.pop(option["id"], option) for option in old] + list(given.values())
    groups = [dict(group, option_ids=list(group["option_ids"])) for group in existing.get("groups", [])]
    todo = next((group for group in groups if group["name"] == "To-do"), None)
    if todo is not None:
        todo["option_ids"] += list(given)
    return {"options": options, "groups": groups}


def property_type_of(raw: Any, where: str) -> str:
    """The type named by a schema body: `{"type": "select", "select": {...}}` or just `{"select": {...}}`."""
    if not isinstance(raw, dict):
        raise validation(f"body failed validation: {where} should be an object, instead was `{raw!r}`.")
    kind = raw.get("type")
    if isinstance(kind, str):
        if kind not in KNOWN_TYPES:
            raise validation(f"body failed validation: {where}.type `{kind}` is not a supported property type.")
        return kind
    found = [key for key in raw if key in KNOWN_TYPES]
    if len(found) != 1:
        raise validation(f"body failed validation: {where} should name exactly one property type.")
    return str(found[0])


def render_schema_property(prop: JSON) -> JSON:
    """A schema property as data sources show it."""
    return {
        "id": prop["id"],
        "name": prop["name"],
        "description": prop.get("description"),
        "type": prop["type"],
        prop["type"]: prop["config"],
    }


def find_property(schema: dict[str, JSON], key: str) -> JSON | None:
    """A schema property by name, or by id (Notion accepts both in bodies and filters)."""
    if key in schema:
        return schema[key]
    for prop in schema.values():
        if prop["id"] == key:
            return prop
    return None


# --- page values ---------------------------------------------------------------------------------------------

_VALUE_KEYS = KNOWN_TYPES


def _unwrap(prop: JSON, raw: Any) -> Any:
    """Accept `{"rich_text": [...]}`, `{"type": "rich_text", "rich_text": [...]}` or the bare value."""
    kind = prop["type"]
    if isinstance(raw, dict):
        if kind in raw:
            return raw[kind]
        other = [key for key in raw if key in _VALUE_KEYS and key != kind]
        if other and not (kind in {"select", "status"} and set(raw) & {"name", "id"}):
            raise validation(f"{prop['name']} is expected to be {kind}.")
    return raw


def write_value(prop: JSON, raw: Any, where: str, known_users: Callable[[str], JSON | None]) -> tuple[Any, bool]:
    """Validate one written value. Returns (stored value, schema changed) — select options are created on write."""
    kind = prop["type"]
    name = prop["name"]
    if kind in READ_ONLY_TYPES:
        raise validation(f"{name} is a {kind} property and cannot be written.")
    value = _unwrap(prop, raw)
    wrong = validation(f"{name} is expected to be {kind}.")
    if kind in {"title", "rich_text"}:
        return rich_text(value if value is not None else [], f"{where}.{kind}"), False
    if kind == "number":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise wrong
        return value, False
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise wrong
        return value, False
    if kind in {"url", "email", "phone_number"}:
        if value is not None and not isinstance(value, str):
            raise wrong
        if isinstance(value, str) and len(value) > 2000:
            raise validation(
                f"body failed validation: {where}.{kind}.length should be ≤ `2000`, instead was `{len(value)}`."
            )
        return (value or None), False
    if kind == "date":
        if value is None:
            return None, False
        if not isinstance(value, dict):
            raise wrong
        parse_time(value.get("start"), f"body failed validation: {where}.date.start")
        if value.get("end") is not None:
            parse_time(value.get("end"), f"body failed validation: {where}.date.end")
        return {"start": value["start"], "end": value.get("end"), "time_zone": value.get("time_zone")}, False
    if kind in {"select", "status"}:
        if value is None:
            return None, False
        if not isinstance(value, dict):
            raise wrong
        option_id, changed = _pick_option(prop, value, where, create=kind == "select")
        return option_id, changed
    if kind == "multi_select":
        items = check_array(value if value is not None else [], f"{where}.multi_select")
        ids: list[str] = []
        changed = False
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise wrong
            option_id, created = _pick_option(prop, item, f"{where}.multi_select[{index}]", create=True)
            changed = changed or created
            if option_id not in ids:
                ids.append(option_id)
        return ids, changed
    if kind == "relation":
        items = check_array(value if value is not None else [], f"{where}.relation")
        related: list[str] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise wrong
            related_id = parse_id(item.get("id"), f"body failed validation: {where}.relation[{index}].id")
            if related_id not in related:
                related.append(related_id)
        return related, False
    if kind == "people":
        items = check_array(value if value is not None else [], f"{where}.people")
        people: list[str] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise wrong
            user_id = parse_id(item.get("id"), f"body failed validation: {where}.people[{index}].id")
            if known_users(user_id) is None:
                raise validation(f"Could not find user with ID: {user_id} ({name}).")
            people.append(user_id)
        return people, False
    if kind == "files":
        return check_array(value if value is not None else [], f"{where}.files"), False
    raise wrong


def _pick_option(prop: JSON, value: JSON, where: str, create: bool) -> tuple[str, bool]:
    options: list[JSON] = prop["config"].setdefault("options", [])
    if value.get("id") is not None:
        for option in options:
            if option["id"] == value["id"]:
                return str(option["id"]), False
        if "name" not in value:
            raise validation(f"Invalid option id for {prop['name']}: {value['id']}")
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        raise validation(f"body failed validation: {where}.name should be defined, instead was `undefined`.")
    name = name.strip()
    check_option_name(name)
    for option in options:
        if option["name"] == name:
            return str(option["id"]), False
    if not create:
        raise validation(f'Invalid status option. Status option "{name}" does not exist for {prop["name"]}.')
    color = value.get("color") if value.get("color") in COLORS else COLORS[len(options) % len(COLORS)]
    option = {"id": new_id(), "name": name, "color": color, "description": None}
    options.append(option)
    return str(option["id"]), True


def _option_out(prop: JSON, option_id: Any) -> JSON | None:
    for option in prop["config"].get("options", []):
        if option["id"] == option_id:
            return {"id": option["id"], "name": option["name"], "color": option["color"]}
    return None


def stored_value(prop: JSON, page: JSON) -> Any:
    """The stored value of `prop` on `page`, or None when unset or written under another type."""
    cell = page.get("props", {}).get(prop["id"])
    if not isinstance(cell, dict) or cell.get("t") != prop["type"]:
        return None
    return cell.get("v")


def render_value(
    prop: JSON, page: JSON, stamps: tuple[str, str], users: Callable[[str], JSON | None], full_relations: bool = False
) -> JSON:
    """One page property as Notion shows it, empty values included (`[]`, `null`, `false`)."""
    kind = prop["type"]
    value = stored_value(prop, page)
    out: JSON = {"id": prop["id"], "type": kind}
    if kind in {"title", "rich_text", "files"}:
        out[kind] = value or []
    elif kind in {"number", "url", "email", "phone_number", "date"}:
        out[kind] = value
    elif kind == "checkbox":
        out[kind] = bool(value)
    elif kind in {"select", "status"}:
        out[kind] = _option_out(prop, value) if value else None
    elif kind == "multi_select":
        out[kind] = [opt for opt in (_option_out(prop, oid) for oid in value or []) if opt is not None]
    elif kind == "relation":
        related = list(value or [])
        shown = related if full_relations else related[:RELATION_PREVIEW]
        out[kind] = [{"id": rid} for rid in shown]
        out["has_more"] = len(related) > len(shown)
    elif kind == "people":
        out[kind] = [users(uid) or user_ref(uid) for uid in value or []]
    elif kind == "created_time":
        out[kind] = stamps[0]
    elif kind == "last_edited_time":
        out[kind] = stamps[1]
    elif kind == "created_by":
        out[kind] = user_ref(page["created_by"])
    elif kind == "last_edited_by":
        out[kind] = user_ref(page["last_edited_by"])
    return out


def comparable(prop: JSON, page: JSON, stamps: tuple[str, str]) -> Any:
    """The value filters and sorts compare: plain text, number, option name(s), date start, ids, or stamps."""
    kind = prop["type"]
    value = stored_value(prop, page)
    if kind in {"title", "rich_text"}:
        return plain(value)
    if kind in {"select", "status"}:
        option = _option_out(prop, value) if value else None
        return None if option is None else option["name"]
    if kind == "multi_select":
        return [opt["name"] for opt in (_option_out(prop, oid) for oid in value or []) if opt is not None]
    if kind == "date":
        return None if not value else value.get("start")
    if kind == "checkbox":
        return bool(value)
    if kind in {"relation", "people", "files"}:
        return list(value or [])
    if kind == "created_time":
        return stamps[0]
    if kind == "last_edited_time":
        return stamps[1]
    if kind == "created_by":
        return [page["created_by"]]
    if kind == "last_edited_by":
        return [page["last_edited_by"]]
    return value


def raise_unknown_property(name: str) -> ApiError:
    """Notion's answer to a body naming a property the data source does not have."""
    return validation(f"{name} is not a property that exists.")
