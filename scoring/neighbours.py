"""An incremental duplicate index: rows arrive one by one (a sync creates them in turn) and each new one is matched
against the rows before it, by a bounded number of candidates.

Pure (numpy + rapidfuzz). Candidates come from two indexes, never from a scan of every title in Python:
a token inverted index for the lexical pass (titles sharing a rare word) and the embedding top-k for meaning
(one matrix-vector product per query, done by BLAS). Only those candidates are scored — token-set ratio, TF-IDF
cosine, CSLS margin — so the scored comparisons grow with k per row, not with the size of the backlog.
The margin follows `similarity.find_links`: a pair links when it stands out from both items' usual neighbours;
a row's usual similarity is computed when it first becomes a candidate, so the backlog is never compared pairwise.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, utils

from scoring.similarity import STOPWORDS, Indices, MatchConfig, Matrix, content_terms

MIN_WORDS = 3  # "Bug" or "Latency" alone would match half the backlog
LEXICAL_CANDIDATES = 20  # titles sharing the most rare words, scored by token-set ratio
COMMON_SHARE = 0.05  # a word in more than this share of titles (and > 50 of them) is not indexed for lookup
# Create-time links see only the rows before them (the batch matcher sees the whole backlog): precision first,
# and no link by meaning until the index is large enough to tell an item's usual neighbours (min_semantic).
STREAM_CONFIG = MatchConfig(margin=0.10, min_cosine=0.40)
REBUILD_GROWTH = 2.0  # re-centre and refresh neighbourhoods when the index doubled since the last build
BLOCK = 512  # index rows per matrix-vector product (see `_dot`)


@dataclass(frozen=True)
class Match:
    """The earlier row a new one probably repeats, and why (what the PM reads in the Duplicate Note)."""

    index: int
    score: float
    cosine: float | None
    shared: tuple[str, ...]
    by_title: bool

    @property
    def note(self) -> str:
        if self.by_title:
            head = f"titles share their words ({self.score:.0%})"
        else:
            head = f"similar by meaning {self.cosine or 0.0:.2f} (margin {self.score:+.2f})"
        return f"{head}; shared ask: {', '.join(self.shared)}" if self.shared else f"{head}; reworded ask"


@dataclass(frozen=True)
class _Probe:
    """One vector's products with the index as it was (`rows` rows, centring `epoch`): what `add` needs too."""

    vector: object
    terms: frozenset[str]
    rows: int
    epoch: int
    unit: Matrix
    sims: Matrix
    cols: Indices
    lex: npt.NDArray[np.float32]


def title_words(title: str) -> list[str]:
    return utils.default_process(title).split()


@dataclass
class _Lexical:
    """Titles and their inverted index (word -> row indexes)."""

    titles: list[str] = field(default_factory=list)
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def add(self, title: str) -> None:
        index = len(self.titles)
        self.titles.append(title)
        for word in set(title_words(title)) - STOPWORDS:
            self.postings[word].append(index)

    def candidates(self, title: str) -> list[int]:
        """The earlier titles sharing the most uncommon words with `title`, at most LEXICAL_CANDIDATES."""
        common = max(50, COMMON_SHARE * len(self.titles))
        weights: dict[int, float] = defaultdict(float)
        for word in set(title_words(title)) - STOPWORDS:
            posting = self.postings.get(word, [])
            if 0 < len(posting) <= common:
                weight = 1.0 / math.log(2 + len(posting))
                for index in posting:
                    weights[index] += weight
        return sorted(weights, key=lambda index: (-weights[index], index))[:LEXICAL_CANDIDATES]


def _dot(matrix: Matrix, vector: Matrix) -> Matrix:
    """`matrix @ vector` by blocks of BLOCK rows, each on the calling thread: OpenBLAS hands a product of a few
    thousand rows to its threads, 5-50x slower on a busy 2-core host, and its threads' sums differ in the last bit
    from one thread's (so results depended on the thread count; here they do not)."""
    out = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), BLOCK):
        np.matmul(matrix[start : start + BLOCK], vector, out=out[start : start + BLOCK])
    return out


