"""Notion calls counted by endpoint: every attempt, retries included (the run's cost, shown after each command),
and the blocks the run created (pages, rows and appended blocks), which a capped Free workspace runs out of.

Blocks per developers.notion.com/reference/workspace-block-limits: every page (a row is a page), database and
appended block is one block; data sources are not; the count is lifetime, so deleting gives nothing back.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

BUDGET_WARN_SHARE = 0.8  # `backlog doctor` warns when this share of NOTION_BLOCK_BUDGET is used


def blocks_in(blocks: Sequence[Mapping[str, Any]]) -> int:
    """How many blocks a create/append of `blocks` makes: each block and, recursively, its nested children."""
    total = 0
    for block in blocks:
        payload = block.get(str(block.get("type", ""))) or {}
        children = payload.get("children") if isinstance(payload, Mapping) else None
        total += 1 + (blocks_in(children) if isinstance(children, list) else 0)
    return total


def budget_warning(used: int, budget: int | None) -> str | None:
    """The warning for `used` blocks against NOTION_BLOCK_BUDGET (None when unset or below 80 %)."""
    if budget is None or used < BUDGET_WARN_SHARE * budget:
        return None
    return (
        f"{used} of NOTION_BLOCK_BUDGET={budget} blocks used ({used * 100 // budget} %): once a capped workspace "
        "is out of blocks, new rows and sprint pages fail (updates keep working); upgrade the plan, use a "
        "single-member workspace or a personal access token, or raise NOTION_BLOCK_BUDGET if the plan allows"
    )


class CallCounter:
    """Notion calls (every attempt, retries included) by endpoint label; thread-safe. Calls are the run's cost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._reads = 0
        self._writes = 0
        self._blocks = 0

    def count_blocks(self, count: int) -> None:
        """Record `count` blocks created (a page or row is 1, plus each appended block); called after success."""
        if count < 0:
            raise ValueError("a block count cannot be negative")
        with self._lock:
            self._blocks += count

    @property
    def blocks_created(self) -> int:
        """Blocks this gateway created (pages, rows, databases, appended blocks)."""
        return self._blocks

    def add(self, endpoint: str, *, write: bool) -> None:
        with self._lock:
            self._counts[endpoint] += 1
            if write:
                self._writes += 1
            else:
                self._reads += 1

    @property
    def total(self) -> int:
        return self._reads + self._writes

    @property
    def reads(self) -> int:
        return self._reads

    @property
    def writes(self) -> int:
        return self._writes

    def by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def snapshot(self) -> CallCounter:
        """A frozen copy, to diff against later with `since`."""
        copy = CallCounter()
        with self._lock:
            copy._counts = Counter(self._counts)
            copy._reads, copy._writes, copy._blocks = self._reads, self._writes, self._blocks
        return copy

    def since(self, earlier: CallCounter) -> dict[str, int]:
        """Calls per endpoint made after `earlier` was taken (endpoints with none left out)."""
        before = earlier.by_endpoint()
        return {
            name: count - before.get(name, 0)
            for name, count in self.by_endpoint().items()
            if count > before.get(name, 0)
        }

    def __repr__(self) -> str:
        return (
            f"CallCounter(total={self.total}, reads={self.reads}, writes={self.writes}, "
            f"blocks_created={self.blocks_created})"
        )


__all__ = ["BUDGET_WARN_SHARE", "CallCounter", "blocks_in", "budget_warning"]
