"""The sprint planner (seed steps 3–5): the 80 % rule and the rules of thumb, as a pipeline of named pure steps.

Order: the scorer's Priority (P0 bugs, Strategic Overrides, then the boosted score), ranked here, at report
time; ranks, tensions and trade-offs are never stored on a row. Decisions:
- Never more effort than the plan limit (feature capacity × `max_plan_share`, see `scoring.capacity`); an item
  that does not fit is skipped, smaller lower-ranked items may still fit.
- At least one Reliability or Tech debt item: the best-ranked one that fits is added; if none fits, the
  lowest-ranked ordinary picks are swapped out for it (never a P0 bug or an override). Both are said.
- Blocked items (Blocked By set, or Status Blocked) are never planned; they go to Risks and Asks.
- Rows with Status Icebox, P1/P2 bugs (the bugs/ops share pays for them) and unscored rows are not planned.
- A P0 bug with no Effort is assumed M (the seed's "2–4 weeks" middle size) and the item says so.
- ICE Effort High/Medium/Low is planned with `scales.ice_effort_weeks` (L/M/S person-weeks).
- Sprints waiting are derived (`capacity.sprints_waiting`): whole sprints since the ask was first seen (the row or
  a row merged into it; the day the row was added when First Seen is empty), or since the sprint it was last
  planned into. An eligible item not picked that waited `zombie_after_sprints` is a zombie.
`plan_sprint` reads as the list of steps; each step is a small pure function below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from scoring.capacity import (
    CapacityStep,
    buffer_note,
    buffer_share,
    capacity_note,
    capacity_steps,
    sprint_end,
    sprints_waiting,
)
from scoring.deals import lost_deal_line
from scoring.evidence import INTERNAL, gather_evidence, merged_children, segment_of
from scoring.models import Candidate
from scoring.policy import Policy
from scoring.scales import InputProblem, fmt1, num, parse_effort, parse_ice
from scoring.score import ScoreResult, is_bug, is_closed
from scoring.strategy import alignment_text, strategic_fit
from scoring.tensions import tensions

OPS_HEALTH_TYPES = frozenset({"reliability", "tech debt"})
OPS_BUG_TRIAGE = frozenset({"P1", "P2"})  # paid for by the bugs/ops share, not by feature capacity
XL_WEEKS = 10.0
STRETCH_ITEMS = 2
NOT_BUILDING_ITEMS = 3
_EPSILON = 1e-9
_UNRANKED = 1 << 30  # sorts after every real rank


@dataclass(frozen=True)
class PlanItem:
    """One row of the seed's sprint table."""

    priority: str  # "P0", "P1", "P2", "Stretch"
    candidate: Candidate
    rank: int | None
    rice: float | None
    alignment: str
    effort: float
    owner: str
    notes: tuple[str, ...] = ()
    lost_deals: str | None = None  # "lost 2 deals worth $420k to latency": quoted by the summary


@dataclass(frozen=True)
class NotBuilding:
    """A most-asked item that missed the cut, and why."""

    candidate: Candidate
    demand: str
    reason: str


@dataclass(frozen=True)
class Zombie:
    """An item passed over for `zombie_after_sprints` sprints: the seed says re-prioritize or kill it."""

    candidate: Candidate
    sprints_waiting: int
    text: str
    since: date | None = None


@dataclass(frozen=True)
class SprintPlan:
    """A sprint's plan as data; `summary.render_markdown` turns it into the sprint page."""

    sprint: int
    start: date
    end: date
    capacity_steps: tuple[CapacityStep, ...]
    feature_capacity: float
    plan_limit: float
    planned_effort: float
    items: tuple[PlanItem, ...]
    stretch: tuple[PlanItem, ...] = ()
    not_building: tuple[NotBuilding, ...] = ()
    tradeoffs: tuple[str, ...] = ()
    tensions: tuple[str, ...] = ()  # per shown item: what it outranks despite a lower score, and why
    asks: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    zombies: tuple[Zombie, ...] = ()
    ops_bugs: tuple[Candidate, ...] = ()  # P1/P2 bugs, paid for by the bugs/ops share
    picked_page_ids: tuple[str, ...] = ()
    waiting_page_ids: tuple[str, ...] = ()  # eligible but not picked (nothing is written on them)
    capacity_note: str = ""
    empty_reason: str | None = None


