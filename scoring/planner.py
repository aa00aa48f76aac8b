"""The sprint planner (seed steps 3–5): capacity step by step, the 80 % rule, and the rules of thumb.

Order: P0 bugs, Strategic Overrides, then Rank (the scorer's order). Decisions:
- Never more effort than the plan limit (feature capacity × `max_plan_share`); an item that does not fit is
  skipped, smaller lower-ranked items may still fit.
- At least one Reliability or Tech debt item: the best-ranked one that fits is added; if none fits, the
  lowest-ranked ordinary picks are swapped out for it (never a P0 bug or an override). Both are said.
- Blocked items (Blocked By set, or Status Blocked) are never planned; they go to Risks and Asks.
- Rows with Status Icebox, P1/P2 bugs (the bugs/ops share pays for them) and unscored rows are not planned.
- A P0 bug with no Effort is assumed M (the seed's "2–4 weeks" middle size) and the item says so.
- ICE Effort High/Medium/Low is planned with `scales.ice_effort_weeks` (L/M/S person-weeks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from scoring.evidence import INTERNAL, gather_evidence, merged_children, segment_of
from scoring.models import Candidate
from scoring.policy import Capacity, Policy
from scoring.scales import InputProblem, fmt1, num, parse_effort, parse_ice
from scoring.score import ScoreResult, is_bug, is_closed
from scoring.strategy import alignment_text, strategic_fit

OPS_HEALTH_TYPES = frozenset({"reliability", "tech debt"})
SEED_FEATURE_CAPACITY = (12.0, 14.0)  # the seed: "about 12-14 person-weeks of feature capacity per sprint"
XL_WEEKS = 10.0
STRETCH_ITEMS = 2
NOT_BUILDING_ITEMS = 3
_EPSILON = 1e-9


@dataclass(frozen=True)
class CapacityStep:
    """One line of the capacity math: what it is, person-weeks (negative = deducted), how it was computed."""

    label: str
    person_weeks: float
    explanation: str


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


@dataclass(frozen=True)
class NotBuilding:
    """A most-asked item that missed the cut, and why."""

    candidate: Candidate
    demand: str
    reason: str


@dataclass(frozen=True)
class Zombie:
    candidate: Candidate
    sprints_waiting: int
    text: str


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
    asks: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    zombies: tuple[Zombie, ...] = ()
    ops_bugs: tuple[Candidate, ...] = ()  # P1/P2 bugs, paid for by the bugs/ops share
    picked_page_ids: tuple[str, ...] = ()
    waiting_page_ids: tuple[str, ...] = ()  # eligible but not picked: their Sprints Waiting goes up
    capacity_note: str = ""
    empty_reason: str | None = None


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
    steps = [
        CapacityStep("Team", gross, f"{engineers} engineers ({roles}) × {num(weeks)} weeks"),
        CapacityStep(
            "On-call",
            -on_call,
            f"{capacity.on_call_engineers} engineers × {num(capacity.on_call_share * 100)} % × {num(weeks)} weeks",
        ),
        CapacityStep("Bugs and ops", -bugs_ops, f"{num(capacity.bugs_ops_share * 100)} % of {num(gross)}"),
        CapacityStep(
            "Meetings, reviews, overhead", -overhead, f"{num(capacity.overhead_share * 100)} % of {num(gross)}"
        ),
        CapacityStep("Days off", -days_off, f"{num(capacity.days_off)} person-days ÷ 5"),
        CapacityStep(
            "Feature capacity",
            feature,
            f"{num(gross)} − {num(on_call)} − {num(bugs_ops)} − {num(overhead)} − {num(days_off)}",
        ),
        CapacityStep(
            "Plan limit",
            limit,
            f"{num(capacity.max_plan_share * 100)} % of {num(feature)}: never plan more",
        ),
    ]
    return steps, feature, limit


def _capacity_note(capacity: Capacity, feature: float, limit: float) -> str:
    # The seed's estimate is about the seed's team; days off and the plan share do not change "feature capacity"
    # as the seed means it, so the comparison holds whatever they are.
    varying = {"days_off", "max_plan_share", "zombie_after_sprints"}
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
        f"The {num(capacity.max_plan_share * 100)} % plan limit, {fmt1(limit)} pw, is {inside} the seed's range."
    )


@dataclass
class _Option:
    candidate: Candidate
    result: ScoreResult
    effort: float | None
    effort_assumed: bool = False
    swapped_in: bool = False

    @property
    def rank(self) -> int:
        return self.result.rank if self.result.rank is not None else 1 << 30

    @property
    def protected(self) -> bool:
        """P0 bugs and overrides are never swapped out for the reliability rule."""
        return self.result.triage == "P0" or self.candidate.strategic_override


def _effort(candidate: Candidate, policy: Policy) -> tuple[float | None, bool]:
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
    return bool((candidate.blocked_by or "").strip()) or (candidate.status or "").strip().casefold() == "blocked"


def is_ops_health(candidate: Candidate) -> bool:
    return (candidate.type or "").strip().casefold() in OPS_HEALTH_TYPES


def is_customer_facing(candidate: Candidate, policy: Policy) -> bool:
    """A Feature (or untyped row) that is not internal-only needs a pilot customer to validate it."""
    kind = (candidate.type or "").strip().casefold()
    return kind in {"", "feature"} and segment_of(candidate, policy) != INTERNAL


def _blocker(candidate: Candidate) -> str:
    return (candidate.blocked_by or "").strip() or "Status is Blocked (Blocked By is empty)"


def _fill(order: Sequence[_Option], picked: list[_Option], limit: float, skip: set[str]) -> None:
    """Greedy by rank: take every option that still fits under the limit."""
    chosen = {option.candidate.page_id for option in picked}
    for option in order:
        page_id = option.candidate.page_id
        if page_id in chosen or page_id in skip or option.effort is None:
            continue
        if sum(o.effort or 0.0 for o in picked) + option.effort <= limit + _EPSILON:
            picked.append(option)
            chosen.add(page_id)


def _names(options: Sequence[_Option]) -> str:
    labels = [o.candidate.name for o in options]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _ensure_ops_health(
    order: Sequence[_Option], picked: list[_Option], limit: float, tradeoffs: list[str], risks: list[str]
) -> None:
    """The seed's "at least one reliability/tech-debt item every sprint", by adding or swapping."""
    if any(is_ops_health(o.candidate) for o in picked):
        return
    chosen = {o.candidate.page_id for o in picked}
    best = next((o for o in order if is_ops_health(o.candidate) and o.candidate.page_id not in chosen), None)
    if best is None or best.effort is None:
        risks.append("No reliability or tech-debt item is ready to plan: the seed asks for one every sprint.")
        return
    free = limit - sum(o.effort or 0.0 for o in picked)
    removed: list[_Option] = []
    for option in sorted((o for o in picked if not o.protected), key=lambda o: o.rank, reverse=True):
        if free + _EPSILON >= best.effort:
            break
        removed.append(option)
        free += option.effort or 0.0
    if free + _EPSILON < best.effort:
        risks.append(
            f"{best.candidate.name} ({best.candidate.type}, {num(best.effort)} pw) does not fit even after "
            "swapping: this sprint has no reliability or tech-debt item."
        )
        return
    for option in removed:
        picked.remove(option)
    best.swapped_in = True
    picked.append(best)
    if removed:
        tradeoffs.append(
            f"Swapped in {best.candidate.name} ({best.candidate.type}, rank {best.rank}) for {_names(removed)} "
            "to keep one reliability/tech-debt item in the sprint."
        )
    else:
        tradeoffs.append(
            f"Added {best.candidate.name} ({best.candidate.type}, rank {best.rank}) to keep one "
            "reliability/tech-debt item in the sprint."
        )
    _fill(order, picked, limit, skip={o.candidate.page_id for o in removed})


