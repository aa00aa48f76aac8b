"""Optional emulations of Notion's plan limits and consistency lag, so code paths that only a real workspace
would hit can be tested locally. Both are off by default.

Block cap, per developers.notion.com/reference/workspace-block-limits (verified, read 2026-12-02): every page,
database and appended block is one block; data sources are not; the count is lifetime (deleting restores
nothing); the write that first reaches the limit succeeds and starts a grace period, after which every write
that would create blocks fails with HTTP 403 `restricted_resource`, `additional_data.block_limit =
"block_creation"` and the documented message; reads, edits and deletes keep working. The grace period here is
configurable (Notion's is three days) and defaults to none, so a test sees the failure on the next create.
The cap applies to Free workspaces with more than one member, so a capped sandbox lists a second person; the
bot's `workspace_limits` (5 MiB uploads, the Free plan's limit per a summary of Notion's file-upload page, not
read first-hand) are the same either way.

Query lag (assumed, not documented as a number): Notion's data source query reads an index that trails writes
by a moment, so a page created a second ago can be missing from a query that retrieve already answers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from service.sandbox.model import ApiError, iso_now, parse_time
from service.sandbox.store import Store

BLOCK_LIMIT_MESSAGE = (
    "This workspace has used all of its free blocks. Upgrade its plan in Notion to create more content. "
    "Learn more: https://www.notion.com/help/understanding-block-usage"
)


def block_limit_error() -> ApiError:
    """The documented answer to a block-creating write once the workspace is over its limit."""
    return ApiError(403, "restricted_resource", BLOCK_LIMIT_MESSAGE, additional_data={"block_limit": "block_creation"})


class BlockBudget:
    """Lifetime count of created blocks (kept in the file's meta) and, when `limit` is set, the cap."""

    def __init__(
        self, store: Store, now: Callable[[], datetime], limit: int | None = None, grace_s: float = 0.0
    ) -> None:
        self._store = store
        self._now = now
        self.limit = limit
        self.grace = timedelta(seconds=grace_s)

    @property
    def created(self) -> int:
        """Blocks created through the API since the file was made."""
        return int(self._store.meta("blocks_created") or 0)

    def admit(self) -> None:
        """Raise the block-limit error if a write that creates blocks may not run now."""
        if self.limit is None or self.created < self.limit:
            return
        reached = self._store.meta("block_limit_reached_at")
        if reached is None or parse_time(reached, "meta") + self.grace <= self._now():
            raise block_limit_error()

    def spend(self, count: int) -> None:
        """Count `count` new blocks; the write that reaches the limit starts the grace period."""
        total = self.created + count
        self._store.set_meta("blocks_created", str(total))
        if self.limit is not None and total >= self.limit and self._store.meta("block_limit_reached_at") is None:
            self._store.set_meta("block_limit_reached_at", iso_now(self._now()))


def indexed(created_time: str, now: datetime, lag_s: float) -> bool:
    """True when a page created at `created_time` is already visible to data source queries."""
    return lag_s <= 0 or parse_time(created_time, "created_time") <= now - timedelta(seconds=lag_s)
