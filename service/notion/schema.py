"""The `backlog-candidates` schema: the contract between the service and the PM (DESIGN.md's table, as data).

`writer` says who owns a property. The service writes `sync`/`scorer`/`report` properties and never writes a
`pm` property after the row was created (Status gets "New" once, on create; Type gets the connector's guess
once, on create).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PropertyType = Literal[
    "title",
    "rich_text",
    "select",
    "multi_select",
    "status",
    "number",
    "date",
    "url",
    "checkbox",
    "relation",
    "people",
]
Writer = Literal["sync", "pm", "scorer", "report"]


@dataclass(frozen=True)
class PropertySpec:
    """One property: its name, Notion type, who writes it, and the select options created up front."""

    name: str
    type: PropertyType
    writer: Writer
    options: tuple[str, ...] = ()
    # Types an adopted database may use instead (Status may be a real Notion status; Sprint may be a select).
    also_accepts: tuple[PropertyType, ...] = ()
    description: str = ""


STATUSES = ("New", "Triaged", "Scored", "Planned", "Blocked", "Icebox", "Merged", "Won't do", "Done")
SOURCES = (
    "Zendesk",
    "G2",
    "Gong",
    "GitHub",
    "Discord",
    "Slack",
    "Salesforce",
    "Trustpilot",
    "PagerDuty",
    "Tech-debt tracker",
    "Manual",
)
SEGMENTS = ("Enterprise pilot", "Trial", "Free", "Internal", "Unknown")
TYPES = ("Feature", "Bug", "Tech debt", "Reliability", "Compliance")
SEVERITIES = ("P0", "P1", "P2")

SCHEMA: tuple[PropertySpec, ...] = (
    PropertySpec("Name", "title", "sync", description="the feedback's title"),
    PropertySpec("Source Key", "rich_text", "sync", description="unique <source>:<external id>"),
    PropertySpec("Source", "select", "sync", SOURCES),
    PropertySpec("Source URL", "url", "sync"),
    PropertySpec("Excerpt", "rich_text", "sync"),
    PropertySpec("Customer", "rich_text", "sync"),
    PropertySpec("Segment", "select", "sync", SEGMENTS),
    PropertySpec("Votes", "number", "sync"),
    PropertySpec("Deal Amount", "number", "sync", description="a lost deal's Amount (Salesforce rows only)"),
    PropertySpec("First Seen", "date", "sync"),
    PropertySpec("Last Seen", "date", "sync"),
    PropertySpec("Content Hash", "rich_text", "sync"),
    PropertySpec("Status", "select", "pm", STATUSES, also_accepts=("status",)),
    PropertySpec("Type", "select", "pm", TYPES),
    PropertySpec("Reach", "select", "pm", ("10", "5", "3", "1", "0.5")),
    PropertySpec("Impact", "select", "pm", ("3", "2", "1", "0.5")),
    PropertySpec("Confidence", "select", "pm", ("100%", "80%", "50%", "20%")),
    PropertySpec("Effort", "select", "pm", ("XS", "S", "M", "L", "XL")),
    PropertySpec("Severity", "select", "pm", SEVERITIES),
    PropertySpec("OKR", "multi_select", "pm", ("O1", "O2", "O3", "O4")),
    PropertySpec("Strategic Override", "checkbox", "pm"),
    PropertySpec("Blocked By", "rich_text", "pm"),
    PropertySpec("Merged Into", "relation", "pm"),
    PropertySpec("Possible Duplicate", "relation", "sync"),
    PropertySpec("Duplicate Note", "rich_text", "sync", description="why Possible Duplicate links (at create)"),
    PropertySpec("Validation Customer", "rich_text", "pm"),
    PropertySpec("Owner", "people", "pm"),
    PropertySpec("RICE", "number", "scorer"),
    # One sortable number from the row alone (docs/priority.md): a view sorted by it, descending, is the ranking.
    # No Rank, Sprints Waiting or Waiting Counted any more: they depended on other rows or were bumped on every
    # row each sprint. An adopted database that has them keeps them; nothing writes them.
    PropertySpec("Priority", "number", "scorer", description="P0 bugs, then overrides, then the boosted score"),
    PropertySpec("Score Note", "rich_text", "scorer"),
    PropertySpec("Sprint", "number", "report", also_accepts=("select",)),
)

# On each candidate, a relation to the `backlog-themes` database (docs/intelligence.md). Not in SCHEMA: it points
# at another database, so service/notion/themes.py adds it when it creates that database.
THEME_SPEC = PropertySpec("Theme", "relation", "scorer", description="the candidate's theme; the PM may move it")

# Who edited a row last, computed by Notion (nobody writes it). The incremental read filters on it: rows last edited
# by this integration are already in the row cache (its own write answers), so a read asks only for everyone else's
# edits (docs/cost.md). Not in SCHEMA: it is not a value of the row; any property of this type serves.
EDITOR_NAME = "Last edited by"
EDITOR_TYPE = "last_edited_by"

BY_NAME: dict[str, PropertySpec] = {spec.name: spec for spec in SCHEMA}
SELF_RELATIONS = frozenset({"Merged Into", "Possible Duplicate"})
SYNC_OWNED = frozenset(spec.name for spec in SCHEMA if spec.writer == "sync")
# Written once when the row is created, then the PM's.
SET_ON_CREATE_ONLY = frozenset({"Status", "Type"})


@dataclass
class SchemaProblem:
    """A property of the adopted database that cannot be used as is, with the exact fix for the PM."""

    property: str
    found: str
    expected: str
    fix: str = field(default="")

    def __str__(self) -> str:
        return f"property {self.property!r} is {self.found}, expected {self.expected}: {self.fix}"