def _top_m(values: npt.NDArray[np.float32], m: int) -> float:
    if not len(values):
        return 0.0
    return float(np.sort(values)[-m:].mean())


class NeighbourIndex:
    """Vectors, terms and titles of the rows seen so far; `query` a new one, then `add` it."""

    def __init__(
        self, dim: int, config: MatchConfig = STREAM_CONFIG, threshold: float = 80.0, min_semantic: int = 20
    ) -> None:
        self.config, self.threshold, self.min_semantic = config, threshold, min_semantic
        self.comparisons = 0  # candidate pairs scored (the cost a test keeps linear)
        self._lexical = _Lexical()
        self._raw = np.zeros((0, dim), dtype=np.float32)
        self._terms: list[frozenset[str]] = []
        self._df: Counter[str] = Counter()
        self._weights: dict[str, float] = {}  # term -> squared idf at the current size
        self._mean = np.zeros(dim, dtype=np.float32)
        self._unit = np.zeros((0, dim), dtype=np.float32)
        self._own_cos = np.zeros((0, config.neighbourhood), dtype=np.float32)
        self._own_lex = np.zeros((0, config.neighbourhood), dtype=np.float32)
        self._known = np.zeros(0, dtype=bool)  # rows whose usual similarity is up to date
        self._built = 0
        self._epoch = 0  # moves on every rebuild (the centring changes): a kept probe is then stale
        self._probe: _Probe | None = None

    def __len__(self) -> int:
        """Rows with a vector (the lexical index may be ahead while vectors wait for the model)."""
        return len(self._terms)

    def idf(self, term: str) -> float:
        n = len(self._terms)
        return math.log((1 + n) / (1 + self._df.get(term, 0))) + 1.0

    def _weight(self, term: str) -> float:
        """Squared idf, remembered until the next row is indexed (a query scores one term set against k others)."""
        weight = self._weights.get(term)
        if weight is None:
            weight = self._weights[term] = self.idf(term) ** 2
        return weight

    def lexical_cosine(self, a: frozenset[str], b: frozenset[str]) -> float:
        """TF-IDF cosine of two term sets (binary term frequency)."""
        common = a & b
        if not common:
            return 0.0
        w = self._weight
        return sum(w(t) for t in common) / math.sqrt(sum(w(t) for t in a) * sum(w(t) for t in b))

    def _append(self, raw: Matrix, unit: Matrix, own_cos: Matrix, own_lex: Matrix) -> None:
        """Append rows to the four per-row arrays; past the reserved room, grow it by a quarter (amortised O(1) a
        row; doubling left up to half of the two n x 256 arrays unused, ~16 MB at 10,000 rows)."""
        n, extra = len(self._terms), len(raw)
        if n + extra > len(self._raw):
            self.reserve(max(len(self._raw) + len(self._raw) // 4, n + extra, 64))
        self._raw[n : n + extra], self._unit[n : n + extra] = raw, unit
        self._own_cos[n : n + extra], self._own_lex[n : n + extra] = own_cos, own_lex

    def reserve(self, rows: int) -> None:
        """Room for `rows` rows in all (sync knows how many it will create: sized once, no copy on the way)."""
        n = len(self._terms)
        if rows <= len(self._raw):
            return
        for name in ("_raw", "_unit", "_own_cos", "_own_lex"):
            old = getattr(self, name)
            grown = np.full((rows, old.shape[1]), np.nan, dtype=np.float32)
            grown[:n] = old[:n]
            setattr(self, name, grown)
        known = np.zeros(rows, dtype=bool)
        known[:n] = self._known[:n]
        self._known = known

    def extend(self, vectors: npt.ArrayLike, term_sets: Sequence[frozenset[str]]) -> None:
        """Index vectors in one batch (the backlog that exists before a sync) and refresh the neighbourhoods;
        their titles were given to `add_title` in the same order."""
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(term_sets), self._raw.shape[1])
        empty = np.full((len(matrix), self.config.neighbourhood), np.nan, dtype=np.float32)
        self._append(matrix, matrix, empty, empty)
        for terms in term_sets:
            self._terms.append(terms)
            self._df.update(terms)
        self._weights.clear()
        self._rebuild()

    def _rebuild(self) -> None:
        """Centre on the current mean; every row's usual similarity is recomputed when it is next a candidate."""
        n = len(self._terms)
        raw = self._raw[:n]
        self._mean = raw.mean(axis=0) if n > 1 else np.zeros(raw.shape[1], dtype=np.float32)
        for start in range(0, n, BLOCK):  # `unit_rows(raw)` by blocks: no n x 256 temporaries
            block = raw[start : start + BLOCK] - self._mean
            norms = np.linalg.norm(block, axis=1, keepdims=True)
            self._unit[start : start + len(block)] = block / np.maximum(norms, 1e-12)
        self._known = np.zeros(len(self._raw), dtype=bool)
        self._built = n
        self._epoch += 1

    def _ensure_own(self, cols: Indices) -> None:
        """The usual similarity (mean of the top-m cosines and lexical cosines among its k nearest) of the
        candidates that lack it: one product of the index with those few rows, never all pairs."""
        todo = np.array([j for j in cols if not self._known[j]], dtype=np.intp)
        if not len(todo):
            return
        n, k, m = len(self._terms), self.config.candidates, self.config.neighbourhood
        scores = np.vstack([_dot(self._unit[:n], self._unit[j]) for j in todo])
        scores[np.arange(len(todo)), todo] = -np.inf
        kk = min(k, n - 1)
        for row, j in zip(scores, todo, strict=True):
            near = np.argpartition(-row, kk - 1)[:kk] if kk > 0 else np.zeros(0, dtype=np.intp)
            lex = np.array([self.lexical_cosine(self._terms[j], self._terms[i]) for i in near], dtype=np.float32)
            self._own_cos[j], self._own_lex[j] = np.nan, np.nan
            top_cos, top_lex = np.sort(row[near])[::-1][:m], np.sort(lex)[::-1][:m]
            self._own_cos[j, : len(top_cos)], self._own_lex[j, : len(top_lex)] = top_cos, top_lex
            self._known[j] = True

    def _centred(self, vector: npt.ArrayLike) -> Matrix:
        centred = np.asarray(vector, dtype=np.float32).reshape(-1) - self._mean
        unit: Matrix = centred / max(float(np.linalg.norm(centred)), 1e-12)
        return unit

    def lexical_match(self, title: str) -> Match | None:
        """The cheap first pass: the best token-set ratio among titles sharing rare words, if >= threshold."""
        if len(title_words(title)) < MIN_WORDS:
            return None
        best: Match | None = None
        for index in self._lexical.candidates(title):
            self.comparisons += 1
            ratio = fuzz.token_set_ratio(title, self._lexical.titles[index], processor=utils.default_process)
            if ratio >= self.threshold and (best is None or ratio > best.score * 100):
                best = Match(index, ratio / 100, None, (), by_title=True)
        if best is None:
            return None
        shared = content_terms(title) & content_terms(self._lexical.titles[best.index])
        return Match(best.index, best.score, None, tuple(sorted(shared, key=lambda t: (-self.idf(t), t))[:3]), True)

    def _neighbours(self, vector: npt.ArrayLike, terms: frozenset[str]) -> _Probe:
        """`vector` centred, its cosine with every indexed row (one product: the only per-row work that grows with
        the index), and its k nearest with their lexical cosines."""
        unit = self._centred(vector)
        n = len(self._terms)
        sims = _dot(self._unit[:n], unit)
        k = min(self.config.candidates, n)
        cols = np.argpartition(-sims, k - 1)[:k] if n > k else np.arange(n)
        lex = np.array([self.lexical_cosine(terms, self._terms[j]) for j in cols], dtype=np.float32)
        return _Probe(vector, terms, n, self._epoch, unit, sims, cols, lex)

    def semantic_match(self, vector: npt.ArrayLike, terms: frozenset[str]) -> tuple[Match | None, Matrix]:
        """The candidate whose mixed margin (meaning + words) clears the threshold, best first; and `vector`
        centred. `add` of the same vector object next reuses this query's products."""
        n, m = len(self._terms), self.config.neighbourhood
        if n < self.min_semantic:
            return None, self._centred(vector)
        self._probe = probe = self._neighbours(vector, terms)
        cols, lex, unit = probe.cols, probe.lex, probe.unit
        cos = probe.sims[cols]
        self.comparisons += len(cols)
        self._ensure_own(cols)
        own_cos_x, own_lex_x = _top_m(cos, m), _top_m(lex, m)
        own_cos_c = np.nanmean(np.where(np.isnan(self._own_cos[cols]), cos[:, None], self._own_cos[cols]), axis=1)
        own_lex_c = np.nanmean(np.where(np.isnan(self._own_lex[cols]), lex[:, None], self._own_lex[cols]), axis=1)
        w = self.config.lexical_weight
        mixed = (1 - w) * (2 * cos - own_cos_x - own_cos_c) + w * (2 * lex - own_lex_x - own_lex_c)
        best = int(np.argmax(np.where(cos >= self.config.min_cosine, mixed, -np.inf)))
        if mixed[best] < self.config.margin or cos[best] < self.config.min_cosine:
            return None, unit
        j = int(cols[best])
        shared = tuple(sorted(terms & self._terms[j], key=lambda t: (-self.idf(t), t))[:3])
        return Match(j, float(mixed[best]), float(cos[best]), shared, by_title=False), unit

    def _probed(self, vector: npt.ArrayLike, terms: frozenset[str]) -> _Probe:
        """The last query's products when `vector` is what it asked about and nothing was indexed since."""
        probe, self._probe = self._probe, None
        if (
            probe is not None
            and probe.vector is vector
            and probe.rows == len(self._terms)
            and probe.epoch == self._epoch
            and probe.terms == terms
        ):
            return probe
        return self._neighbours(vector, terms)

    def add(self, vector: npt.ArrayLike, terms: frozenset[str]) -> int:
        """Index one new row; its neighbours' usual similarity takes it into account. Returns its index."""
        probe = self._probed(vector, terms)
        n, m, k = probe.rows, self.config.neighbourhood, len(probe.cols)
        cols, lex, near = probe.cols, probe.lex, probe.sims[probe.cols]
        for j, c, x in zip(cols, near, lex, strict=True):
            if not self._known[j]:
                continue  # computed afresh (this row included) when it is next a candidate
            self._own_cos[j] = _push(self._own_cos[j], float(c))
            self._own_lex[j] = _push(self._own_lex[j], float(x))
        own_cos = np.full((1, m), np.nan, dtype=np.float32)
        own_lex = np.full((1, m), np.nan, dtype=np.float32)
        own_cos[0, : min(m, k)] = np.sort(near)[::-1][:m]
        own_lex[0, : min(m, k)] = np.sort(lex)[::-1][:m]
        self._append(np.asarray(vector, dtype=np.float32).reshape(1, -1), probe.unit[None, :], own_cos, own_lex)
        self._known[n] = True
        self._terms.append(terms)
        self._df.update(terms)
        self._weights.clear()
        if len(self._terms) >= max(16, REBUILD_GROWTH * self._built):
            self._rebuild()
        return n

    def add_title(self, title: str) -> None:
        """Index a title for the lexical pass (every row, in the order its vector is or will be added)."""
        self._lexical.add(title)


def _push(top: npt.NDArray[np.float32], value: float) -> npt.NDArray[np.float32]:
    """`top` (best first, NaN = empty slot) with `value` inserted if it belongs there (in plain floats: numpy's
    per-call cost dominated on five values)."""
    kept = [v for v in top.tolist() if not math.isnan(v)]
    best = sorted([*kept, value], reverse=True)[: len(top)]
    out = np.full(len(top), np.nan, dtype=np.float32)
    out[: len(best)] = best
    return out
