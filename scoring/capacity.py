"""Sprint capacity, step by step (seed step 3): gross team weeks down to the plan limit, and the sprint's dates.

Kept apart from the planner so the arithmetic a PM checks on the sprint page is one small readable module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from scoring.models import Candidate
from scoring.policy import Capacity
from scoring.scales import fmt1, num

SEED_FEATURE_CAPACITY = (12.0, 14.0)  # the seed: "about 12-14 person-weeks of feature capacity per sprint"


@dataclass(frozen=True)
class CapacityStep:
    """One line of the capacity math: what it is, person-weeks (negative = deducted), how it was computed."""

    label: str
    person_weeks: float
    explanation: str


def _pct(share: float) -> str:
    return f"{num(share * 100)} %"


def capacity_steps(capacity: Capacity) -> tuple[list[CapacityStep], float, float]:
    """Gross team weeks minus on-call, bugs/ops, overhead and days off; × max_plan_share = the plan limit."""
    engineers = sum(capacity.engineers.values())
    roles = ", ".join(f"{count} {role}" for role, count in capacity.engineers.items())
    weeks = capacity.sprint_weeks
    gross = engineers * weeks
    on_call = capacity.on_call_engineers * capacity.on_call_share * weeks
    bugs_ops = gross * capacity.bugs_ops_share
    overhead = gross * capacity.overhead_share
    days_off = capacity.days_off / 5
    feature = max(0.0, gross - on_call - bugs_ops - overhead - days_off)
    limit = feature * capacity.max_plan_share
    deductions = f"{num(gross)} − {num(on_call)} − {num(bugs_ops)} − {num(overhead)} − {num(days_off)}"
    steps = [
        CapacityStep("Team", gross, f"{engineers} engineers ({roles}) × {num(weeks)} weeks"),
        CapacityStep(
            "On-call",
            -on_call,
            f"{capacity.on_call_engineers} engineers × {_pct(capacity.on_call_share)} × {num(weeks)} weeks",
        ),
        CapacityStep("Bugs and ops", -bugs_ops, f"{_pct(capacity.bugs_ops_share)} of {num(gross)}"),
        CapacityStep("Meetings, reviews, overhead", -overhead, f"{_pct(capacity.overhead_share)} of {num(gross)}"),
        CapacityStep("Days off", -days_off, f"{num(capacity.days_off)} person-days ÷ 5"),
        CapacityStep("Feature capacity", feature, deductions),
        CapacityStep("Plan limit", limit, f"{_pct(capacity.max_plan_share)} of {num(feature)}: never plan more"),
    ]
    if capacity.buffers:
        shares = ", ".join(f"{key} +{_pct(share)}" for key, share in sorted(capacity.buffers.items()))
        steps.append(
            CapacityStep("Estimate buffers", 0.0, f"{shares} added to those items' estimates (effort, not capacity)")
        )
    return steps, feature, limit


def _buffer_match(candidate: Candidate, capacity: Capacity) -> tuple[str, float] | None:
    """The largest buffer whose key is the item's Type, one of its Owners or tags (case-insensitive)."""
    labels = {x.strip().casefold() for x in (candidate.type or "", *candidate.owners, *candidate.tags) if x.strip()}
    hits = [(share, key) for key, share in capacity.buffers.items() if key.strip().casefold() in labels]
    if not hits:
        return None
    share, key = max(hits)
    return key, share


def buffer_share(candidate: Candidate, capacity: Capacity) -> float:
    """The share added to this item's estimate (0 when no buffer applies): the seed adds 50 % to ML estimates."""
    match = _buffer_match(candidate, capacity)
    return match[1] if match else 0.0


def buffer_note(candidate: Candidate, capacity: Capacity) -> str:
    """The table note that says an estimate was buffered, so the PM sees why the effort is larger."""
    match = _buffer_match(candidate, capacity)
    if match is None or match[1] <= 0:
        return ""
    return f"estimate +{_pct(match[1])} ({match[0]} buffer)"


def capacity_note(capacity: Capacity, feature: float, limit: float) -> str:
    """Compare with the seed's own estimate, but only for the seed's team (other teams get no note)."""
    # Days off and the plan share do not change "feature capacity" as the seed means it, so the comparison
    # holds whatever they are.
    varying = {"days_off", "max_plan_share", "zombie_after_sprints", "buffers"}
    if capacity.model_dump(exclude=varying) != Capacity().model_dump(exclude=varying):
        return ""
    low, high = SEED_FEATURE_CAPACITY
    gross = sum(capacity.engineers.values()) * capacity.sprint_weeks
    if low <= feature <= high:
        return f"Matches the seed's estimate of about {num(low)}–{num(high)} person-weeks of feature capacity."
    inside = "inside" if low <= limit <= high else "outside"
    return (
        f"The seed estimates about {num(low)}–{num(high)} person-weeks of feature capacity; this step-by-step math "
        f"gives {fmt1(feature)} (bugs/ops and overhead taken as shares of the full {num(gross)} pw). "
        f"The {_pct(capacity.max_plan_share)} plan limit, {fmt1(limit)} pw, is {inside} the seed's range."
    )


def sprint_days(capacity: Capacity) -> int:
    """A sprint's length in days (at least one)."""
    return max(1, round(capacity.sprint_weeks * 7))


def sprint_end(start: date, capacity: Capacity) -> date:
    """The sprint's last day: `sprint_weeks` whole weeks from the start, inclusive."""
    return start + timedelta(days=sprint_days(capacity) - 1)


def sprints_waiting(since: date | None, planned: int | None, sprint: int, start: date, capacity: Capacity) -> int:
    """Whole sprints between `since` (the ask first seen) and this sprint's start, derived, never stored.

    Sprints are taken as back to back, `sprint_weeks` long, ending where sprint `sprint` starts. A row planned
    into an earlier sprint (`planned`, its Sprint property) and still open counts only the sprints after that.
    """
    days = sprint_days(capacity)
    if planned is not None and planned < sprint:
        after_planned = start - timedelta(days=days * (sprint - planned - 1))
        since = after_planned if since is None else max(since, after_planned)
    if since is None or since >= start:
        return 0
    return (start - since).days // days


__all__ = [
    "SEED_FEATURE_CAPACITY",
    "CapacityStep",
    "buffer_note",
    "buffer_share",
    "capacity_note",
    "capacity_steps",
    "sprint_days",
    "sprint_end",
    "sprints_waiting",
]