def _priorities(picked: Sequence[_Option]) -> list[str]:
    """P0: P0 bugs and overrides (or the top item); the rest split in order, first half P1, second half P2."""
    top = [o for o in picked if o.protected] or list(picked[:1])
    rest = [o for o in picked if o not in top]
    p1_count = math.ceil(len(rest) / 2)
    labels = {id(o): "P0" for o in top}
    labels.update({id(o): "P1" if i < p1_count else "P2" for i, o in enumerate(rest)})
    return [labels[id(o)] for o in picked]


def _item(option: _Option, priority: str, policy: Policy) -> PlanItem:
    c = option.candidate
    notes: list[str] = []
    if option.effort_assumed:
        notes.append(f"Effort not set: assumed M ({num(option.effort or 0.0)} pw), set Effort")
    if option.effort is not None and option.effort >= XL_WEEKS:
        notes.append("XL: consider breaking down")
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
    alignment = alignment_text(c, strategic_fit(c, policy), policy)
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
    )


def _demand(candidate: Candidate, children: Mapping[str, Sequence[Candidate]], policy: Policy) -> tuple[int, int, int]:
    evidence = gather_evidence(candidate, children, policy)
    return len(evidence.customers) + evidence.free_users, evidence.votes, evidence.merged_rows


def _demand_text(demand: tuple[int, int, int]) -> str:
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


