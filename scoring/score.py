"""Score every row on its own: RICE (or ICE), bug triage, strategy boosts, suggestions, Priority, one note per row.

Everything written on a row (RICE, Priority, Score Note) depends on that row and the rows merged into it, and
nothing else: one PM edit changes one row's values, so one write (issue 12). Ranks, "ranked above X" tensions and
trade-offs compare rows, so they are computed at report time (`score_backlog` adds ranks in memory; the planner
and the sprint page say the rest). Decisions (documented here because the PM sees their effect):
- A RICE computed from *suggested* Reach/Confidence IS written to the RICE property, so the backlog has a
  ranking on day one; the note marks every suggested input, and the PM's own properties are never written.
- ICE (`policy.framework == "ice"`, seed 003) scores Impact × Confidence / Effort on High=3/Medium=2/Low=1;
  the number goes to the same RICE property and the note says "ICE". Seed 003 prefers judgment over a formula:
  the score only orders the discussion.
- Bugs get no score: P0 is ranked first (fix now), P1 (next sprint) and P2 (backlog) are worked from the
  bugs/ops share of capacity, so they get a triage but no Priority.
- Priority encodes the seed's order in one number (see `scoring.priority`): P0 bugs, Strategic Overrides, then
  the score after boosts; ties go to the older First Seen, then a stable hash of the Source Key.
- Icebox is suggested (never applied) for an item with no OKR, no competitive-loss and no churn-risk signal
  whose score is under `icebox_threshold` — the seed's "doesn't map to any of the above".
- Notes are built only from the inputs, in a fixed order, so an unchanged row gets an identical note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from scoring.evidence import (
    Evidence,
    Suggestion,
    gather_evidence,
    merged_children,
    suggest_confidence,
    suggest_ice_confidence,
    suggest_reach,
)
from scoring.models import Candidate
from scoring.policy import Policy
from scoring.priority import (
    TIER_OVERRIDE,
    TIER_P0,
    TIER_SCORED,
    TIER_SIZE,
    PriorityParts,
    boost_digit,
    priority_parts,
)
from scoring.scales import (
    CONFIDENCE_MEANING,
    IMPACT_MEANING,
    REACH_MEANING,
    InputProblem,
    Parsed,
    allowed_values,
    fmt1,
    num,
    parse_confidence,
    parse_effort,
    parse_ice,
    parse_step,
    round1,
)
from scoring.strategy import StrategyFit, strategic_fit

CLOSED_STATUSES = frozenset({"done", "won't do", "wont do", "merged"})
NOTE_LIMIT = 1500
SEVERITIES = ("P0", "P1", "P2")
_TRIAGE_MEANING = {
    "P0": "fix now: ranked first, ahead of every scored item",
    "P1": "next sprint: worked from the bugs/ops share of capacity, not ranked",
    "P2": "backlog: worked from the bugs/ops share of capacity when there is room, not ranked",
}


@dataclass(frozen=True)
class ScoreResult:
    """What the scorer writes back for one row (RICE, Priority, Score Note) and what the planner reads.

    `rank` is the row's position in the whole backlog: filled by `score_backlog` for the report, never written.
    """

    page_id: str
    rice: float | None
    rank: int | None
    note: str
    icebox_suggested: bool
    suggested: dict[str, str] = field(default_factory=dict)  # input name -> suggested select value
    boosted: float | None = None  # the score after OKR / competitive-loss / churn boosts
    priority: float | None = None  # the sortable value written to Priority (None: not ranked)
    triage: str | None = None  # "P0"/"P1"/"P2" for bugs
    problems: tuple[str, ...] = ()  # invalid or missing inputs, one message each

    @property
    def rice_display(self) -> str | None:
        """RICE rounded to one decimal, as the seed shows it (the property keeps the exact value)."""
        return None if self.rice is None else fmt1(self.rice)


def is_closed(candidate: Candidate) -> bool:
    return (candidate.status or "").strip().casefold() in CLOSED_STATUSES


def is_bug(candidate: Candidate) -> bool:
    return (candidate.type or "").strip().casefold() == "bug"


def parse_severity(raw: str | None) -> str | None:
    """ "P0", "p1", "P2 – minor" -> the severity; anything else -> None."""
    text = (raw or "").strip().upper()
    return next((sev for sev in SEVERITIES if text == sev or (text.startswith(sev) and not text[2:3].isalnum())), None)


@dataclass
class _Row:
    """Working state for one candidate while the backlog is scored."""

    candidate: Candidate
    closed: bool = False
    merged: bool = False
    triage: str | None = None
    score: float | None = None
    priority: float | None = None  # the score after boosts
    fit: StrategyFit | None = None
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    suggested: dict[str, str] = field(default_factory=dict)
    icebox: bool = False

    @property
    def rankable(self) -> bool:
        if self.closed or self.merged:
            return False
        if self.triage is not None:
            return self.triage == "P0"
        return self.score is not None or self.candidate.strategic_override


def _input(
    row: _Row,
    name: str,
    raw: str | None,
    parse: Parsed | InputProblem | None,
    suggestion: Suggestion | None,
    allowed: str,
) -> tuple[float, str] | None:
    """One input as (value, note text), a suggestion when empty, or None with the problem recorded."""
    if raw is None or not raw.strip():
        if suggestion is not None:
            row.suggested[name] = suggestion.label
            return suggestion.value, f"{name} {suggestion.label} (suggested: {suggestion.reason})"
        row.problems.append(f"{name} is empty: set one of {allowed}")
        return None
    if isinstance(parse, InputProblem):
        row.problems.append(parse.message())
        return None
    assert parse is not None
    return parse.value, f"{name} {parse.label}"


def _meaning(text: str, value: float, meanings: dict[float, str]) -> str:
    meaning = meanings.get(value)
    return text if meaning is None or "suggested" in text else f"{text} ({meaning})"


def _score_rice(row: _Row, policy: Policy, reach_hint: Suggestion | None, conf_hint: Suggestion | None) -> None:
    scales = policy.scales
    c = row.candidate
    conf_allowed = allowed_values(scales.confidence)
    effort_allowed = f"{allowed_values(scales.effort)} or a number of person-weeks"
    # One row per input: (name, raw select, parsed, suggestion when empty, what the PM may choose).
    inputs: tuple[tuple[str, str | None, Parsed | InputProblem | None, Suggestion | None, str], ...] = (
        ("Reach", c.reach, parse_step("Reach", c.reach or "", scales.reach), reach_hint, allowed_values(scales.reach)),
        ("Impact", c.impact, parse_step("Impact", c.impact or "", scales.impact), None, allowed_values(scales.impact)),
        ("Confidence", c.confidence, parse_confidence(c.confidence or "", scales.confidence), conf_hint, conf_allowed),
        ("Effort", c.effort, parse_effort(c.effort or "", scales.effort), None, effort_allowed),
    )
    reach, impact, confidence, effort = (_input(row, *spec) for spec in inputs)
    if reach is None or impact is None or confidence is None or effort is None:
        return
    row.score = reach[0] * impact[0] * confidence[0] / effort[0]
    row.lines.append(
        f"RICE {fmt1(row.score)} = Reach {num(reach[0])} × Impact {num(impact[0])} × Confidence "
        f"{num(confidence[0] * 100)}% / Effort {num(effort[0])} pw."
    )
    effort_text = effort[1] if effort[1].endswith(" pw") else f"{effort[1]} = {num(effort[0])} pw"
    row.lines.append(
        "; ".join(
            (
                _meaning(reach[1], reach[0], REACH_MEANING),
                _meaning(impact[1], impact[0], IMPACT_MEANING),
                _meaning(confidence[1], confidence[0], CONFIDENCE_MEANING),
                effort_text,
            )
        )
        + "."
    )


def _score_ice(row: _Row, policy: Policy, conf_hint: Suggestion | None) -> None:
    scale = policy.scales.ice
    c = row.candidate
    allowed = allowed_values(scale)
    impact = _input(row, "Impact", c.impact, parse_ice("Impact", c.impact or "", scale), None, allowed)
    confidence = _input(
        row, "Confidence", c.confidence, parse_ice("Confidence", c.confidence or "", scale), conf_hint, allowed
    )
    effort = _input(row, "Effort", c.effort, parse_ice("Effort", c.effort or "", scale), None, allowed)
    if impact is None or confidence is None or effort is None:
        return
    row.score = impact[0] * confidence[0] / effort[0]
    row.lines.append(
        f"ICE {fmt1(row.score)} = Impact {num(impact[0])} × Confidence {num(confidence[0])} / Effort "
        f"{num(effort[0])} ({impact[1]}; {confidence[1]}; {effort[1]}; {allowed} = "
        f"{'/'.join(num(v) for v in scale.values())}). ICE orders the discussion; judgment makes the call."
    )


def _score_row(row: _Row, policy: Policy, children: dict[str, list[Candidate]]) -> None:
    """Merged rows point at their target, bugs are triaged, the rest get the framework's score and the strategy."""
    c = row.candidate
    if c.merged_into:
        row.merged = True
        row.lines.append("Merged: its evidence counts for the row in Merged Into; not scored on its own.")
        return
    row.closed = is_closed(c)
    if is_bug(c):
        _triage_bug(row)
        return
    _score_framework(row, policy, gather_evidence(c, children, policy))
    _apply_strategy(row, policy, children)
    if c.strategic_override:
        row.lines.append("Strategic Override: ranked above every item without one, regardless of score.")


