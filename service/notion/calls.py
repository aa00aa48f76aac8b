"""Notion calls counted by endpoint: every attempt, retries included (the run's cost, shown after each command)."""

from __future__ import annotations

import threading
from collections import Counter


class CallCounter:
    """Notion calls (every attempt, retries included) by endpoint label; thread-safe. Calls are the run's cost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._reads = 0
        self._writes = 0

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
            copy._reads, copy._writes = self._reads, self._writes
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
        return f"CallCounter(total={self.total}, reads={self.reads}, writes={self.writes})"


__all__ = ["CallCounter"]