@dataclass
class _Option:
    candidate: Candidate
    result: ScoreResult
    effort: float | None
    effort_assumed: bool = False
    swapped_in: bool = False

    @property
    def rank(self) -> int:
        return self.result.rank if self.result.rank is not None else _UNRANKED

    @property
    def protected(self) -> bool:
        """P0 bugs and overrides are never swapped out for the reliability rule."""
        return self.result.triage == "P0" or self.candidate.strategic_override


def _effort(candidate: Candidate, policy: Policy) -> tuple[float | None, bool]:
    """Person-weeks to plan with (estimate buffer included), and whether they were assumed."""
    effort, assumed = _estimate(candidate, policy)
    if effort is None:
        return None, assumed
    return effort * (1 + buffer_share(candidate, policy.capacity)), assumed


def item_effort(candidate: Candidate, policy: Policy) -> float | None:
    """The person-weeks the planner books for an item (buffer included), e.g. for an escalation's trade-off."""
    return _effort(candidate, policy)[0]


def _estimate(candidate: Candidate, policy: Policy) -> tuple[float | None, bool]:
    """The estimate as entered, and whether it was assumed (a P0 bug with no Effort counts as M)."""
    raw = (candidate.effort or "").strip()
    if raw:
        parsed = parse_effort(raw, policy.scales.effort)
        if not isinstance(parsed, InputProblem):
            return parsed.value, False
        if policy.framework == "ice":
            ice = parse_ice("Effort", raw, policy.scales.ice)
            if not isinstance(ice, InputProblem) and ice.label in policy.scales.ice_effort_weeks:
                return policy.scales.ice_effort_weeks[ice.label], False
        return None, False
    if is_bug(candidate):
        return policy.scales.effort.get("M", 3.0), True
    return None, False


def is_blocked(candidate: Candidate) -> bool:
    """Blocked By set, or Status Blocked: either way the item cannot start."""
    return bool((candidate.blocked_by or "").strip()) or (candidate.status or "").strip().casefold() == "blocked"


def is_ops_health(candidate: Candidate) -> bool:
    """Reliability and Tech debt items: the seed wants one in every sprint."""
    return (candidate.type or "").strip().casefold() in OPS_HEALTH_TYPES


def is_customer_facing(candidate: Candidate, policy: Policy) -> bool:
    """A Feature (or untyped row) that is not internal-only needs a pilot customer to validate it."""
    kind = (candidate.type or "").strip().casefold()
    return kind in {"", "feature"} and segment_of(candidate, policy) != INTERNAL


def _blocker(candidate: Candidate) -> str:
    """What blocks the item, in words a PM can act on."""
    return (candidate.blocked_by or "").strip() or "Status is Blocked (Blocked By is empty)"


def _fill(order: Sequence[_Option], picked: list[_Option], limit: float, skip: set[str]) -> None:
    """Greedy by rank: take every option that still fits under the limit (one pass: the planned effort is kept as
    a running total, the same sum in the same order)."""
    chosen = {option.candidate.page_id for option in picked}
    planned = sum(o.effort or 0.0 for o in picked)
    for option in order:
        page_id = option.candidate.page_id
        if page_id in chosen or page_id in skip or option.effort is None:
            continue
        if planned + option.effort <= limit + _EPSILON:
            picked.append(option)
            chosen.add(page_id)
            planned += option.effort


def _names(options: Sequence[_Option]) -> str:
    """'A', 'A and B', 'A, B and C': for trade-off sentences."""
    labels = [o.candidate.name for o in options]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _ops_health_room(picked: list[_Option], needed: float, limit: float) -> list[_Option] | None:
    """The lowest-ranked unprotected picks to swap out so `needed` fits (none if it already does; None: cannot)."""
    free = limit - sum(o.effort or 0.0 for o in picked)
    removed: list[_Option] = []
    for option in sorted((o for o in picked if not o.protected), key=lambda o: o.rank, reverse=True):
        if free + _EPSILON >= needed:
            break
        removed.append(option)
        free += option.effort or 0.0
    return removed if free + _EPSILON >= needed else None