def _triage_bug(row: _Row) -> None:
    c = row.candidate
    row.triage = parse_severity(c.severity)
    if row.triage is None:
        shown = f"Severity {c.severity.strip()!r} is not valid" if c.severity and c.severity.strip() else "Bug"
        row.problems.append(f"{shown}: set Severity (P0/P1/P2)")
        row.lines.append(f"{row.problems[-1]}. Bugs are triaged by severity, not RICE.")
    else:
        row.lines.append(f"{row.triage} bug: {_TRIAGE_MEANING[row.triage]}. Bugs are triaged, not RICE-scored.")


def _score_framework(row: _Row, policy: Policy, evidence: Evidence) -> None:
    """RICE or ICE, with suggestions for the inputs the PM left empty (marked, never written)."""
    c = row.candidate
    if policy.framework == "ice":
        conf_hint = suggest_ice_confidence(evidence, policy) if not (c.confidence or "").strip() else None
        _score_ice(row, policy, conf_hint)
    else:
        reach_hint = suggest_reach(evidence, policy) if not (c.reach or "").strip() else None
        conf_hint = suggest_confidence(evidence, policy) if not (c.confidence or "").strip() else None
        _score_rice(row, policy, reach_hint, conf_hint)
    if evidence.merged_rows:
        row.lines.append(f"Evidence includes {evidence.merged_rows} merged row(s).")
    label = policy.framework.upper()
    if row.problems:
        row.lines.insert(0, f"No {label}: " + "; ".join(row.problems) + ".")
    elif row.suggested:
        row.lines.append(
            f"{label} uses suggested {' and '.join(row.suggested)}: set {'it' if len(row.suggested) == 1 else 'them'} "
            "to confirm or correct (never written for you)."
        )