def plan_sprint(
    candidates: Sequence[Candidate], scores: Mapping[str, ScoreResult], policy: Policy, sprint: int, start: date
) -> SprintPlan:
    """Plan one sprint from the scored backlog; pure, so the same inputs give the same plan."""
    steps, feature, limit = capacity_steps(policy.capacity)
    end = start + timedelta(days=round(policy.capacity.sprint_weeks * 7) - 1)
    children = merged_children(candidates)
    active = [c for c in candidates if not is_closed(c) and not c.merged_into]
    tradeoffs: list[str] = []
    asks: list[str] = []
    risks: list[str] = []

    def rank_of(candidate: Candidate) -> tuple[int, str, str]:
        result = scores.get(candidate.page_id)
        rank = result.rank if result is not None and result.rank is not None else 1 << 30
        return rank, candidate.name.casefold(), candidate.page_id

    active.sort(key=rank_of)
    blocked = [c for c in active if is_blocked(c)]
    for c in blocked:
        risks.append(f"{c.name} is blocked by {_blocker(c)}: not planned until it is cleared.")
        blocker = (c.blocked_by or "").strip()
        if blocker:
            asks.append(f"Unblock {c.name}: {blocker}.")
        else:
            asks.append(f"Say what blocks {c.name} (Status is Blocked, Blocked By is empty).")

    options: dict[str, _Option] = {}
    order: list[_Option] = []
    ops_bugs: list[Candidate] = []
    for c in active:
        result = scores.get(c.page_id)
        if result is None or is_blocked(c) or (c.status or "").strip().casefold() == "icebox":
            continue
        if result.triage in {"P1", "P2"}:
            ops_bugs.append(c)
            continue
        if result.rank is None:
            continue
        effort, assumed = _effort(c, policy)
        option = _Option(c, result, effort, effort_assumed=assumed)
        options[c.page_id] = option
        order.append(option)
        if effort is None:
            risks.append(f"{c.name} (rank {result.rank}) has no valid Effort: set Effort to plan it.")

    picked: list[_Option] = []
    _fill(order, picked, limit, skip=set())
    _ensure_ops_health(order, picked, limit, tradeoffs, risks)
    picked.sort(key=lambda o: o.rank)
    picked_ids = {o.candidate.page_id for o in picked}
    items = [_item(o, priority, policy) for o, priority in zip(picked, _priorities(picked), strict=True)]
    planned = sum(o.effort or 0.0 for o in picked)
    remaining = limit - planned
    # Stretch: the best items left that a team finishing early could actually take on (not iceboxed, and not
    # bigger than a whole sprint's plan limit).
    stretch_options = [
        o
        for o in order
        if o.candidate.page_id not in picked_ids
        and o.effort is not None
        and o.effort <= limit + _EPSILON
        and not o.result.icebox_suggested
    ]
    stretch = [_item(o, "Stretch", policy) for o in stretch_options[:STRETCH_ITEMS]]

    # Trade-offs: the seed's surfaced tension, then items skipped for size while smaller ones went in.
    scored = [c for c in active if not is_bug(c) and (r := scores.get(c.page_id)) is not None and r.rice is not None]
    if scored:
        top = max(scored, key=lambda c: (scores[c.page_id].rice or 0.0, -rank_of(c)[0]))
        top_result = scores[top.page_id]
        top_rice = top_result.rice or 0.0
        top_rank = top_result.rank if top_result.rank is not None else 1 << 30
        above = [
            c
            for c in active
            if (r := scores.get(c.page_id)) is not None and r.rank is not None and r.rank < top_rank and not is_bug(c)
        ]
        overrides = [c.name for c in above if c.strategic_override and not top.strategic_override]
        boosted = [c.name for c in above if not c.strategic_override]
        if overrides:
            verb = "carries" if len(overrides) == 1 else "carry"
            tradeoffs.insert(
                0,
                f"{top.name} has the highest RICE ({fmt1(top_rice)}) but {' and '.join(overrides)} {verb} a "
                "strategic override.",
            )
        if boosted:
            tradeoffs.append(f"{', '.join(boosted)} outrank {top.name} (RICE {fmt1(top_rice)}) on strategic boosts.")
    for option in order:
        if option.candidate.page_id in picked_ids or option.effort is None:
            continue
        later = [o for o in picked if o.rank > option.rank]
        if later:
            tradeoffs.append(
                f"{option.candidate.name} (rank {option.rank}, {num(option.effort)} pw) did not fit the remaining "
                f"capacity; smaller, lower-ranked {_names(later)} went in instead."
            )
            break

    for item in items:
        if "no pilot customer lined up to validate" in item.notes:
            asks.append(f"A pilot customer to validate {item.candidate.name} before we build it.")
        if item.effort >= XL_WEEKS:
            risks.append(f"{item.candidate.name} is XL ({num(item.effort)} pw): consider breaking it down.")

    empty_reason: str | None = None
    if not picked:
        sized = [o for o in order if o.effort is not None]
        if not sized:
            empty_reason = (
                "Nothing to plan: every active item is blocked, unscored, in Icebox, or a P1/P2 bug "
                "(paid for by the bugs/ops share)."
            )
        else:
            smallest = min(sized, key=lambda o: (o.effort or 0.0, o.rank))
            empty_reason = (
                f"Nothing fits the plan limit of {fmt1(limit)} pw: the smallest eligible item, "
                f"{smallest.candidate.name}, needs {num(smallest.effort or 0.0)} pw. Break items down or "
                "raise capacity."
            )
        risks.insert(0, empty_reason)

    zombie_after = policy.capacity.zombie_after_sprints
    zombies = [
        Zombie(c, c.sprints_waiting or 0, f"{c.name}: waiting {c.sprints_waiting} sprints, re-prioritize or kill.")
        for c in active
        if (c.sprints_waiting or 0) >= zombie_after and c.page_id not in picked_ids
    ]

    stretch_ids = {item.candidate.page_id for item in stretch}
    missed = [c for c in active if not is_bug(c) and c.page_id not in picked_ids and c.page_id not in stretch_ids]
    demands = {c.page_id: _demand(c, children, policy) for c in missed}
    missed.sort(key=lambda c: (tuple(-n for n in demands[c.page_id]), *rank_of(c)))
    not_building = [
        NotBuilding(
            c, _demand_text(demands[c.page_id]), _not_building_reason(c, scores.get(c.page_id), options, remaining)
        )
        for c in missed[:NOT_BUILDING_ITEMS]
    ]

    return SprintPlan(
        sprint=sprint,
        start=start,
        end=end,
        capacity_steps=tuple(steps),
        feature_capacity=feature,
        plan_limit=limit,
        planned_effort=planned,
        items=tuple(items),
        stretch=tuple(stretch),
        not_building=tuple(not_building),
        tradeoffs=tuple(tradeoffs),
        asks=tuple(asks),
        risks=tuple(risks),
        zombies=tuple(zombies),
        ops_bugs=tuple(ops_bugs),
        picked_page_ids=tuple(o.candidate.page_id for o in picked),
        waiting_page_ids=tuple(o.candidate.page_id for o in order if o.candidate.page_id not in picked_ids),
        capacity_note=_capacity_note(policy.capacity, feature, limit),
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
    "plan_sprint",
]
