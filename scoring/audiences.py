"""One summary per audience of the seed's distribution list (step 6), as Markdown.

Each reader gets what they act on: engineering the full detail, design the items with design work, sales and CS
what is coming (to set customer expectations), leadership the scannable summary only, marketing what customers
will see. Pure: the same plan gives the same text, so the sprint page's fingerprint stays stable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from scoring.models import Candidate
from scoring.planner import PlanItem, SprintPlan, is_customer_facing
from scoring.policy import Policy
from scoring.summary import render_markdown

AUDIENCES = ("engineering", "design", "sales", "leadership", "marketing")
ALIASES = {"cs": "sales", "sales-cs": "sales", "eng": "engineering"}
TITLES = {
    "engineering": "Engineering (full detail)",
    "design": "Design (items with design work)",
    "sales": "Sales + CS (what is coming, to set customer expectations)",
    "leadership": "Leadership (summary only)",
    "marketing": "Marketing (externally visible items)",
}
# Words in a title or excerpt that mean someone has to design a screen, a flow or a voice.
DESIGN_WORDS = (
    "ui",
    "ux",
    "design",
    "dashboard",
    "screen",
    "page",
    "view",
    "flow",
    "onboarding",
    "layout",
    "widget",
    "voice",
    "voices",
    "console",
    "editor",
    "portal",
    "frontend",
)


class UnknownAudienceError(ValueError):
    """An --audience name that is not on the distribution list; the message lists the valid ones."""


def audience_name(raw: str) -> str:
    """The canonical audience for a name the PM typed ("CS" -> "sales")."""
    name = raw.strip().casefold()
    name = ALIASES.get(name, name)
    if name not in AUDIENCES:
        raise UnknownAudienceError(f"Unknown audience {raw!r}: use one of {', '.join(AUDIENCES)} (or cs for sales).")
    return name


@dataclass(frozen=True)
class StoryLines:
    """Report-time context the pure plan does not hold: what is rising and what changed since the last grooming."""

    rising: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()


def has_design_work(candidate: Candidate) -> bool:
    words = set(re.findall(r"[a-z]+", f"{candidate.name} {candidate.excerpt}".casefold()))
    return any(word in words for word in DESIGN_WORDS)


def _shown(plan: SprintPlan) -> tuple[PlanItem, ...]:
    return (*plan.items, *plan.stretch)


def _line(item: PlanItem) -> str:
    who = f" — asked by {item.candidate.customer}" if item.candidate.customer else ""
    return f"{item.candidate.name} ({item.priority}){who}"


def _bullets(lines: Sequence[str], empty: str) -> list[str]:
    return [f"- {line}" for line in lines] if lines else [f"- {empty}"]


def _rising(story: StoryLines, limit: int = 3) -> list[str]:
    return ["**What's rising in feedback:**", *_bullets(story.rising[:limit], "Nothing rose this cycle."), ""]


def _design(plan: SprintPlan) -> list[str]:
    items = [item for item in _shown(plan) if has_design_work(item.candidate)]
    return ["**Items with design work:**", *_bullets([_line(i) for i in items], "No item needs design this sprint.")]


def _sales(plan: SprintPlan, policy: Policy) -> list[str]:
    coming = [_line(i) for i in plan.items if is_customer_facing(i.candidate, policy)]
    maybe = [_line(i) for i in plan.stretch if is_customer_facing(i.candidate, policy)]
    not_now = [f"{nb.candidate.name} ({nb.demand})" for nb in plan.not_building]
    return [
        "**Coming this sprint (safe to tell customers):**",
        *_bullets(coming, "No customer-facing item is planned."),
        "",
        "**Only if time allows (do not promise):**",
        *_bullets(maybe, "None."),
        "",
        "**Not this sprint (set expectations):**",
        *_bullets(not_now, "None."),
    ]


def _marketing(plan: SprintPlan, policy: Policy) -> list[str]:
    visible = [i.candidate.name for i in plan.items if is_customer_facing(i.candidate, policy)]
    return ["**Externally visible this sprint:**", *_bullets(visible, "Nothing customers will see this sprint.")]


def audience_markdown(plan: SprintPlan, policy: Policy, audience: str, story: StoryLines = StoryLines()) -> str:
    """The Markdown for one audience. Engineering and leadership are the stakeholder summary (full or scannable)
    with the top of "What's rising" after the subject; engineering also lists what changed since the last grooming."""
    name = audience_name(audience)
    if name in {"engineering", "leadership"}:
        body = render_markdown(plan, policy, audience="engineering" if name == "engineering" else "leadership")
        subject, rest = body.split("\n", 1)
        extra = _rising(story)
        if name == "engineering" and story.changes:
            extra += ["**Changed since the last grooming:**", *_bullets(story.changes, ""), ""]
        return "\n".join([subject, "", *extra]) + rest
    sections = {"design": _design(plan), "sales": _sales(plan, policy), "marketing": _marketing(plan, policy)}
    return "\n".join([f"**Sprint {plan.sprint} for {TITLES[name]}**", "", *sections[name], ""])


__all__ = [
    "AUDIENCES",
    "TITLES",
    "StoryLines",
    "UnknownAudienceError",
    "audience_markdown",
    "audience_name",
    "has_design_work",
]