def _apply_strategy(row: _Row, policy: Policy, children: dict[str, list[Candidate]]) -> None:
    """OKR / competitive-loss / churn boosts turn the score into the priority; no signal and a low score: Icebox."""
    c = row.candidate
    label = policy.framework.upper()
    fit = strategic_fit(c, policy, children)
    row.fit = fit
    if fit.unknown_okrs:
        row.lines.append(
            f"OKR {', '.join(repr(o) for o in fit.unknown_okrs)} not in backlog.toml's OKRs "
            f"({', '.join(policy.strategy.okrs)}): ignored; fix the OKR or add it to [strategy.okrs]."
        )
    if row.score is None:
        return
    row.priority = row.score * fit.multiplier
    if fit.boosts:
        row.lines.append(f"Boosted {label} {fmt1(row.priority)} = {label} × {' × '.join(fit.boosts)}.")
    else:
        row.lines.append(f"Boosted {label} = {label} (no OKR, competitive-loss or churn-risk boost).")
    threshold = policy.strategy.icebox_threshold
    if not fit.has_signal and not c.strategic_override and not row.closed and row.score < threshold:
        row.icebox = True
        row.lines.append(
            f"Suggest Icebox: no OKR, competitive-loss or churn-risk signal and {label} {fmt1(row.score)} < "
            f"{num(threshold)}. Status is yours to change."
        )


