"""The demo's stand-in for the PM: applies `deploy/demo/pm_edits.json` as the PM would edit rows in Notion.

Only for `backlog demo`. A row is edited only while it is ungroomed (Status still "New"); every edit sets
a Status, so a second demo run writes nothing and never undoes what `report` did (Status Planned, Sprints
Waiting); `Merged Into` is given by Source Key and translated to page ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.logging import get_logger
from service.notion.gateway import NotionGateway, Row

log = get_logger(__name__)


def _ungroomed(row: Row) -> bool:
    """The PM has not groomed this row yet: its Status is still the "New" that sync gave it."""
    return row.values.get("Status") in (None, "", "New")


def apply_pm_edits(gateway: NotionGateway, path: Path) -> tuple[int, list[str]]:
    """Apply the edits; returns (rows written, problems). An unknown Source Key is a problem, not a crash."""
    edits: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    rows: dict[str, Row] = {str(r.values.get("Source Key")): r for r in gateway.iter_rows()}
    written, problems = 0, []
    for key, values in edits.items():
        if key.startswith("_"):
            continue
        row = rows.get(key)
        if row is None:
            problems.append(f"{path.name}: {key}: no such Source Key in Notion (was the source synced?)")
            continue
        wanted = dict(values)
        if "Merged Into" in wanted:
            targets = [rows[k].page_id for k in wanted["Merged Into"] if k in rows]
            wanted["Merged Into"] = targets
        changes = {name: value for name, value in wanted.items() if row.values.get(name) != value}
        if changes and _ungroomed(row):
            gateway.update_properties(row.page_id, changes, what=f"the PM's edits of {key}")
            written += 1
    log.info("demo.pm_edits", rows_written=written, problems=len(problems))
    return written, problems