def _ops_health_slot(order: Sequence[_Option], picked: list[_Option], limit: float) -> tuple[list[str], list[str]]:
    """The seed's "at least one reliability/tech-debt item every sprint", by adding or swapping.

    Changes `picked` in place; returns the trade-off it made and the risk when it could not keep the rule.
    """
    if any(is_ops_health(o.candidate) for o in picked):
        return [], []
    chosen = {o.candidate.page_id for o in picked}
    best = next((o for o in order if is_ops_health(o.candidate) and o.candidate.page_id not in chosen), None)
    if best is None or best.effort is None:
        return [], ["No reliability or tech-debt item is ready to plan: the seed asks for one every sprint."]
    removed = _ops_health_room(picked, best.effort, limit)
    if removed is None:
        too_big = f"{best.candidate.name} ({best.candidate.type}, {num(best.effort)} pw) does not fit even after"
        return [], [f"{too_big} swapping: this sprint has no reliability or tech-debt item."]
    for option in removed:
        picked.remove(option)
    best.swapped_in = True
    picked.append(best)
    _fill(order, picked, limit, skip={o.candidate.page_id for o in removed})
    what = f"{best.candidate.name} ({best.candidate.type}, rank {best.rank})"
    if removed:
        return [f"Swapped in {what} for {_names(removed)} to keep one reliability/tech-debt item in the sprint."], []
    return [f"Added {what} to keep one reliability/tech-debt item in the sprint."], []


def _rank_key(candidate: Candidate, scores: Mapping[str, ScoreResult]) -> tuple[int, str, str]:
    """The scorer's rank, unranked rows last; name and page id make the order total, so plans are stable."""
    result = scores.get(candidate.page_id)
    rank = result.rank if result is not None and result.rank is not None else _UNRANKED
    return rank, candidate.name.casefold(), candidate.page_id


def _priorities(picked: Sequence[_Option]) -> list[str]:
    """P0: P0 bugs and overrides (or the top item); the rest split in order, first half P1, second half P2."""
    top = [o for o in picked if o.protected] or list(picked[:1])
    rest = [o for o in picked if o not in top]
    p1_count = math.ceil(len(rest) / 2)
    labels = {id(o): "P0" for o in top}
    labels.update({id(o): "P1" if i < p1_count else "P2" for i, o in enumerate(rest)})
    return [labels[id(o)] for o in picked]


Children = Mapping[str, Sequence[Candidate]]


def _item(option: _Option, priority: str, policy: Policy, children: Children) -> PlanItem:
    """One table row; its notes say what the PM should check (assumed effort, XL, pilot customer, ...)."""
    c = option.candidate
    notes: list[str] = []
    if option.effort_assumed:
        notes.append(f"Effort not set: assumed M ({num(option.effort or 0.0)} pw), set Effort")
    if option.effort is not None and option.effort >= XL_WEEKS:
        notes.append("XL: consider breaking down")
    buffered = buffer_note(c, policy.capacity)
    if buffered:
        notes.append(buffered)
    if is_customer_facing(c, policy) and not (c.validation_customer or "").strip():
        notes.append("no pilot customer lined up to validate")
    elif (c.validation_customer or "").strip():
        notes.append(f"validates with {(c.validation_customer or '').strip()}")
    if option.swapped_in:
        notes.append("keeps one reliability/tech-debt item in the sprint")
    if option.result.suggested:
        notes.append(f"RICE from suggested {', '.join(option.result.suggested)}")
    if priority == "Stretch":
        notes.append("only if P0–P2 finish early")
    alignment = alignment_text(c, strategic_fit(c, policy, children), policy)
    if option.result.triage:
        alignment = "; ".join(filter(None, (f"{option.result.triage} bug", alignment)))
    return PlanItem(
        priority=priority,
        candidate=c,
        rank=option.result.rank,
        rice=option.result.rice,
        alignment=alignment,
        effort=option.effort or 0.0,
        owner=", ".join(c.owners),
        notes=tuple(notes),
        lost_deals=lost_deal_line(c, children),
    )


def _demand(candidate: Candidate, children: Mapping[str, Sequence[Candidate]], policy: Policy) -> tuple[int, int, int]:
    """(askers, votes, merged duplicates): how "most asked" is measured for the not-building list."""
    evidence = gather_evidence(candidate, children, policy)
    return len(evidence.customers) + evidence.free_users, evidence.votes, evidence.merged_rows


def _demand_text(demand: tuple[int, int, int]) -> str:
    """The demand as a phrase for the stakeholder summary."""
    customers, votes, merged = demand
    parts = [
        f"{customers} customer{'s' if customers != 1 else ''}" if customers else "",
        f"{votes} vote{'s' if votes != 1 else ''}" if votes else "",
        f"{merged} merged duplicate{'s' if merged != 1 else ''}" if merged else "",
    ]
    shown = ", ".join(part for part in parts if part)
    return f"asked by {shown}" if shown else "no recorded asks"


