"""Healing: rows that share a Source Key are merged into the oldest one, on every sync.

Locks keep two syncs of one host apart, but two hosts (or a create whose answer was lost while Notion's query index
lagged) can still make a second row for one item. Nothing here trusts a lock: whatever duplicates exist are found
among the rows sync read and merged into the oldest copy, the one the PM has been editing (`oldest`, the same
choice the gateway's upsert makes). A merge is three idempotent steps, so a kill half-way is finished next time:
1. PM-owned values set only on a newer copy are carried over to the oldest (the oldest's own values win);
2. relations (Merged Into, Possible Duplicate) pointing at a newer copy are moved to the oldest;
3. the newer copies go to Notion's trash (recoverable there).

Sync hands it every row it knows (the row cache plus the incremental read) and the keys of the rows that read
returned (created or edited since the previous watermark): only those keys are healed, so a quiet hour heals
nothing and costs nothing, and a full read (every row changed) heals everything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.logging import get_logger
from service.notion import NotionError, NotionGateway, Row
from service.notion.rows import oldest
from service.notion.schema import BY_NAME

log = get_logger(__name__)

RELATIONS = ("Merged Into", "Possible Duplicate")  # the relations of the candidates database
PM_OWNED = tuple(name for name, spec in BY_NAME.items() if spec.writer == "pm")
CREATE_DEFAULTS: Mapping[str, Any] = {"Status": "New"}  # what sync sets on create: not a PM's choice


@dataclass(frozen=True)
class Group:
    """The copies of one Source Key: the row kept and the newer ones merged into it."""

    source_key: str
    kept: Row
    newer: tuple[Row, ...]


@dataclass
class HealReport:
    """What healing did (or, on a dry run, would do); one line per merged key for the run summary."""

    merged: list[str] = field(default_factory=list)
    trashed: list[str] = field(default_factory=list)  # page ids
    failed: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return self.merged + self.failed


def find_groups(rows: Iterable[Row], keys: Collection[str] | None = None) -> list[Group]:
    """Every Source Key held by more than one row (of `keys` only, when given), with its canonical (oldest) copy."""
    by_key: dict[str, list[Row]] = {}
    for row in rows:
        if row.source_key and (keys is None or row.source_key in keys):
            by_key.setdefault(row.source_key, []).append(row)
    groups = []
    for key, copies in by_key.items():
        if len(copies) > 1:
            kept = oldest(copies)
            groups.append(Group(key, kept, tuple(r for r in copies if r.page_id != kept.page_id)))
    return groups


def _unset(name: str, value: Any) -> bool:
    return value in (None, "", (), [], False) or CREATE_DEFAULTS.get(name) == value


def carried_values(group: Group) -> dict[str, Any]:
    """PM-owned values a newer copy has and the kept row lacks (the oldest newer copy first)."""
    carried: dict[str, Any] = {}
    newer_ids = {r.page_id for r in group.newer}
    for row in sorted(group.newer, key=lambda r: (r.created_time, r.page_id)):
        for name in PM_OWNED:
            value = row.values.get(name)
            if name in RELATIONS and value:
                value = tuple(i for i in value if i not in newer_ids and i != group.kept.page_id)
            if name not in carried and _unset(name, group.kept.values.get(name)) and not _unset(name, value):
                carried[name] = value
    return carried


def moved_relations(rows: Iterable[Row], groups: Sequence[Group]) -> dict[str, dict[str, tuple[str, ...]]]:
    """page id -> the relations to rewrite so that nothing points at a copy about to be trashed."""
    target = {r.page_id: g.kept.page_id for g in groups for r in g.newer}
    changes: dict[str, dict[str, tuple[str, ...]]] = {}
    for row in rows:
        if row.page_id in target:
            continue  # going to the trash: its own links do not matter
        for name in RELATIONS:
            ids = tuple(row.values.get(name) or ())
            if not any(i in target for i in ids):
                continue
            moved = [target.get(i, i) for i in ids]
            changes.setdefault(row.page_id, {})[name] = tuple(
                i
                for i in dict.fromkeys(moved)
                if i != row.page_id  # a row never links itself
            )
    return changes


def heal(
    gateway: NotionGateway, rows: Sequence[Row], *, dry_run: bool = False, keys: Collection[str] | None = None
) -> tuple[list[Row], HealReport]:
    """Merge every duplicated Source Key in `rows` (of `keys` only, when given: the keys an incremental read saw
    move); returns the rows that stay (kept rows show their new values)."""
    report = HealReport()
    groups = find_groups(rows, keys)
    if not groups:
        return list(rows), report
    carried = {g.kept.page_id: carried_values(g) for g in groups}
    relations = moved_relations(rows, groups)
    pages = {*carried, *relations}
    updates = {page_id: {**carried.get(page_id, {}), **relations.get(page_id, {})} for page_id in pages}
    failed_pages = _write_updates(gateway, updates, report, dry_run=dry_run)
    for group in groups:
        _trash_newer(gateway, group, updates.get(group.kept.page_id, {}), report, dry_run=dry_run, failed=failed_pages)
    gone = set(report.trashed)
    if dry_run:
        gone = {r.page_id for g in groups for r in g.newer}
    return [_with(row, updates.get(row.page_id, {})) for row in rows if row.page_id not in gone], report


def _write_updates(
    gateway: NotionGateway, updates: Mapping[str, dict[str, Any]], report: HealReport, *, dry_run: bool
) -> set[str]:
    """Write carried values and moved relations; the pages whose write failed (their copies are not trashed)."""
    failed: set[str] = set()
    for page_id, values in updates.items():
        if not values or dry_run:
            continue
        try:
            gateway.update_properties(page_id, values, what=f"healing: merging duplicates into page {page_id}")
        except NotionError as exc:
            failed.add(page_id)
            report.failed.append(f"healing: could not update page {page_id}: {exc}; the next sync tries again")
            log.error("sync.heal_failed", page_id=page_id, error=str(exc))
    return failed


def _trash_newer(
    gateway: NotionGateway,
    group: Group,
    carried: Mapping[str, Any],
    report: HealReport,
    *,
    dry_run: bool,
    failed: set[str],
) -> None:
    if group.kept.page_id in failed:
        return  # the kept row lacks what the copies hold: keep them until the carry-over is written
    for row in () if dry_run else group.newer:
        try:
            gateway.trash_row(row.page_id, what=f"healing: trashing duplicate {row.page_id} of {group.source_key}")
        except NotionError as exc:
            report.failed.append(f"healing: could not trash {row.url or row.page_id}: {exc}; next sync retries")
            continue
        report.trashed.append(row.page_id)
    names = f" (carried over: {', '.join(carried)})" if carried else ""
    verb = "would merge" if dry_run else "merged"
    report.merged.append(
        f"healing: {verb} {len(group.newer)} duplicate(s) of {group.source_key} into the oldest row "
        f"{group.kept.url or group.kept.page_id}{names}"
    )
    log.warning("sync.healed", source_key=group.source_key, kept=group.kept.page_id, copies=len(group.newer) + 1)


def _with(row: Row, values: Mapping[str, Any]) -> Row:
    if not values:
        return row
    return dataclasses.replace(row, values={**row.values, **values})
