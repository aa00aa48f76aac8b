"""All a connector hands up: `Signal`s (one piece of feedback each) and `RowProblem`s (a row it skipped, and why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SourceName(StrEnum):
    """Where a signal came from. The value is the prefix of its Source Key; `label` is the Notion select."""

    ZENDESK = "zendesk"
    G2 = "g2"
    GONG = "gong"
    GITHUB = "github"
    DISCORD = "discord"
    SLACK = "slack"
    SALESFORCE = "salesforce"
    TRUSTPILOT = "trustpilot"
    PAGERDUTY = "pagerduty"
    TRACKER = "tracker"
    MANUAL = "manual"

    @property
    def label(self) -> str:
        return {
            "zendesk": "Zendesk",
            "g2": "G2",
            "gong": "Gong",
            "github": "GitHub",
            "discord": "Discord",
            "slack": "Slack",
            "salesforce": "Salesforce",
            "trustpilot": "Trustpilot",
            "pagerduty": "PagerDuty",
            "tracker": "Tech-debt tracker",
        }.get(self.value, "Manual")

    @classmethod
    def from_label(cls, label: str) -> SourceName:
        for member in cls:
            if member.label.lower() == label.strip().lower() or member.value == label.strip().lower():
                return member
        raise ValueError(f"unknown source {label!r}; expected one of {', '.join(m.label for m in cls)}")


class KindHint(StrEnum):
    """The connector's guess at the row's Type; the PM decides (the Type select is theirs after creation)."""

    FEATURE = "Feature"
    BUG = "Bug"
    TECH_DEBT = "Tech debt"
    RELIABILITY = "Reliability"
    COMPLIANCE = "Compliance"


def source_key(source: SourceName, external_id: str) -> str:
    """The unique key of a row: `<source>:<external id>`, e.g. `zendesk:35436`, `github:acme/open-voice#123`."""
    return f"{source.value}:{external_id}"


class Signal(BaseModel):
    """One piece of feedback as read at its source. Immutable; times are timezone-aware (UTC)."""

    model_config = ConfigDict(frozen=True)

    source: SourceName
    external_id: str = Field(min_length=1)
    url: str | None = None
    title: str
    text: str = ""
    customer: str | None = None
    segment: str | None = None
    kind_hint: KindHint | None = None
    votes: int | None = None
    rating: float | None = None
    created_at: datetime
    updated_at: datetime
    # A lost deal's numbers (Salesforce), so a summary can quote "lost 3 deals worth $420k to latency".
    amount: float | None = None
    probability: float | None = None
    close_date: date | None = None
    # Extra labels for the scorer (e.g. "competitive-loss", "churn-risk"); written into nothing PM-owned.
    tags: tuple[str, ...] = ()

    @field_validator("created_at", "updated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value

    @property
    def source_key(self) -> str:
        return source_key(self.source, self.external_id)


@dataclass(frozen=True)
class RowProblem:
    """A row that was skipped: `where` is `path:line` for a file or the API URL/id, `message` says why."""

    source: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.message}"
