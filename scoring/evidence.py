"""Evidence behind a row (the row and every row merged into it) and the Reach/Confidence it suggests.

Suggestions fill inputs the PM left empty so the backlog has a ranking on day one; they are shown as
"suggested" in the Score Note and never written into the PM's properties. Accounts are weighed as the seed
says: one enterprise pilot counts for more than many free-tier users.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scoring.models import Candidate
from scoring.policy import Policy
from scoring.scales import key_for_value, num

PILOT = "Enterprise pilot"
TRIAL = "Trial"
FREE = "Free"
INTERNAL = "Internal"
UNKNOWN = "Unknown"
_SEGMENT_NAMES = {name.casefold(): name for name in (PILOT, TRIAL, FREE, INTERNAL)}
_NAMES_SHOWN = 3


@dataclass(frozen=True)
class Evidence:
    """Distinct accounts per segment, sources and votes across a row and the rows merged into it."""

    rows: tuple[Candidate, ...]
    pilots: tuple[str, ...]
    trials: tuple[str, ...]
    other_customers: tuple[str, ...]  # named accounts of unknown segment
    free_users: int
    internal: bool
    sources: tuple[str, ...]
    votes: int

    @property
    def merged_rows(self) -> int:
        return len(self.rows) - 1

    @property
    def customers(self) -> tuple[str, ...]:
        """Named external accounts (not free-tier users, not internal)."""
        return self.pilots + self.trials + self.other_customers

    def weighted_customers(self, policy: Policy) -> float:
        return len(self.customers) + self.free_users * policy.segments.free_user_weight


@dataclass(frozen=True)
class Suggestion:
    """A suggested select value for an empty input, with the evidence in words."""

    input: str
    label: str
    value: float
    reason: str


def names(items: Sequence[str]) -> str:
    """ "A, B, C +2 more": keeps notes short and deterministic."""
    shown = ", ".join(items[:_NAMES_SHOWN])
    return shown if len(items) <= _NAMES_SHOWN else f"{shown} +{len(items) - _NAMES_SHOWN} more"


def segment_of(candidate: Candidate, policy: Policy) -> str:
    """The row's Segment select if set, else the account lists in backlog.toml (name or email domain)."""
    if candidate.segment and candidate.segment.strip().casefold() in _SEGMENT_NAMES:
        return _SEGMENT_NAMES[candidate.segment.strip().casefold()]
    customer = (candidate.customer or "").strip().casefold()
    if not customer:
        return UNKNOWN
    segments = policy.segments
    if any(customer.endswith(domain.strip().casefold()) for domain in segments.internal_domains if domain.strip()):
        return INTERNAL
    for segment, accounts in ((PILOT, segments.enterprise_pilots), (TRIAL, segments.trials), (FREE, segments.free)):
        if customer in {account.strip().casefold() for account in accounts}:
            return segment
    return UNKNOWN


def merged_children(candidates: Sequence[Candidate]) -> dict[str, list[Candidate]]:
    """page id -> rows whose Merged Into points at it."""
    children: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        for target in candidate.merged_into:
            children.setdefault(target, []).append(candidate)
    return children


def merged_family(candidate: Candidate, children: Mapping[str, Sequence[Candidate]]) -> list[Candidate]:
    """The row and every row merged into it, transitively, each once (a merge cycle is walked once)."""
    rows: list[Candidate] = []
    seen: set[str] = set()
    stack = [candidate]
    while stack:
        row = stack.pop()
        if row.page_id in seen:
            continue
        seen.add(row.page_id)
        rows.append(row)
        stack.extend(sorted(children.get(row.page_id, ()), key=lambda child: child.page_id, reverse=True))
    return rows