def _not_building_reason(
    candidate: Candidate, result: ScoreResult | None, options: Mapping[str, _Option], remaining: float
) -> str:
    """The first reason that holds, most actionable first (blocked, Icebox, unscored, too big, below the cut)."""
    if is_blocked(candidate):
        return f"blocked: {_blocker(candidate)}"
    if (candidate.status or "").strip().casefold() == "icebox":
        return "in Icebox"
    if result is None or result.rank is None:
        problems = result.problems if result else ()
        return f"not scored yet: {problems[0]}" if problems else "not ranked"
    if result.icebox_suggested:
        return f"suggested for Icebox (RICE {result.rice_display}, no OKR or loss/churn signal)"
    option = options.get(candidate.page_id)
    if option is not None and option.effort is not None and option.effort > remaining + _EPSILON:
        return f"rank {result.rank}, needs {num(option.effort)} pw; only {fmt1(remaining)} pw left under the limit"
    return f"rank {result.rank}: below the cut"


# ------------------------------------------------------------------------------------------ the steps, in order
def _active(candidates: Sequence[Candidate], scores: Mapping[str, ScoreResult]) -> list[Candidate]:
    """Open, unmerged rows in the scorer's order (P0 bugs, overrides, then rank): every later step reads this."""
    active = [c for c in candidates if not is_closed(c) and not c.merged_into]
    return sorted(active, key=lambda c: _rank_key(c, scores))


def _blocked(active: Sequence[Candidate]) -> tuple[list[str], list[str]]:
    """Blocked items are never planned: each is a risk, and clearing it is an ask (risks, asks)."""
    risks: list[str] = []
    asks: list[str] = []
    for c in (c for c in active if is_blocked(c)):
        risks.append(f"{c.name} is blocked by {_blocker(c)}: not planned until it is cleared.")
        blocker = (c.blocked_by or "").strip()
        if blocker:
            asks.append(f"Unblock {c.name}: {blocker}.")
        else:
            asks.append(f"Say what blocks {c.name} (Status is Blocked, Blocked By is empty).")
    return risks, asks


def _plannable(candidate: Candidate) -> bool:
    """Blocked and Icebox rows are never planned, whatever their score."""
    return not is_blocked(candidate) and (candidate.status or "").strip().casefold() != "icebox"


def _ops_bugs(active: Sequence[Candidate], scores: Mapping[str, ScoreResult]) -> list[Candidate]:
    """P1/P2 bugs are paid for by the bugs/ops share: listed on the page, never planned as features."""
    return [
        c for c in active if _plannable(c) and (r := scores.get(c.page_id)) is not None and r.triage in OPS_BUG_TRIAGE
    ]


def _eligible(
    active: Sequence[Candidate], scores: Mapping[str, ScoreResult], policy: Policy
) -> tuple[list[_Option], list[str]]:
    """The ranked rows the planner may pick, in rank order, with their effort; a missing effort is a risk."""
    order: list[_Option] = []
    risks: list[str] = []
    for c in active:
        result = scores.get(c.page_id)
        if result is None or not _plannable(c) or result.triage in OPS_BUG_TRIAGE or result.rank is None:
            continue
        effort, assumed = _effort(c, policy)
        order.append(_Option(c, result, effort, effort_assumed=assumed))
        if effort is None:
            risks.append(f"{c.name} (rank {result.rank}) has no valid Effort: set Effort to plan it.")
    return order, risks


def _pick(order: Sequence[_Option], limit: float) -> tuple[list[_Option], list[str], list[str]]:
    """Fill by rank within the plan limit, then keep the reliability/tech-debt slot (picks, trade-offs, risks)."""
    picked: list[_Option] = []
    _fill(order, picked, limit, skip=set())
    tradeoffs, risks = _ops_health_slot(order, picked, limit)
    picked.sort(key=lambda o: o.rank)
    return picked, tradeoffs, risks


def _items(picked: Sequence[_Option], policy: Policy, children: Children) -> list[PlanItem]:
    """The sprint table's rows, with P0/P1/P2 labels."""
    return [_item(o, priority, policy, children) for o, priority in zip(picked, _priorities(picked), strict=True)]


def _stretch(
    order: Sequence[_Option], picked_ids: set[str], limit: float, policy: Policy, children: Children
) -> list[PlanItem]:
    """The best items left that a team finishing early could actually take on (not iceboxed, and not bigger
    than a whole sprint's plan limit)."""
    left = [
        o
        for o in order
        if o.candidate.page_id not in picked_ids
        and o.effort is not None
        and o.effort <= limit + _EPSILON
        and not o.result.icebox_suggested
    ]
    return [_item(o, "Stretch", policy, children) for o in left[:STRETCH_ITEMS]]


