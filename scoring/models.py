"""`Candidate`: one row of `backlog-candidates` as the scorer and planner see it (plain values, no Notion)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Candidate(BaseModel):
    """A backlog row. RICE inputs are the raw select names the PM chose (validated by the scorer, not here)."""

    model_config = ConfigDict(frozen=True)

    page_id: str
    name: str = ""
    url: str | None = None  # the Notion page URL
    source_key: str | None = None
    source: str | None = None  # "Zendesk", "G2", ...
    source_url: str | None = None
    excerpt: str = ""
    customer: str | None = None
    segment: str | None = None
    votes: int | None = None
    deal_amount: float | None = None  # a lost deal's Amount (Salesforce rows): scoring/deals.py sums it
    first_seen: date | None = None
    last_seen: date | None = None
    added: date | None = None  # the day the row was created in Notion: "waiting since" when First Seen is empty
    status: str | None = Field(default=None, description="New, Triaged, Scored, Planned, Blocked, Icebox, ...")
    type: str | None = Field(default=None, description="Feature, Bug, Tech debt, Reliability, Compliance")
    reach: str | None = None
    impact: str | None = None
    confidence: str | None = None
    effort: str | None = None
    severity: str | None = None  # bugs only: P0, P1 or P2
    okrs: tuple[str, ...] = ()
    strategic_override: bool = False
    blocked_by: str | None = None
    merged_into: tuple[str, ...] = ()  # page ids
    possible_duplicate: tuple[str, ...] = ()
    validation_customer: str | None = None
    owners: tuple[str, ...] = ()  # display names
    tags: tuple[str, ...] = Field(default=(), description="signals such as competitive-loss, churn-risk")
    # Written by the scorer / report, read back to decide whether a write is needed.
    rice: float | None = None
    score_note: str = ""
    sprint: int | None = None
    # Values older versions stored; read, never used: ranks and sprints waiting are derived (docs/priority.md).
    rank: int | None = None
    sprints_waiting: int | None = None
