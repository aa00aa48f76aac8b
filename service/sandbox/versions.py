"""The Notion API versions the sandbox speaks, chosen per request by the `Notion-Version` header.

Each version is a set of switches the handlers consult, so one store answers every client the way
api.notion.com answers that client's pinned version. Sources (searched 2026-12-02; "verified" means read in
Notion's own text or a verbatim copy of it, "assumed" means the sandbox's best reading):

- 2025-09-03 is today's shape: `archived` alongside `in_trash`, flat `after` on append (verified: the cassettes
  in tests/cassettes/notion/, recorded against api.notion.com under this header).
- 2026-03-11 renames `archived` to `in_trash` in every request and response of pages, databases, blocks and
  data sources, and replaces append's `after` with a `position` object (`after_block`, `start`, `end`; `end` is
  the default). Verified: developers.notion.com/docs/upgrade-guide-2026-03-11 ("What's changing" table and
  steps 1-2). Assumed: the exact `validation_error` wording when an old field is sent anyway.
- 2026-12-01: Search and Query a data source return only the title property of each page unless
  `filter_properties` is passed; a status `equals` no longer matches a group name; a person's `name` may be
  null. Assumed from issue 13 only: no upgrade guide for 2026-12-01 was found in the docs corpus. Assumed also:
  before 2026-12-01 a status `equals`/`does_not_equal` on a group name ("To-do", "In progress", "Complete")
  matches every option of that group, and a person without a name shows `""`.
- A missing header answers 400 `missing_version` with the message of developers.notion.com/reference/
  status-codes (verified). An unknown version answers 400 with Notion's "Notion-Version header failed
  validation: Notion-Version header should be ..." message listing the accepted versions (verified wording,
  from a live answer quoted in a public design record of 26 Jul 2026); the code `validation_error` is assumed.
- `position` is accepted on 2025-09-03 too (assumed: the sandbox did so before versions existed; the official JS
  SDK, makenotion/notion-sdk-js v5.26.0, types it as `after_block` | `start` | `end` and marks `after` and
  `archived` deprecated "for API versions prior to 2026-03-11" (verified there, README "Key changes")).
- `filter_properties` (query string, repeated; ids or names) narrows Query a data source, Retrieve a page, Create
  a page and Update a page on every version (verified: the JS SDK's `queryParams: ["filter_properties"]` on those
  four endpoints; notion-client 3.1.0 sends it on query and retrieve). Search takes no such parameter in the SDK;
  the sandbox reads it there from the query string or the body, leniently across schemas (assumed).

Shapes on every version: error bodies carry `additional_data` only where Notion documents it: the block limit
(verified: developers.notion.com/reference/workspace-block-limits, see `limits`) and 429s (`rate_limit_reason`
verified in reference/request-limits; `retry_after`, a string of seconds, seen in a live 429 quoted by a public
project, not in Notion's text). People carry `person.email_verified` (assumed from issue 13: the SDK's user
types show only `email`). Date mentions carry `start`, `end` and `time_zone` (verified: the SDK's
`DateResponse`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.sandbox.model import JSON, ApiError, validation

V2025_09_03 = "2025-09-03"
V2026_03_11 = "2026-03-11"
V2026_12_01 = "2026-12-01"
SUPPORTED = (V2025_09_03, V2026_03_11, V2026_12_01)
TRASHABLE = frozenset({"page", "database", "block", "data_source"})


@dataclass(frozen=True)
class Version:
    """The rules of one API version, as switches."""

    name: str

    @property
    def archived_field(self) -> bool:
        """`archived` is accepted in requests and shown in responses (renamed `in_trash` from 2026-03-11)."""
        return self.name == V2025_09_03

    @property
    def flat_after(self) -> bool:
        """Append block children accepts a flat `after` id (replaced by `position` from 2026-03-11)."""
        return self.name == V2025_09_03

    @property
    def title_only_lists(self) -> bool:
        """Search and data source query show only the title unless `filter_properties` is passed."""
        return self.name == V2026_12_01

    @property
    def status_groups_match(self) -> bool:
        """A status `equals` on a group name matches the group's options (stopped in 2026-12-01)."""
        return self.name != V2026_12_01

    @property
    def nullable_person_name(self) -> bool:
        """A person without a name shows `name: null` (`""` before 2026-12-01)."""
        return self.name == V2026_12_01


def _quoted_list(names: tuple[str, ...]) -> str:
    quoted = [f'"{name}"' for name in names]
    return ", ".join(quoted[:-1]) + f", or {quoted[-1]}"


def parse_version(headers: Mapping[str, str]) -> Version:
    """The version of one request (header names already lower-cased), or Notion's error for a bad header."""
    raw = headers.get("notion-version")
    if raw is None or not raw.strip():
        raise ApiError(
            400,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was "
            "`undefined`.",
        )
    value = raw.strip()
    if value not in SUPPORTED:
        raise validation(
            f"Notion-Version header failed validation: Notion-Version header should be {_quoted_list(SUPPORTED)}, "
            f'instead was "{value}".'
        )
    return Version(value)


def check_request(version: Version, body: JSON) -> None:
    """Reject request fields the version no longer has (`archived` from 2026-03-11)."""
    if not version.archived_field and "archived" in body:
        raise validation(
            f"body failed validation: body.archived is not supported in API version {version.name}; "
            "use body.in_trash instead."
        )


def shape_response(result: JSON, version: Version) -> JSON:
    """Drop `archived` from objects (and list results) for versions that renamed it to `in_trash`."""
    if version.archived_field:
        return result
    _drop_archived(result)
    results = result.get("results")
    if isinstance(results, list):
        for item in results:
            if isinstance(item, dict):
                _drop_archived(item)
    return result


def _drop_archived(item: dict[str, Any]) -> None:
    if item.get("object") in TRASHABLE:
        item.pop("archived", None)
