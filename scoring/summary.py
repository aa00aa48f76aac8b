"""The seed's Stakeholder Summary (step 6) as data, and its Markdown for the sprint page.

Leadership gets the summary only ("they skim, make it scannable"); engineering gets the summary plus the full
sprint table and the capacity math.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scoring.planner import PlanItem, SprintPlan
from scoring.policy import Policy
from scoring.scales import fmt1, num

TOP_ITEMS = 3
TENSIONS_HEADING = "### Why this order: ranked above a higher score"
HEADINGS = (
    "What we're building this sprint:",
    "What we're NOT building this sprint (and why):",
    "Key trade-offs we made:",
    "What we need from you:",
    "Risks:",
)


@dataclass(frozen=True)
class StakeholderSummary:
    """One list of bullets per heading of the seed's template."""

    subject: str
    building: tuple[str, ...]
    not_building: tuple[str, ...]
    tradeoffs: tuple[str, ...]
    asks: tuple[str, ...]
    risks: tuple[str, ...]


def _why(item: PlanItem) -> str:
    parts = [item.priority, f"{num(item.effort)} pw"]
    if item.rice is not None:
        parts.append(f"RICE {fmt1(item.rice)}")
    why = f" — {item.alignment}" if item.alignment else ""
    why += f"; {item.lost_deals}" if item.lost_deals else ""  # the sales evidence, in the sales team's words
    return f"{item.candidate.name} ({', '.join(parts)}){why}"


def build_summary(plan: SprintPlan, policy: Policy) -> StakeholderSummary:
    building = [_why(item) for item in plan.items[:TOP_ITEMS]]
    if len(plan.items) > TOP_ITEMS:
        building.append(f"…and {len(plan.items) - TOP_ITEMS} more: see the sprint table.")
    if not plan.items:
        building.append(plan.empty_reason or "Nothing planned.")
    zombies = [zombie.text for zombie in plan.zombies]
    return StakeholderSummary(
        subject=f"{policy.product} Sprint {plan.sprint} Priorities — {plan.start.isoformat()}",
        building=tuple(building),
        not_building=tuple(f"{nb.candidate.name} ({nb.demand}): {nb.reason}" for nb in plan.not_building),
        tradeoffs=plan.tradeoffs,
        asks=plan.asks,
        risks=(*plan.risks, *zombies),
    )


def _cell(text: str) -> str:
    """Table cells: no pipes or newlines may break the row."""
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _bullets(lines: Sequence[str]) -> list[str]:
    return [f"- {line}" for line in lines] if lines else ["- None."]


def _table(plan: SprintPlan) -> list[str]:
    lines = [
        "| Priority | Item | RICE | Strategic Alignment | Effort | Owner | Notes |",
        "|----------|------|------|---------------------|--------|-------|-------|",
    ]
    for item in (*plan.items, *plan.stretch):
        rice = fmt1(item.rice) if item.rice is not None else "—"
        lines.append(
            "| "
            + " | ".join(
                (
                    item.priority,
                    _cell(item.candidate.name),
                    rice,
                    _cell(item.alignment) or "—",
                    f"{num(item.effort)} pw",
                    _cell(item.owner) or "—",
                    _cell("; ".join(item.notes)),
                )
            )
            + " |"
        )
    return lines


def _tension_lines(plan: SprintPlan) -> list[str]:
    """The ranking tensions of the items in the table (computed now: a row's Score Note names no neighbour)."""
    if not plan.tensions:
        return []
    return [TENSIONS_HEADING, *[f"- {line}" for line in plan.tensions], ""]


def render_markdown(
    plan: SprintPlan, policy: Policy, *, audience: Literal["leadership", "engineering"] = "engineering"
) -> str:
    """The sprint page / email body, following the seed's Stakeholder Summary Template."""
    summary = build_summary(plan, policy)
    lines = [f"**Subject: {summary.subject}**", ""]
    for heading, bullets in zip(
        HEADINGS,
        (summary.building, summary.not_building, summary.tradeoffs, summary.asks, summary.risks),
        strict=True,
    ):
        lines += [f"**{heading}**", *_bullets(bullets), ""]
    if audience == "engineering":
        capacity = (
            f"**Capacity: {fmt1(plan.plan_limit)} person-weeks planned at most (feature capacity "
            f"{fmt1(plan.feature_capacity)} × {num(policy.capacity.max_plan_share * 100)} %); "
            f"{fmt1(plan.planned_effort)} planned.**"
        )
        lines += [
            f"## Sprint {plan.sprint} — {plan.start.isoformat()} to {plan.end.isoformat()}",
            capacity,
            "",
            *_table(plan),
            "",
            *_tension_lines(plan),
            "### Capacity math",
            *[f"- {step.label}: {fmt1(step.person_weeks)} pw ({step.explanation})" for step in plan.capacity_steps],
        ]
        if plan.capacity_note:
            lines.append(f"- Note: {plan.capacity_note}")
        if plan.ops_bugs:
            lines += ["", "### Bugs from the bugs/ops share", *[f"- {bug.name}" for bug in plan.ops_bugs]]
        if plan.zombies:
            lines += ["", "### Zombie items (3+ sprints waiting)", *[f"- {z.text}" for z in plan.zombies]]
        lines.append("")
    return "\n".join(lines)


__all__ = ["HEADINGS", "TENSIONS_HEADING", "StakeholderSummary", "build_summary", "render_markdown"]