def gather_evidence(candidate: Candidate, children: Mapping[str, Sequence[Candidate]], policy: Policy) -> Evidence:
    """The row plus every row merged into it (transitively; a merge cycle is walked once)."""
    rows = merged_family(candidate, children)
    by_segment: dict[str, dict[str, str]] = {PILOT: {}, TRIAL: {}, UNKNOWN: {}, FREE: {}}
    anonymous_free = 0
    internal = False
    for row in rows:
        segment = segment_of(row, policy)
        customer = (row.customer or "").strip()
        if segment == INTERNAL:
            internal = True
        elif customer:
            by_segment[segment].setdefault(customer.casefold(), customer)
        elif segment == FREE:
            anonymous_free += 1

    def accounts(segment: str) -> tuple[str, ...]:
        return tuple(sorted(by_segment[segment].values(), key=str.casefold))

    # An account seen as a pilot is not counted again as an unknown-segment customer.
    pilots = accounts(PILOT)
    known = {name.casefold() for name in pilots + accounts(TRIAL)}
    others = tuple(name for name in accounts(UNKNOWN) if name.casefold() not in known)
    return Evidence(
        rows=tuple(rows),
        pilots=pilots,
        trials=tuple(name for name in accounts(TRIAL) if name.casefold() not in {p.casefold() for p in pilots}),
        other_customers=others,
        free_users=len(by_segment[FREE]) + anonymous_free,
        internal=internal,
        sources=tuple(sorted({row.source.strip() for row in rows if row.source and row.source.strip()})),
        votes=sum(row.votes or 0 for row in rows),
    )


def _suggestion(name: str, scale: dict[str, float], value: float, reason: str) -> Suggestion | None:
    label = key_for_value(scale, value)
    return None if label is None else Suggestion(name, label, value, reason)


def suggest_reach(evidence: Evidence, policy: Policy) -> Suggestion | None:  # noqa: PLR0911 - one return per row of the seed's Reach table
    """Seed Reach table from accounts: all pilots + trials 10; all of one 5; 2+ pilots 3; one customer 1."""
    segments = policy.segments
    scale = policy.scales.reach
    all_pilots = segments.total_enterprise_pilots > 0 and len(evidence.pilots) >= segments.total_enterprise_pilots
    all_trials = bool(segments.total_trials) and len(evidence.trials) >= (segments.total_trials or 0)
    if all_pilots and all_trials:
        return _suggestion("Reach", scale, 10, f"all {len(evidence.pilots)} pilots and all trial accounts")
    if all_pilots:
        return _suggestion("Reach", scale, 5, f"all {len(evidence.pilots)} enterprise pilots asked")
    if all_trials:
        return _suggestion("Reach", scale, 5, f"all {len(evidence.trials)} trial accounts asked")
    if len(evidence.pilots) >= 2:
        return _suggestion("Reach", scale, 3, f"{len(evidence.pilots)} pilot customers: {names(evidence.pilots)}")
    if evidence.customers:
        customers = evidence.customers
        reason = f"one customer: {customers[0]}" if len(customers) == 1 else f"customers: {names(customers)}"
        if len(customers) > 1:
            reason += " (fewer than 2 pilots)"
        return _suggestion("Reach", scale, 1, reason)
    if evidence.free_users:
        reason = f"free-tier users only ({evidence.free_users}); one enterprise pilot outweighs them"
        return _suggestion("Reach", scale, 0.5, reason)
    reason = "internal only" if evidence.internal else "no customer named in the evidence"
    return _suggestion("Reach", scale, 0.5, reason)


def confidence_level(evidence: Evidence, policy: Policy) -> tuple[float, str]:
    """Independent sources and customers -> 1.0 / 0.8 / 0.5 / 0.2 with the reason."""
    if len(evidence.sources) >= 2:
        return 1.0, f"{len(evidence.sources)} independent sources: {names(evidence.sources)}"
    weighted = evidence.weighted_customers(policy)
    if weighted >= 2:
        if len(evidence.customers) >= 2:
            return 0.8, f"{len(evidence.customers)} customers: {names(evidence.customers)}"
        return 0.8, f"{evidence.free_users} free-tier users (≈ {num(weighted)} customers)"
    if evidence.customers:
        return 0.5, f"one customer: {evidence.customers[0]}"
    if evidence.free_users:
        return 0.5, f"free-tier users only ({evidence.free_users}, ≈ {num(weighted)} customer)"
    return 0.2, "no direct customer signal"


def suggest_confidence(evidence: Evidence, policy: Policy) -> Suggestion | None:
    value, reason = confidence_level(evidence, policy)
    return _suggestion("Confidence", policy.scales.confidence, value, reason)


def suggest_ice_confidence(evidence: Evidence, policy: Policy) -> Suggestion | None:
    """ICE Confidence from the same evidence: 80 %+ is High, 50 % Medium, 20 % Low."""
    value, reason = confidence_level(evidence, policy)
    ice_value = 3.0 if value >= 0.8 else 2.0 if value >= 0.5 else 1.0
    return _suggestion("Confidence", policy.scales.ice, ice_value, reason)
