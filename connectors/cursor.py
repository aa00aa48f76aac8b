"""The incremental window: which items a read yields, decided once, in the base read loop.

`start` is a CLOSED start: an item updated exactly at it is yielded again (sync's upsert dedupes at the
boundary), so a page boundary or a clock tick can never lose an item. `lag` widens the start for sources whose
"updated" field trails the truth. A naive start is taken as UTC, so comparing it with aware times cannot raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Window:
    start: datetime | None = None
    lag: timedelta = timedelta(0)

    @classmethod
    def since(cls, since: datetime | None, lag: timedelta = timedelta(0)) -> Window:
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return cls(since, lag)

    @property
    def first(self) -> datetime | None:
        """The earliest time the window admits (start minus lag); None reads everything."""
        return self.start - self.lag if self.start is not None else None

    def admits(self, when: datetime) -> bool:
        first = self.first
        return first is None or when >= first


__all__ = ["Window"]
