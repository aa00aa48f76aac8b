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
# The most lines any list on the sprint page (or in a summary) shows; the rest is one "…and M more" line, so the
# page's size does not grow with the backlog (issue 12: one create call writes the whole page).
SHOWN_LINES = 5
OPS_BUGS_MORE = "…and {n} more P1/P2 bugs: filter the backlog by Severity."
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


def shown(lines: Sequence[str], more: str = "…and {n} more.", limit: int = SHOWN_LINES) -> tuple[str, ...]:
    """The first `limit` lines, then one `more` line ({n}: how many were left out) when there were more."""
    if len(lines) <= limit:
        return tuple(lines)
    return (*lines[:limit], more.format(n=len(lines) - limit))


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
        asks=shown(plan.asks, "…and {n} more asks: see the Risks and the blocked rows."),
        risks=shown((*plan.risks, *zombies), "…and {n} more risks: see the Zombies section and the backlog."),
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
    return [TENSIONS_HEADING, *[f"- {line}" for line in tension_lines(plan)], ""]


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
        lines += _engineering_lines(plan, policy)
    return "\n".join(lines)


def _engineering_lines(plan: SprintPlan, policy: Policy) -> list[str]:
    """The table, the tensions, the capacity math, the ops bugs and the zombies (each list bounded)."""
    capacity = (
        f"**Capacity: {fmt1(plan.plan_limit)} person-weeks planned at most (feature capacity "
        f"{fmt1(plan.feature_capacity)} × {num(policy.capacity.max_plan_share * 100)} %); "
        f"{fmt1(plan.planned_effort)} planned.**"
    )
    lines = [
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
        bugs = shown([bug.name for bug in plan.ops_bugs], OPS_BUGS_MORE)
        lines += ["", "### Bugs from the bugs/ops share", *[f"- {name}" for name in bugs]]
    if plan.zombies:
        lines += ["", "### Zombie items (3+ sprints waiting)", *[f"- {line}" for line in zombie_lines(plan)]]
    lines.append("")
    return lines


def zombie_lines(plan: SprintPlan) -> tuple[str, ...]:
    """The zombies a page lists, best-ranked first (as the planner gives them), bounded."""
    return shown([z.text for z in plan.zombies], "…and {n} more zombies: filter the backlog by Sprint and First Seen.")


def ops_bug_lines(plan: SprintPlan) -> tuple[str, ...]:
    return shown([f"{c.severity or '?'} — {c.name}" for c in plan.ops_bugs], OPS_BUGS_MORE)


def tension_lines(plan: SprintPlan) -> tuple[str, ...]:
    return shown(plan.tensions, "…and {n} more: see each item's Score Note.")


__all__ = [
    "HEADINGS",
    "SHOWN_LINES",
    "TENSIONS_HEADING",
    "StakeholderSummary",
    "build_summary",
    "ops_bug_lines",
    "render_markdown",
    "shown",
    "tension_lines",
    "zombie_lines",
]
