"""What each supported Notion-Version changes for the gateway, as data, and the helpers that keep calls
version-proof: `filter_properties_for` (the ids a list/retrieve call passes) and `status_filter`.

Sources and which facts are verified: docs/notion-versions.md. In short: 2026-03-11 renames `archived` to
`in_trash` everywhere (developers.notion.com/docs/upgrade-guide-2026-03-11); 2026-12-01 answers Search and
Query a data source with the title property only unless `filter_properties` is passed, and a status `equals`
no longer matches a group name (issue 13; no upgrade guide found). `filter_properties` is a query parameter of
Query a data source and Retrieve a page on every version (makenotion/notion-sdk-js `src/api-endpoints`); the SDK
defines none for Search, so searches read only top-level fields (id, parent, in_trash, a data source's title).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from service.settings import DEFAULT_NOTION_API_VERSION, NOTION_API_VERSIONS

V2025_09_03, V2026_03_11, V2026_12_01 = NOTION_API_VERSIONS


@dataclass(frozen=True)
class ApiVersion:
    """The facts of one Notion-Version the gateway depends on."""

    name: str
    trash_field: str  # the field requests send and responses show for "in the trash"
    shows_archived: bool  # responses also carry the old `archived` alias
    title_only_lists: bool  # list results show only the title unless `filter_properties` is passed
    status_equals_matches_groups: bool  # `status.equals` on a group name ("Complete") matches its options
    person_name_nullable: bool  # a person user's `name` may be null

    @property
    def needs_filter_properties(self) -> bool:
        """Without `filter_properties` a query answers with titles only: every row read must name its properties."""
        return self.title_only_lists


VERSIONS: dict[str, ApiVersion] = {
    V2025_09_03: ApiVersion(V2025_09_03, "in_trash", True, False, True, False),
    V2026_03_11: ApiVersion(V2026_03_11, "in_trash", False, False, True, False),
    V2026_12_01: ApiVersion(V2026_12_01, "in_trash", False, True, False, True),
}
DEFAULT = VERSIONS[DEFAULT_NOTION_API_VERSION]
SEARCH_TAKES_FILTER_PROPERTIES = False  # notion-sdk-js: no queryParams on POST /v1/search (see the docstring)


def version(name: str) -> ApiVersion:
    """The facts of `name` (a value `Settings` already validated)."""
    try:
        return VERSIONS[name]
    except KeyError:
        raise ValueError(
            f"NOTION_API_VERSION={name!r} is not supported; set it to one of {', '.join(VERSIONS)}"
        ) from None


def is_trashed(obj: Mapping[str, Any]) -> bool:
    """In the trash, on every version: `in_trash` (all three) or the 2025-09-03 alias `archived`."""
    return bool(obj.get("in_trash") or obj.get("archived"))


def filter_properties_for(property_names: Iterable[str], schema: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The property ids to pass as `filter_properties` so a call answers with exactly `property_names`.

    `schema` is the data source's `properties` (name -> {"id", "type", ...}). Names the data source lacks are
    left out: Notion refuses an unknown name or id in `filter_properties` with a 400. Ids, not names: ids
    survive a PM renaming a property and need no escaping in the query string. Order follows `property_names`,
    duplicates dropped."""
    ids: list[str] = []
    for name in property_names:
        prop = schema.get(name)
        if prop is None or not prop.get("id"):
            continue
        prop_id = str(prop["id"])
        if prop_id not in ids:
            ids.append(prop_id)
    return ids


def title_property_ids(schema: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The title property's id: the smallest answer a query can give (counting rows, finding ids)."""
    return [str(prop["id"]) for prop in schema.values() if prop.get("type") == "title" and prop.get("id")]


def status_filter(property_name: str, kind: str, option: str) -> dict[str, Any]:
    """`property_name equals option` for a status or select property, in the one form every supported version
    answers the same: an option name (never a group name, which 2026-12-01 stopped matching)."""
    if kind not in ("status", "select"):
        raise ValueError(f"{property_name!r} is a {kind} property; a status filter needs status or select")
    return {"property": property_name, kind: {"equals": option}}


__all__ = [
    "DEFAULT",
    "SEARCH_TAKES_FILTER_PROPERTIES",
    "V2025_09_03",
    "V2026_03_11",
    "V2026_12_01",
    "VERSIONS",
    "ApiVersion",
    "filter_properties_for",
    "is_trashed",
    "status_filter",
    "title_property_ids",
    "version",
]
