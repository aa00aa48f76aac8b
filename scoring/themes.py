"""Themes: candidates grouped by meaning, named by the words they share, and stable across runs.

Pure and deterministic. Grouping is threshold clustering over the mutual-neighbour graph (two items join when
each is among the other's k nearest and their cosine clears a floor): mutual neighbours stop the chaining that
makes one giant theme of single linkage. Stability is the PM's: a theme that keeps most of its members keeps its
id and name, a rename is the name from then on, a moved item stays where the PM put it, and an item the
clustering no longer places stays in its previous theme rather than falling out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy.typing as npt

from scoring.similarity import nearest, unit_rows


@dataclass(frozen=True)
class ThemeItem:
    """What a theme needs of one candidate: its words and the evidence shown next to the theme."""

    id: str
    terms: frozenset[str]
    customer: str = ""
    segment: str = ""
    source: str = ""
    votes: float = 0.0
    first_seen: datetime | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class PreviousThemes:
    """Last run's assignment as the PM left it: members and names per theme id (a rename is simply the name
    found there), and the items the PM moved by hand (item id -> theme id)."""

    members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    moved: Mapping[str, str] = field(default_factory=dict)


def _root(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def group_by_meaning(
    vectors: npt.ArrayLike, *, neighbours: int = 3, min_cosine: float = 0.45, min_size: int = 2
) -> list[list[int]]:
    """Groups of item indexes (each sorted, groups by first member); items in no group are left out. Defaults
    from bench/dedupe_eval.py: 3 mutual neighbours at cosine >= 0.45 give themes 93 % pure on the eval set."""
    unit = unit_rows(vectors)
    n = len(unit)
    cols, sims = nearest(unit, neighbours)
    near = [set(map(int, row)) for row in cols]
    parent = list(range(n))
    for i in range(n):
        for j, cos in zip(cols[i], sims[i], strict=True):
            if cos >= min_cosine and i in near[int(j)]:
                parent[_root(parent, i)] = _root(parent, int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(_root(parent, i), []).append(i)
    return sorted((g for g in groups.values() if len(g) >= min_size), key=lambda g: g[0])


def document_frequency(items: Iterable[ThemeItem]) -> tuple[Counter[str], int]:
    """How many items hold each term, and how many items: counted once for all of a run's theme names."""
    df: Counter[str] = Counter()
    total = 0
    for item in items:
        df.update(item.terms)
        total += 1
    return df, total


def theme_name(
    members: Iterable[ThemeItem],
    all_items: Sequence[ThemeItem] = (),
    count: int = 3,
    *,
    frequency: tuple[Counter[str], int] | None = None,
) -> str:
    """The words most members share, rarer words first among equals: "barge-in / interrupt / playback".
    `frequency`: `document_frequency(all_items)`, when many themes of one run are named (linear, not themes x N)."""
    members = list(members)
    df, total = frequency or document_frequency(all_items or members)
    total = max(total, 1)
    shared = Counter(t for item in members for t in item.terms)
    floor = 2 if len(members) > 1 else 1

    def weight(term: str) -> float:
        return shared[term] * math.log((1 + total) / (1 + df[term]) + 1.0)

    picked = sorted((t for t, c in shared.items() if c >= floor), key=lambda t: (-weight(t), t))[:count]
    return " / ".join(picked) or "(unnamed)"


def _new_id(members: Sequence[str]) -> str:
    """Deterministic and unique (an item is in one theme): named after its first member."""
    return "theme-" + min(members)


def _match_previous(groups: list[set[str]], previous: PreviousThemes) -> dict[int, str]:
    """Group index -> previous theme id, greedily by overlap (largest first), each theme id used once."""
    overlaps = sorted(
        (
            (len(group & members), theme_id, g)
            for g, group in enumerate(groups)
            for theme_id, members in previous.members.items()
        ),
        key=lambda o: (-o[0], o[1], o[2]),
    )
    matched: dict[int, str] = {}
    used: set[str] = set()
    for overlap, theme_id, g in overlaps:
        if overlap and g not in matched and theme_id not in used:
            matched[g] = theme_id
            used.add(theme_id)
    return matched


def assign_themes(
    groups: Sequence[Sequence[str]], items: Sequence[ThemeItem], previous: PreviousThemes = PreviousThemes()
) -> list[Theme]:
    """This run's themes from the computed groups (item ids) and last run's assignment, stable as described above."""
    moved = dict(previous.moved)
    computed = [{i for i in group if i not in moved} for group in groups]
    matched = _match_previous(computed, previous)
    members: dict[str, set[str]] = {}
    for g, group in enumerate(computed):
        if group:
            members.setdefault(matched.get(g) or _new_id(sorted(group)), set()).update(group)
    placed = {i for group in members.values() for i in group}
    for theme_id, old in previous.members.items():
        stay = {i for i in old if i not in placed and i not in moved}
        if stay:
            members.setdefault(theme_id, set()).update(stay)
    for item_id, theme_id in moved.items():
        members.setdefault(theme_id, set()).add(item_id)
    by_id = {item.id: item for item in items}
    frequency = document_frequency(items)
    themes = []
    for theme_id, ids in members.items():
        known = sorted(i for i in ids if i in by_id)
        if not known:
            continue
        name = previous.names.get(theme_id) or theme_name([by_id[i] for i in known], items, frequency=frequency)
        themes.append(Theme(theme_id, name, tuple(known)))
    return sorted(themes, key=lambda t: (-len(t.members), t.id))


@dataclass(frozen=True)
class ThemeStats:
    """The evidence shown next to a theme (context for the PM, never counted into a score)."""

    members: int
    customers: int
    segments: tuple[str, ...]
    sources: tuple[str, ...]
    votes: float
    first_seen: datetime | None
    last_seen: datetime | None


def theme_stats(theme: Theme, items: Sequence[ThemeItem]) -> ThemeStats:
    by_id = {item.id: item for item in items}
    rows = [by_id[i] for i in theme.members if i in by_id]
    firsts = [r.first_seen for r in rows if r.first_seen]
    lasts = [r.last_seen or r.first_seen for r in rows if r.last_seen or r.first_seen]
    return ThemeStats(
        members=len(rows),
        customers=len({r.customer for r in rows if r.customer}),
        segments=tuple(sorted({r.segment for r in rows if r.segment})),
        sources=tuple(sorted({r.source for r in rows if r.source})),
        votes=sum(r.votes for r in rows),
        first_seen=min(firsts) if firsts else None,
        last_seen=max(d for d in lasts if d) if lasts else None,
    )
