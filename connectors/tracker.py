"""Engineering's tech-debt tracker: the spreadsheet (not Jira) exported as CSV, one row per debt item.

There is no API: the sheet is the source of truth and engineering exports it. Its column names are the team's,
so they come from `backlog.toml` `[sources.tracker]` (defaults ID, Title, Description, Owner, Updated). Every
row is typed Tech debt so the planner's tech-debt share sees it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from connectors.base import Connector, Credentials, SourceConfig
from connectors.exports import ExportFile, header_key
from connectors.signal import KindHint, Signal, SourceName
from connectors.text import first_line, parse_timestamp

# Dates as a spreadsheet writes them when the cell is not ISO (US locale first: Google Sheets' default).
SHEET_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%d.%m.%Y", "%Y/%m/%d")


# Role -> the sheet's column name, unless `[sources.tracker]` names another.
DEFAULT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"id": "ID", "title": "Title", "description": "Description", "owner": "Owner", "updated": "Updated"}
)


@dataclass(frozen=True, kw_only=True)
class TrackerConfig(SourceConfig):
    """TRACKER_EXPORT_PATH plus the column names of `[sources.tracker]` (role -> column)."""

    columns: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_COLUMNS))

    def column(self, role: str) -> str:
        return self.columns.get(role) or DEFAULT_COLUMNS[role]


def sheet_date(value: object) -> datetime:
    """ISO-8601 or a spreadsheet's local date (`11/03/2026`) -> aware UTC; ValueError says what was found (an
    API's null or object too: Salesforce's records come through here)."""
    try:
        return parse_timestamp(value)
    except ValueError:
        pass
    text = value.strip() if isinstance(value, str) else ""  # not a string: no format matches
    for fmt in SHEET_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"unparseable date {value!r} (expected 2026-11-03 or 11/03/2026)")


class TrackerConnector(Connector):
    """Rows of the tech-debt spreadsheet's CSV export -> Tech debt signals keyed `tracker:<ID>`."""

    config: TrackerConfig
    source = SourceName.TRACKER
    enable_hint = "set TRACKER_EXPORT_PATH to the tech-debt spreadsheet exported as CSV (File > Download > CSV)"
    export_setting = "TRACKER_EXPORT_PATH"

    def api_configured(self) -> bool:
        return False  # a spreadsheet has no API we read: the export is the source

    def credentials(self) -> Credentials:
        return {}, None

    def columns(self) -> dict[str, str]:
        """Role -> the header key of the column that holds it."""
        return {role: header_key(self.config.column(role)) for role in DEFAULT_COLUMNS}

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        columns = self.columns()
        for where, row in export.csv_rows():
            missing = [self.config.column(role) for role in ("id", "title", "updated") if columns[role] not in row]
            if missing:
                raise export.malformed(
                    f"no {', '.join(repr(m) for m in missing)} column in the header (found: {', '.join(row)});"
                    " name the sheet's columns in backlog.toml [sources.tracker] (id, title, description, owner,"
                    " updated)",
                    1,
                )
            yield where, row

    def to_signal(self, record: Any, where: str) -> Signal | None:
        row: Mapping[str, str] = record
        col = self.columns()
        item_id, title, description = row.get(col["id"], ""), row.get(col["title"], ""), row.get(col["description"], "")
        owner, updated = row.get(col["owner"], ""), row.get(col["updated"], "")
        if not item_id:
            self.skip(where, f"the {self.config.column('id')!r} cell is empty")
            return None
        if not updated:
            self.skip(
                where, f"item {item_id}: the {self.config.column('updated')!r} cell is empty (when was it touched?)"
            )
            return None
        try:
            when = sheet_date(updated)
        except ValueError as exc:
            self.skip(where, f"item {item_id}: {self.config.column('updated')}: {exc}")
            return None
        text = "\n\n".join(part for part in (description, f"Owner: {owner}" if owner else "") if part)
        return Signal(
            source=self.source,
            external_id=item_id,
            url=None,
            title=first_line(title) or first_line(description) or f"Tech debt {item_id}",
            text=text,
            customer=None,
            kind_hint=KindHint.TECH_DEBT,
            created_at=when,
            updated_at=when,
        )


__all__ = ["TrackerConfig", "TrackerConnector", "sheet_date"]