def _rice_tension(active: Sequence[Candidate], scores: Mapping[str, ScoreResult]) -> tuple[str | None, str | None]:
    """The seed's surfaced tension: what outranks the highest-RICE item, by override and by strategic boost."""
    scored = [c for c in active if not is_bug(c) and (r := scores.get(c.page_id)) is not None and r.rice is not None]
    if not scored:
        return None, None
    top = max(scored, key=lambda c: (scores[c.page_id].rice or 0.0, -_rank_key(c, scores)[0]))
    top_rice = scores[top.page_id].rice or 0.0
    top_rank = scores[top.page_id].rank
    top_rank = top_rank if top_rank is not None else _UNRANKED
    above = [
        c
        for c in active
        if (r := scores.get(c.page_id)) is not None and r.rank is not None and r.rank < top_rank and not is_bug(c)
    ]
    overrides = [c.name for c in above if c.strategic_override and not top.strategic_override]
    boosted = [c.name for c in above if not c.strategic_override]
    by_override = by_boost = None
    if overrides:
        verb = "carries" if len(overrides) == 1 else "carry"
        by_override = (
            f"{top.name} has the highest RICE ({fmt1(top_rice)}) but {' and '.join(overrides)} {verb} a "
            "strategic override."
        )
    if boosted:
        by_boost = f"{', '.join(boosted)} outrank {top.name} (RICE {fmt1(top_rice)}) on strategic boosts."
    return by_override, by_boost


def _size_tradeoff(order: Sequence[_Option], picked: Sequence[_Option], picked_ids: set[str]) -> str | None:
    """The first sized item skipped for size while smaller, lower-ranked items went in (one pass: an item has
    lower-ranked picks exactly when the lowest-ranked pick is below it)."""
    lowest = max((o.rank for o in picked), default=None)
    for option in order:
        if option.candidate.page_id in picked_ids or option.effort is None:
            continue
        if lowest is not None and lowest > option.rank:
            later = [o for o in picked if o.rank > option.rank]
            return (
                f"{option.candidate.name} (rank {option.rank}, {num(option.effort)} pw) did not fit the remaining "
                f"capacity; smaller, lower-ranked {_names(later)} went in instead."
            )
    return None


def _item_flags(items: Sequence[PlanItem]) -> tuple[list[str], list[str]]:
    """Planned items that need something: a pilot customer (an ask), an XL size (a risk)."""
    asks = [
        f"A pilot customer to validate {item.candidate.name} before we build it."
        for item in items
        if "no pilot customer lined up to validate" in item.notes
    ]
    risks = [
        f"{item.candidate.name} is XL ({num(item.effort)} pw): consider breaking it down."
        for item in items
        if item.effort >= XL_WEEKS
    ]
    return asks, risks


def _empty_reason(picked: Sequence[_Option], order: Sequence[_Option], limit: float) -> str | None:
    """An empty plan says why, and what would change it."""
    if picked:
        return None
    sized = [o for o in order if o.effort is not None]
    if not sized:
        return (
            "Nothing to plan: every active item is blocked, unscored, in Icebox, or a P1/P2 bug "
            "(paid for by the bugs/ops share)."
        )
    smallest = min(sized, key=lambda o: (o.effort or 0.0, o.rank))
    return (
        f"Nothing fits the plan limit of {fmt1(limit)} pw: the smallest eligible item, "
        f"{smallest.candidate.name}, needs {num(smallest.effort or 0.0)} pw. Break items down or "
        "raise capacity."
    )


def _waiting_since(candidate: Candidate, children: Mapping[str, Sequence[Candidate]]) -> date | None:
    """The first time anyone asked: the oldest First Seen of the row and its merged rows, else the day it was added."""
    seen = [c.first_seen for c in (candidate, *children.get(candidate.page_id, ())) if c.first_seen is not None]
    return min(seen) if seen else candidate.added


