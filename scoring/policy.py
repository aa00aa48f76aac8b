"""The grooming policy (`backlog.toml`) as plain data: the seed's scales, OKRs, weights, segments, capacity.

Defaults are the seed's own numbers ("Backlog Grooming & Prioritization Workflow"), so an empty `backlog.toml`
reproduces the seed exactly.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Hostile-proof values: a typo'd, negative, NaN or absurd number is refused with its key, never loaded silently.
Multiplier = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=100_000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Scales(_Frozen):
    """Select option name -> numeric value, as the PM sees them in Notion."""

    reach: dict[str, float] = Field(default_factory=lambda: {"10": 10, "5": 5, "3": 3, "1": 1, "0.5": 0.5})
    impact: dict[str, float] = Field(default_factory=lambda: {"3": 3, "2": 2, "1": 1, "0.5": 0.5})
    confidence: dict[str, float] = Field(default_factory=lambda: {"100%": 1.0, "80%": 0.8, "50%": 0.5, "20%": 0.2})
    effort: dict[str, float] = Field(
        default_factory=lambda: {"XS": 0.5, "S": 1.5, "M": 3, "L": 6, "XL": 10},
        description="T-shirt sizes in person-weeks; a plain positive number is also accepted.",
    )
    # ICE (seed 003): high/medium/low per dimension.
    ice: dict[str, float] = Field(default_factory=lambda: {"High": 3.0, "Medium": 2.0, "Low": 1.0})
    # ICE Effort is High/Medium/Low, but the planner needs person-weeks: High = L, Medium = M, Low = S.
    ice_effort_weeks: dict[str, float] = Field(default_factory=lambda: {"High": 6.0, "Medium": 3.0, "Low": 1.5})


class Strategy(_Frozen):
    """Boosts applied after RICE (seed step 3) and the Icebox rule."""

    okrs: dict[str, Name] = Field(
        default_factory=lambda: {
            "O1": "Establish Voice Agents as the enterprise leader in AI voice",
            "O2": "Reduce latency to sub-300ms average",
            "O3": "Achieve SOC 2 Type II certification",
            "O4": "Grow developer ecosystem",
        }
    )
    okr_boost: Multiplier = 1.5  # multiplier on RICE for an item aligned with at least one OKR
    competitive_loss_boost: Multiplier = 1.3  # multiplier when the item addresses a competitive loss reason
    churn_risk_boost: Multiplier = 1.3  # multiplier when it reduces churn risk for existing pilots
    icebox_threshold: Multiplier = 1.0  # RICE under this with no OKR -> suggest Icebox
    competitive_loss_keywords: list[str] = Field(
        default_factory=lambda: ["competitor", "competitive", "lost deal", "switched to", "churned to"]
    )
    churn_risk_keywords: list[str] = Field(
        # Not "escalation": the seed's own "Improved escalation handoff flow" is a call-flow feature, not churn.
        default_factory=lambda: ["churn", "cancel", "leaving", "renewal at risk", "escalated"]
    )


class Segments(_Frozen):
    """Customer -> Segment (the Segment select). Matching is case-insensitive on the account name or domain."""

    enterprise_pilots: list[Name] = Field(default_factory=list)
    trials: list[Name] = Field(default_factory=list)
    free: list[Name] = Field(default_factory=list)
    internal_domains: list[Name] = Field(default_factory=list)
    # Sizes of the whole population, for the Reach suggestion ("all pilots", "all trial users").
    total_enterprise_pilots: Count = 15
    total_trials: Count | None = None  # None: "all trial users" is never inferred from evidence
    # One free-tier user counts as this many customers for the Confidence suggestion (seed: one pilot > 50 free).
    free_user_weight: Multiplier = 0.02


class Capacity(_Frozen):
    """Sprint capacity, shown step by step on the sprint page. Defaults: the seed's team."""

    engineers: dict[Name, Annotated[int, Field(ge=0, le=10_000)]] = Field(
        default_factory=lambda: {"ML": 3, "Backend": 5, "Frontend": 2, "Infra": 2}
    )
    sprint_weeks: Annotated[float, Field(gt=0, le=52, allow_inf_nan=False)] = 2
    on_call_engineers: Count = 2
    on_call_share: Share = 0.4
    bugs_ops_share: Share = 0.2
    overhead_share: Share = 0.1
    days_off: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)] = (
        0  # person-days of holidays/time off in the sprint
    )
    max_plan_share: Share = 0.8  # never plan more than this share of feature capacity
    zombie_after_sprints: Count = 3
    # The seed's notes to self as policy: extra share added to the estimates of a team or type (ML = 0.5: +50 %).
    # A key matches an item's Type, one of its Owners or tags, case-insensitively; the largest match applies.
    buffers: dict[Name, Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)]] = Field(default_factory=dict)


class Zendesk(_Frozen):
    """Organization id -> name, for Zendesk exports that carry ids only (no side-load, no organizations.json)."""

    organizations: dict[Annotated[str, StringConstraints(pattern=r"^[0-9]{1,19}$")], Name] = Field(default_factory=dict)


class SlackSource(_Frozen):
    """`[sources.slack.channels]`: Slack channel id -> the account whose pilot channel it is (the row's Customer)."""

    channels: dict[str, str] = Field(default_factory=dict)


class TrackerSource(_Frozen):
    """`[sources.tracker]`: the tech-debt spreadsheet's column names (its CSV export's header row)."""

    id: str = "ID"
    title: str = "Title"
    description: str = "Description"
    owner: str = "Owner"
    updated: str = "Updated"


class Sources(_Frozen):
    """`[sources.*]`: what a connector needs from the policy file (read by the settings' config slices)."""

    slack: SlackSource = Field(default_factory=SlackSource)
    tracker: TrackerSource = Field(default_factory=TrackerSource)


class Policy(_Frozen):
    """Everything `backlog.toml` can say. `framework` chooses RICE (default) or ICE (seed 003)."""

    framework: Literal["rice", "ice"] = "rice"
    product: Name = "Voice Agents"
    scales: Scales = Field(default_factory=Scales)
    strategy: Strategy = Field(default_factory=Strategy)
    segments: Segments = Field(default_factory=Segments)
    capacity: Capacity = Field(default_factory=Capacity)
    sources: Sources = Field(default_factory=Sources)
    zendesk: Zendesk = Field(default_factory=Zendesk)
