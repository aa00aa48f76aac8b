"""Possible Duplicate suggestions for new rows: the lexical title pass first (cheap, certain on near-identical
titles), then meaning (title + excerpt, offline embeddings, scoring/neighbours.py).

It never merges: it only links, and the PM confirms by setting Merged Into. Candidates come from indexes (rare
title words, embedding top-k), so a sync of many new rows does not compare each against every earlier title.
The model loads once per process, lazily, only when the lexical pass found nothing and there are rows to compare
with; if it cannot load, matching stays lexical and the log says so once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.neighbours import STREAM_CONFIG, Match, NeighbourIndex, title_words
from scoring.similarity import MatchConfig, content_terms, duplicate_links
from service.embedding import DIM, Embedder, EmbeddingUnavailableError, feedback_text
from service.logging import get_logger
from service.notion import Row, RowWrite

log = get_logger(__name__)

MIN_WORDS = 3  # "Bug" or "Latency" alone would match half the backlog
Vector = npt.NDArray[np.float32]
NOTE_PROPERTY = "Duplicate Note"  # rich_text, written at create with the link (schema: see docs/intelligence.md)


@functools.cache
def shared_embedder() -> Embedder | None:
    """The process's one model, or None (said once) when it cannot load: duplicates stay lexical."""
    try:
        return Embedder.load()
    except EmbeddingUnavailableError as exc:
        log.warning("dedupe.lexical_only", reason=str(exc))
        return None


@dataclass(frozen=True)
class DuplicateMatch:
    """The row a new one probably repeats and the reason, for the Duplicate Note."""

    page_id: str
    note: str
    by_title: bool


class DuplicateFinder:
    """The rows known so far (existing rows, then each row this sync creates) and the best match for a new one."""

    def __init__(
        self,
        rows: Sequence[Row],
        threshold: float,
        *,
        config: MatchConfig = STREAM_CONFIG,
        embedder: Callable[[], Embedder | None] = shared_embedder,
        dim: int = DIM,
    ) -> None:
        self.threshold = threshold
        self.index = NeighbourIndex(dim, config, threshold)
        self._embedder = embedder
        self._ids: list[str] = []
        self._pending: list[str] = []  # texts of indexed rows whose vectors wait for the model
        self._last: tuple[str, object] | None = None  # the last query's text and vector, reused by `add`
        self._expected: list[str] = []  # texts of rows about to come (`expect`), embedded with the next batch
        self._ahead: dict[str, Vector] = {}  # their vectors, until their row is queried or indexed
        for row in rows:
            self.add(row.page_id, str(row.values.get("Name") or ""), str(row.values.get("Excerpt") or ""))

    def add(self, page_id: str, title: str, excerpt: str = "") -> None:
        if not title.strip():
            return
        self._ids.append(page_id)
        self.index.add_title(title)
        text = feedback_text(title, excerpt)
        if self._last is not None and self._last[0] == text and not self._pending:
            self.index.add(self._last[1], content_terms(text))  # type: ignore[arg-type]
        else:
            self._pending.append(text)

    def reserve(self, new_rows: int) -> None:
        """Room in the index for `new_rows` more rows than it knows (sync creates them one by one)."""
        self.index.reserve(len(self._ids) + new_rows)

    def expect(self, rows: Iterable[tuple[str, str]]) -> None:
        """The (title, excerpt) of rows about to be matched and added, in order: the next time the model runs, it
        embeds them too (one run for many rows instead of one per row; a text's vector is the same either way)."""
        self._expected.extend(feedback_text(title, excerpt) for title, excerpt in rows if title.strip())

    def _vectors(self, embedder: Embedder, texts: Sequence[str]) -> list[Vector]:
        """The vectors of `texts`: embedded ahead, or now together with every expected text."""
        missing = [text for text in dict.fromkeys(texts) if text not in self._ahead]
        if missing:
            batch = list(dict.fromkeys([*missing, *self._expected]))
            self._expected = []
            self._ahead.update(zip(batch, embedder.embed(batch), strict=True))
        vectors = [self._ahead[text] for text in texts]
        for text in texts:
            self._ahead.pop(text, None)
        return vectors

    def best(self, title: str, excerpt: str = "") -> str | None:
        """The page id of the closest earlier row (by title, then by meaning), or None."""
        found = self.match(title, excerpt)
        return found.page_id if found else None

    def match(self, title: str, excerpt: str = "") -> DuplicateMatch | None:
        """The closest earlier row and why, or None: never for a title too short to mean anything."""
        self._last = None
        if not self._ids or len(title_words(title)) < MIN_WORDS:
            return None
        found = self.index.lexical_match(title) or self._semantic(feedback_text(title, excerpt))
        return DuplicateMatch(self._ids[found.index], found.note, found.by_title) if found else None

    def _semantic(self, text: str) -> Match | None:
        embedder = self._embedder()
        if embedder is None:
            return None
        if self._pending:
            vectors, terms = self._vectors(embedder, self._pending), [content_terms(t) for t in self._pending]
            if len(self.index) == 0:
                self.index.extend(np.array(vectors), terms)  # the backlog, in one batch
            else:
                for vector, row_terms in zip(vectors, terms, strict=True):
                    self.index.add(vector, row_terms)  # rows the lexical pass linked meanwhile
            self._pending = []
        vector = self._vectors(embedder, [text])[0]
        self._last = (text, vector)
        found, _unit = self.index.semantic_match(vector, content_terms(text))
        return found


def link_backlog(
    rows: Sequence[tuple[str, str, str]], embedder: Callable[[], Embedder | None] = shared_embedder
) -> dict[str, list[DuplicateMatch]]:
    """The grooming pass over a whole backlog of (page id, title, excerpt), oldest first: each later row's best
    earlier duplicates by the batch matcher, which sees every row's neighbourhood (create-time links see only the
    rows before them). Empty when the model cannot load."""
    model = embedder()
    if model is None or len(rows) < 2:
        return {}
    texts = [feedback_text(title, excerpt) for _, title, excerpt in rows]
    links = duplicate_links([title for _, title, _ in rows], model.embed(texts), [content_terms(t) for t in texts])
    found: dict[str, list[DuplicateMatch]] = {}
    for link in sorted(links, key=lambda link: (not link.by_title, -link.score)):
        found.setdefault(rows[link.b][0], []).append(DuplicateMatch(rows[link.a][0], link.note, link.by_title))
    return found


def with_possible_duplicate(write: RowWrite, duplicate: str | DuplicateMatch | None) -> RowWrite:
    """`write` linking `duplicate` on create (the PM owns the link afterwards), or `write` itself. Given a
    DuplicateMatch, the reason goes into the Duplicate Note too (only once the schema has that property)."""
    if not duplicate:
        return write
    if isinstance(duplicate, str):
        return RowWrite(write.source_key, write.properties, {**write.create_only, "Possible Duplicate": (duplicate,)})
    extra = {"Possible Duplicate": (duplicate.page_id,), NOTE_PROPERTY: duplicate.note}
    return RowWrite(write.source_key, write.properties, {**write.create_only, **extra})
