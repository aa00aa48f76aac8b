"""Block payloads: validate what a request appends and store it in the form Notion answers with."""

from __future__ import annotations

from typing import Any

from service.sandbox.model import COLORS, JSON, check_array, rich_text, validation

TEXT_BLOCKS = frozenset({"paragraph", "bulleted_list_item", "numbered_list_item", "quote", "toggle"})
HEADINGS = frozenset({"heading_1", "heading_2", "heading_3"})
CREATABLE = (
    TEXT_BLOCKS | HEADINGS | {"to_do", "callout", "code", "divider", "table", "table_row", "bookmark", "equation"}
)
DEFAULT_CALLOUT_ICON: JSON = {"type": "emoji", "emoji": "💡"}


def block_type(raw: Any, where: str) -> str:
    """The type of a request block: `{"type": "paragraph", "paragraph": {...}}` or just `{"paragraph": {...}}`."""
    if not isinstance(raw, dict):
        raise validation(f"body failed validation: {where} should be an object, instead was `{raw!r}`.")
    kind = raw.get("type")
    if not isinstance(kind, str):
        found = [key for key in raw if key in CREATABLE or key in {"child_page", "child_database"}]
        kind = found[0] if len(found) == 1 else None
    if kind is None:
        raise validation(f"body failed validation: {where} should define one block type, e.g. `paragraph`.")
    if kind in {"child_page", "child_database"}:
        raise validation(f"body failed validation: {where}: create {kind} blocks with the pages/databases endpoints.")
    if kind not in CREATABLE:
        raise validation(f"body failed validation: {where}.type `{kind}` is not supported by the sandbox.")
    return kind


def _color(payload: JSON) -> str:
    color = payload.get("color", "default")
    return color if isinstance(color, str) and color.removesuffix("_background") in COLORS else "default"


def build_payload(kind: str, raw: Any, where: str, old: JSON | None = None) -> tuple[JSON, list[Any]]:
    """(stored payload, nested children) for one block; `old` is the current payload when updating."""
    given = raw if isinstance(raw, dict) else {}
    payload: JSON = {**(old or {}), **{k: v for k, v in given.items() if k != "children"}}
    children = check_array(given.get("children", []), f"{where}.children")
    if kind in TEXT_BLOCKS | HEADINGS | {"to_do", "callout", "code"}:
        out: JSON = {"rich_text": rich_text(payload.get("rich_text", []), f"{where}.rich_text")}
        if kind == "paragraph":
            out["icon"] = payload.get("icon")
        if kind in HEADINGS:
            out["is_toggleable"] = bool(payload.get("is_toggleable", False))
        if kind == "to_do":
            out["checked"] = bool(payload.get("checked", False))
        if kind == "callout":
            out["icon"] = payload.get("icon") or DEFAULT_CALLOUT_ICON
        if kind == "code":
            out["caption"] = rich_text(payload.get("caption", []), f"{where}.caption")
            out["language"] = str(payload.get("language") or "plain text")
            return out, children
        out["color"] = _color(payload)
        return out, children
    if kind == "divider":
        return {}, children
    if kind == "table":
        width = payload.get("table_width")
        if not isinstance(width, int) or width < 1:
            raise validation(f"body failed validation: {where}.table_width should be a positive integer.")
        if old is None and not children:
            raise validation(f"body failed validation: {where}.children should be defined (the table's rows).")
        return {
            "table_width": width,
            "has_column_header": bool(payload.get("has_column_header", False)),
            "has_row_header": bool(payload.get("has_row_header", False)),
        }, children
    if kind == "table_row":
        cells = check_array(payload.get("cells", []), f"{where}.cells")
        return {"cells": [rich_text(cell, f"{where}.cells[{i}]") for i, cell in enumerate(cells)]}, children
    if kind == "bookmark":
        return {
            "caption": rich_text(payload.get("caption", []), f"{where}.caption"),
            "url": str(payload.get("url", "")),
        }, children
    if kind == "equation":
        return {"expression": str(payload.get("expression", ""))}, children
    raise validation(f"body failed validation: {where}.type `{kind}` is not supported by the sandbox.")
