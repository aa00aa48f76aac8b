"""Changed since the last grooming: this report's state against the one the previous sprint page recorded.

Pure. The sprint page keeps a compact snapshot (the top of the ranking with its scores and inputs, the blocked
rows, the zombies, the theme names), and the next report reads it back and compares: new items, scores that
moved and why, newly blocked or unblocked, new themes, new zombies. Nothing is stored on the backlog rows.
What a page records is bounded (`recorded`): a list longer than STATE_IDS is cut and marked so, and the next
report then claims no "newly" line of that kind (it cannot tell new from unrecorded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from scoring.models import Candidate
from scoring.planner import SprintPlan, is_blocked
from scoring.scales import fmt1
from scoring.score import ScoreResult
from scoring.summary import shown

SNAPSHOT_ITEMS = 60  # the top of the ranking whose scores are compared (what a PM reads on the page)
STATE_IDS = 100  # the most blocked rows, zombies and theme names a page records: its state block stays small
CHANGE_LINES = 8  # the most "changed since" lines a page shows; the rest is one "…and M more" line
LISTS = ("blocked", "zombies", "themes")
FIRST_GROOMING = "First grooming: nothing to compare."
INPUTS = ("Reach", "Impact", "Confidence", "Effort")


@dataclass(frozen=True)
class Snapshot:
    """What one sprint page records: per ranked item its RICE, boosted score and inputs; who was blocked, who was
    a zombie, which themes existed."""

    sprint: int
    start: date
    scores: Mapping[str, tuple[float | None, float | None, tuple[str, ...]]] = field(default_factory=dict)
    blocked: frozenset[str] = frozenset()
    zombies: frozenset[str] = frozenset()
    themes: frozenset[str] = frozenset()
    cut: frozenset[str] = frozenset()  # which of LISTS were recorded incompletely (longer than STATE_IDS)


def recorded(snapshot: Snapshot) -> Snapshot:
    """What a page records of `snapshot`: each list cut to its first STATE_IDS (sorted) and marked when cut."""
    lists = {name: sorted(getattr(snapshot, name)) for name in LISTS}
    cut = {name for name, values in lists.items() if len(values) > STATE_IDS} | set(snapshot.cut)
    return Snapshot(
        sprint=snapshot.sprint,
        start=snapshot.start,
        scores=snapshot.scores,
        blocked=frozenset(lists["blocked"][:STATE_IDS]),
        zombies=frozenset(lists["zombies"][:STATE_IDS]),
        themes=frozenset(lists["themes"][:STATE_IDS]),
        cut=frozenset(cut),
    )


def _newly(before: Snapshot, now: Snapshot, name: str) -> list[str]:
    """Ids in `now`'s list `name` that `before`'s lacks; none when `before` recorded that list incompletely."""
    if name in before.cut:
        return []
    return sorted(getattr(now, name) - getattr(before, name))


def _inputs(c: Candidate) -> tuple[str, ...]:
    return tuple((v or "").strip() for v in (c.reach, c.impact, c.confidence, c.effort))


def take_snapshot(
    plan: SprintPlan,
    candidates: Sequence[Candidate],
    scores: Mapping[str, ScoreResult],
    themes: Sequence[str] = (),
) -> Snapshot:
    by_id = {c.page_id: c for c in candidates}
    ranked = sorted((r for r in scores.values() if r.rank is not None), key=lambda r: r.rank or 0)[:SNAPSHOT_ITEMS]
    return Snapshot(
        sprint=plan.sprint,
        start=plan.start,
        scores={r.page_id: (r.rice, r.boosted, _inputs(by_id[r.page_id])) for r in ranked if r.page_id in by_id},
        blocked=frozenset(c.page_id for c in candidates if is_blocked(c) and scores.get(c.page_id) is not None),
        zombies=frozenset(z.candidate.page_id for z in plan.zombies),
        themes=frozenset(themes),
    )


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _why(
    before: tuple[float | None, float | None, tuple[str, ...]], now: tuple[float | None, float | None, tuple[str, ...]]
) -> str:
    moved = [f"{name} {a or '—'} → {b or '—'}" for name, a, b in zip(INPUTS, before[2], now[2], strict=False) if a != b]
    if moved:
        return ", ".join(moved)
    return "boost changed (OKR, override or signals)" if rounded(before[0]) == rounded(now[0]) else "merged evidence"


def _score_lines(before: Snapshot, now: Snapshot, names: Mapping[str, str]) -> list[str]:
    lines = []
    for page_id, score in now.scores.items():
        old = before.scores.get(page_id)
        if old is None or rounded(old[1]) == rounded(score[1]):
            continue
        was, is_ = old[1], score[1]
        shown = f"{fmt1(was) if was is not None else '—'} → {fmt1(is_) if is_ is not None else '—'}"
        lines.append(f"Score moved: {names.get(page_id, page_id)} {shown} ({_why(old, score)}).")
    return lines


def compare(before: Snapshot | None, now: Snapshot, candidates: Sequence[Candidate]) -> list[str]:
    """What changed since the previous page, one line each; the first grooming says there is nothing to compare."""
    if before is None:
        return [FIRST_GROOMING]
    names = {c.page_id: c.name for c in candidates}
    new = [
        c.name
        for c in candidates
        if (c.added or c.first_seen or before.start) >= before.start
        and c.page_id in now.scores
        and c.page_id not in before.scores
    ]
    lines = [f"New item: {name}." for name in new]
    lines += _score_lines(before, now, names)
    lines += [f"Newly blocked: {names.get(i, i)}." for i in _newly(before, now, "blocked")]
    lines += [f"Unblocked: {names.get(i, i)}." for i in sorted(before.blocked - now.blocked)]
    lines += [f"New theme: {name}." for name in _newly(before, now, "themes")]
    lines += [f"Became a zombie: {names.get(i, i)}." for i in _newly(before, now, "zombies")]
    if not lines:
        return [f"Nothing changed since sprint {before.sprint}'s grooming."]
    return list(shown(lines, f"…and {{n}} more changes since sprint {before.sprint}'s grooming.", CHANGE_LINES))


__all__ = [
    "CHANGE_LINES",
    "FIRST_GROOMING",
    "STATE_IDS",
    "Snapshot",
    "compare",
    "recorded",
    "rounded",
    "take_snapshot",
]
