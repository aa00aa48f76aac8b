"""Possible Duplicate suggestions for new rows: the closest existing title above a threshold (rapidfuzz).

It never merges: it only links, and the PM confirms by setting Merged Into. Kept apart from sync so the matching
rule (how similar, how many words at least) reads and is tested on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process, utils

from service.notion import Row, RowWrite

MIN_WORDS = 3  # "Bug" or "Latency" alone would match half the backlog


class DuplicateFinder:
    """The titles known so far (existing rows, then each row this sync creates) and the best match for a new one."""

    def __init__(self, rows: Sequence[Row], threshold: float) -> None:
        self.threshold = threshold
        self._titles: list[str] = []
        self._ids: list[str] = []
        for row in rows:
            self.add(row.page_id, str(row.values.get("Name") or ""))

    def add(self, page_id: str, title: str) -> None:
        if title.strip():
            self._titles.append(title)
            self._ids.append(page_id)

    def best(self, title: str) -> str | None:
        """The page id of the closest title at or above the threshold, or None."""
        if not title.strip() or not self._titles:
            return None
        if len(utils.default_process(title).split()) < MIN_WORDS:
            return None
        match = process.extractOne(
            title,
            self._titles,
            scorer=fuzz.token_set_ratio,
            processor=utils.default_process,
            score_cutoff=self.threshold,
        )
        return self._ids[match[2]] if match else None


def with_possible_duplicate(write: RowWrite, duplicate: str | None) -> RowWrite:
    """`write` linking `duplicate` on create (the PM owns the link afterwards), or `write` itself."""
    if not duplicate:
        return write
    return RowWrite(write.source_key, write.properties, {**write.create_only, "Possible Duplicate": (duplicate,)})