def _tier(row: _Row) -> int | None:
    """The seed's order as a tier: P0 bugs, then overrides, then scored rows; None: the row gets no Priority."""
    if not row.rankable:
        return None
    if row.triage == "P0":
        return TIER_P0
    return TIER_OVERRIDE if row.candidate.strategic_override else TIER_SCORED


def _priority_line(parts: PriorityParts, label: str, *, scored: bool) -> str:
    """How this row's Priority number is made (its own numbers only: no rank, no neighbours)."""
    base = parts.tier * TIER_SIZE
    if parts.tier == TIER_P0:
        return f"Priority {parts.shown}: P0 bugs sort from {base} up, ahead of every scored item."
    what = "Strategic Override items" if parts.tier == TIER_OVERRIDE else "scored items"
    if not scored:
        return f"Priority {parts.shown}: {what} sort from {base} up; no {label} yet, so below every scored one."
    return (
        f"Priority {parts.shown}: {what} sort from {base} up, + boosted {label} {parts.cents / 100:.2f}; "
        "the digits after the cents break ties (the smaller boost, then the older First Seen first)."
    )


def _finish(row: _Row, policy: Policy) -> tuple[str, PriorityParts | None]:
    """The row's Priority and the last line of its note: both from this row alone."""
    tier = _tier(row)
    c = row.candidate
    label = policy.framework.upper()
    if tier is not None:
        boost = boost_digit(row.fit.multiplier, policy.strategy) if row.fit is not None and row.score is not None else 0
        parts = priority_parts(tier, row.priority, boost, c.first_seen, c.source_key or c.page_id)
        row.lines.append(_priority_line(parts, label, scored=row.score is not None))
        return _clip("\n".join(row.lines)), parts
    if row.closed:
        row.lines.append(f"Not ranked: Status is {(c.status or '').strip()}.")
    elif not row.merged and row.triage is None and row.problems:
        row.lines.append("Not ranked until the inputs above are fixed.")
    return _clip("\n".join(row.lines)), None


def _clip(note: str) -> str:
    return note if len(note) <= NOTE_LIMIT else note[: NOTE_LIMIT - 1].rstrip() + "…"


def score_rows(candidates: Sequence[Candidate], policy: Policy) -> dict[str, ScoreResult]:
    """Every row's RICE, Priority and Score Note; each depends on that row and the rows merged into it only.

    Pass ALL rows so merged evidence counts for its target. `rank` is left empty: see `score_backlog`.
    """
    children = merged_children(candidates)
    results: dict[str, ScoreResult] = {}
    for candidate in sorted(candidates, key=lambda c: c.page_id):
        row = _Row(candidate=candidate)
        _score_row(row, policy, children)
        note, parts = _finish(row, policy)
        results[candidate.page_id] = ScoreResult(
            page_id=candidate.page_id,
            rice=row.score,
            rank=None,
            note=note,
            icebox_suggested=row.icebox,
            suggested=dict(sorted(row.suggested.items())),
            boosted=row.priority,
            priority=None if parts is None else parts.value,
            triage=row.triage,
            problems=tuple(row.problems),
        )
    return results


def ranking(results: Mapping[str, ScoreResult]) -> list[ScoreResult]:
    """The scorer's order: Priority descending (page id only for two rows whose Priority is identical)."""
    ranked = [result for result in results.values() if result.priority is not None]
    return sorted(ranked, key=lambda result: (-(result.priority or 0.0), result.page_id))


def score_backlog(candidates: Sequence[Candidate], policy: Policy) -> dict[str, ScoreResult]:
    """`score_rows` plus each row's rank in memory, for the report (ranks are never written to a row)."""
    results = score_rows(candidates, policy)
    for position, result in enumerate(ranking(results), start=1):
        results[result.page_id] = replace(result, rank=position)
    return results


__all__ = [
    "CLOSED_STATUSES",
    "ScoreResult",
    "is_bug",
    "is_closed",
    "parse_severity",
    "ranking",
    "round1",
    "score_backlog",
    "score_rows",
]