def _zombies(
    order: Sequence[_Option],
    picked_ids: set[str],
    children: Mapping[str, Sequence[Candidate]],
    policy: Policy,
    sprint: tuple[int, date],
) -> list[Zombie]:
    """Eligible items passed over for too many sprints (derived, not stored): the seed's "re-prioritize or kill"."""
    number, start = sprint
    zombies: list[Zombie] = []
    for c in (o.candidate for o in order if o.candidate.page_id not in picked_ids):
        since = _waiting_since(c, children)
        waiting = sprints_waiting(since, c.sprint, number, start, policy.capacity)
        if waiting >= policy.capacity.zombie_after_sprints:
            shown = f" (since {since.isoformat()})" if since is not None else ""
            text = f"{c.name}: waiting {waiting} sprints{shown}, re-prioritize or kill."
            zombies.append(Zombie(c, waiting, text, since))
    return zombies


def _not_building(
    children: Mapping[str, Sequence[Candidate]],
    active: Sequence[Candidate],
    scores: Mapping[str, ScoreResult],
    policy: Policy,
    shown: set[str],
    order: Sequence[_Option],
    remaining: float,
) -> list[NotBuilding]:
    """The most-asked items that missed the cut (not planned, not stretch), each with the reason."""
    options = {o.candidate.page_id: o for o in order}
    missed = [c for c in active if not is_bug(c) and c.page_id not in shown]
    demands = {c.page_id: _demand(c, children, policy) for c in missed}
    missed.sort(key=lambda c: (tuple(-n for n in demands[c.page_id]), *_rank_key(c, scores)))
    return [
        NotBuilding(
            c, _demand_text(demands[c.page_id]), _not_building_reason(c, scores.get(c.page_id), options, remaining)
        )
        for c in missed[:NOT_BUILDING_ITEMS]
    ]


def plan_sprint(
    candidates: Sequence[Candidate], scores: Mapping[str, ScoreResult], policy: Policy, sprint: int, start: date
) -> SprintPlan:
    """Plan one sprint from the scored backlog; pure, so the same inputs give the same plan.

    Capacity -> active rows in rank order -> blocked rows to risks -> eligible options -> fill within the limit
    and keep the reliability slot -> items and stretch -> trade-offs, tensions, asks, risks -> zombies and
    not-building.
    """
    steps, feature, limit = capacity_steps(policy.capacity)
    active = _active(candidates, scores)
    blocked_risks, blocked_asks = _blocked(active)
    order, effort_risks = _eligible(active, scores, policy)
    picked, slot_tradeoffs, slot_risks = _pick(order, limit)
    picked_ids = {o.candidate.page_id for o in picked}
    children = merged_children(candidates)
    items = _items(picked, policy, children)
    stretch = _stretch(order, picked_ids, limit, policy, children)
    planned = sum(o.effort or 0.0 for o in picked)
    by_override, by_boost = _rice_tension(active, scores)
    tradeoffs = [by_override, *slot_tradeoffs, by_boost, _size_tradeoff(order, picked, picked_ids)]
    pilot_asks, xl_risks = _item_flags(items)
    empty_reason = _empty_reason(picked, order, limit)
    risks = [empty_reason, *blocked_risks, *effort_risks, *slot_risks, *xl_risks]
    shown = [*(o.candidate.page_id for o in picked), *(item.candidate.page_id for item in stretch)]
    return SprintPlan(
        sprint=sprint,
        start=start,
        end=sprint_end(start, policy.capacity),
        capacity_steps=tuple(steps),
        feature_capacity=feature,
        plan_limit=limit,
        planned_effort=planned,
        items=tuple(items),
        stretch=tuple(stretch),
        not_building=tuple(_not_building(children, active, scores, policy, set(shown), order, limit - planned)),
        tradeoffs=tuple(line for line in tradeoffs if line is not None),
        tensions=tuple(tensions(shown, candidates, scores, policy)),
        asks=(*blocked_asks, *pilot_asks),
        risks=tuple(line for line in risks if line is not None),
        zombies=tuple(_zombies(order, picked_ids, children, policy, (sprint, start))),
        ops_bugs=tuple(_ops_bugs(active, scores)),
        picked_page_ids=tuple(o.candidate.page_id for o in picked),
        waiting_page_ids=tuple(o.candidate.page_id for o in order if o.candidate.page_id not in picked_ids),
        capacity_note=capacity_note(policy.capacity, feature, limit),
        empty_reason=empty_reason,
    )


__all__ = [
    "CapacityStep",
    "NotBuilding",
    "PlanItem",
    "SprintPlan",
    "Zombie",
    "capacity_steps",
    "is_blocked",
    "is_customer_facing",
    "is_ops_health",
    "item_effort",
    "plan_sprint",
]
