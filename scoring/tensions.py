"""The seed's surfaced tension, per item on the sprint page: "ranked above X (RICE 6.7) by Strategic Override".

It compares a row with the rows ranked below it, so it belongs to the report, not to the row's Score Note (a
note that names its neighbours changes whenever they do). Only the items the page shows are explained: one pass
over the rows below each, so the work grows with the backlog, not with its square.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scoring.evidence import merged_children
from scoring.models import Candidate
from scoring.policy import Policy
from scoring.scales import fmt1
from scoring.score import ScoreResult, ranking
from scoring.strategy import strategic_fit


def _cause(
    candidate: Candidate, top: Candidate, policy: Policy, children: Mapping[str, Sequence[Candidate]] | None = None
) -> str:
    """Why the item outranks a higher score: its override, its boosts, or the boosted score itself."""
    if candidate.strategic_override and not top.strategic_override:
        return "Strategic Override"
    boosts = strategic_fit(candidate, policy, children).boosts  # merged lost deals count, as in the score
    return f"its boosts ({', '.join(boosts)})" if boosts else "priority after boosts"


def tension(
    position: int,
    ranked: Sequence[ScoreResult],
    candidates: Mapping[str, Candidate],
    policy: Policy,
    children: Mapping[str, Sequence[Candidate]] | None = None,
) -> str | None:
    """The highest-scored item ranked below `ranked[position]` despite a higher score, and how many there are."""
    result = ranked[position]
    candidate = candidates.get(result.page_id)
    if candidate is None or result.triage is not None:
        return None
    own = result.rice if result.rice is not None else float("-inf")
    higher = [other for other in ranked[position + 1 :] if other.rice is not None and other.rice > own]
    if not higher:
        return None
    top = max(higher, key=lambda other: (other.rice or 0.0, -(other.rank or 0)))
    top_candidate = candidates.get(top.page_id)
    if top_candidate is None:
        return None
    more = f" and {len(higher) - 1} more" if len(higher) > 1 else ""
    return (
        f"{candidate.name} is ranked above {top_candidate.name} ({policy.framework.upper()} "
        f"{fmt1(top.rice or 0.0)}){more} by {_cause(candidate, top_candidate, policy, children)} — the seed's tension, "
        "surfaced, not resolved."
    )


def tensions(
    shown: Sequence[str], candidates: Sequence[Candidate], scores: Mapping[str, ScoreResult], policy: Policy
) -> list[str]:
    """One tension line per shown page id (planned, then stretch) that has one, in that order."""
    ranked = ranking(scores)
    positions = {result.page_id: index for index, result in enumerate(ranked)}
    by_id = {c.page_id: c for c in candidates}
    children = merged_children(candidates)
    lines = [tension(positions[page_id], ranked, by_id, policy, children) for page_id in shown if page_id in positions]
    return [line for line in lines if line is not None]


__all__ = ["tension", "tensions"]
