"""Duplicates by meaning: neighbours of feedback vectors, a relative threshold, and why two items link.

Pure: vectors come from `service/embedding.py`, content terms from `content_terms`. The score of a pair mixes
embedding cosine and lexical (TF-IDF) cosine, each as a margin over the two items' own neighbourhoods (CSLS):
static embeddings make some texts close to everything ("hubs"), so an absolute cosine threshold either links
hubs to unrelated asks or misses reworded ones. A pair links when it stands out from both items' usual
neighbours, which holds across corpora without retuning. Neighbour search is blocked matrix products + top-k.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process, utils

Matrix = npt.NDArray[np.float32]
Indices = npt.NDArray[np.intp]

# Words that carry no ask of their own in feedback ("please add", "the agent", "our callers").
_STOPWORDS_TEXT = """
    about after again all also always any anyone are because been before being but can cannot could did does
    doing done don each even every from get gets getting give goes going gone got had has have having her here
    him his how into its just lets like lot make makes many may more most much must need needs nice now off once
    only other our out over own per please pls really right same see seems should since some still such sure
    than that the their them then there these they thing things this those though through too very via want
    wants was way well were what when where which while who why will wish with within without would yet you
    your agent agents call calls caller callers customer customers team users user time today thanks
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
SHORT_TERMS = frozenset({"ai", "api", "asr", "baa", "crm", "eu", "ivr", "llm", "pii", "rag", "sip", "sso", "tts", "ui"})
WORD = re.compile(r"[a-z0-9][a-z0-9+#'-]*")


def _stem(word: str) -> str:
    """Fold plurals and -ing so "interrupts" and "interrupting" meet; stems stay readable in the link note."""
    if word.endswith("ies") and len(word) >= 6:
        return word[:-3] + "y"
    for suffix in ("ing", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not word.endswith(("ss", "us", "is")):
            return word[: -len(suffix)]
    return word


def content_terms(text: str) -> frozenset[str]:
    """The words of a text that can carry an ask: lower-cased, stemmed, without stopwords or tiny words."""
    words = (w.strip("'-") for w in WORD.findall(text.lower()))
    return frozenset(_stem(w) for w in words if (len(w) > 3 or w in SHORT_TERMS) and w not in STOPWORDS)


def unit_rows(vectors: npt.ArrayLike, *, center: bool = True) -> Matrix:
    """Rows scaled to length 1; centred first, which removes the direction every text shares."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if center and len(matrix) > 1:
        matrix = matrix - matrix.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: Matrix = matrix / np.maximum(norms, 1e-12)
    return unit


def _top_k(scores: Matrix, k: int) -> tuple[Indices, Matrix]:
    """Exactly k best columns per row, best first: a value partition (cheap) picks each row's k-th score, then
    only the few scores at or above it are sorted (ties at the k-th score are cut by column order)."""
    kth = np.partition(scores, -k, axis=1)[:, -k][:, None]
    rows, cols = np.nonzero(scores >= kth)
    vals = scores[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(len(scores)))
    keep = np.arange(len(rows)) - starts[rows] < k
    return cols[keep].reshape(-1, k), vals[keep].reshape(-1, k)


def nearest(unit: Matrix, k: int, *, block: int = 1024) -> tuple[Indices, Matrix]:
    """Top-k neighbours of every row (itself excluded), by blocks of rows: memory stays block x n."""
    n = len(unit)
    k = max(0, min(k, n - 1))
    indices = np.zeros((n, k), dtype=np.intp)
    sims = np.zeros((n, k), dtype=np.float32)
    if k == 0:
        return indices, sims
    for start in range(0, n, block):
        stop = min(start + block, n)
        scores = unit[start:stop] @ unit.T
        scores[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        indices[start:stop], sims[start:stop] = _top_k(scores, k)
    return indices, sims


def idf_weights(term_sets: Sequence[frozenset[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency, calibrated on the corpus being matched."""
    df = Counter(term for terms in term_sets for term in terms)
    n = len(term_sets)
    return {term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items()}


def lexical_cosine(a: frozenset[str], b: frozenset[str], idf: dict[str, float]) -> float:
    """TF-IDF cosine of two term sets (binary term frequency)."""
    shared = sum(idf[t] ** 2 for t in a & b)
    if not shared:
        return 0.0
    return shared / math.sqrt(sum(idf[t] ** 2 for t in a) * sum(idf[t] ** 2 for t in b))


@dataclass(frozen=True)
class MatchConfig:
    """The matcher's knobs; the defaults are the ones calibrated on tests/fixtures/dedupe_eval.jsonl."""

    candidates: int = 10  # embedding neighbours considered per item
    neighbourhood: int = 5  # how many of them define the item's own "usual similarity"
    links_per_item: int = 2  # at most this many links proposed from one item
    lexical_weight: float = 0.5  # share of the lexical margin in the score
    margin: float = 0.03  # the relative threshold on the mixed margin (bench/dedupe_eval.py sweeps it)
    min_cosine: float = 0.15  # and an absolute floor: two outliers are "unusually close" only to each other


@dataclass(frozen=True)
class Link:
    """A proposed Possible Duplicate between items `a` < `b`, with what the PM sees as the reason."""

    a: int
    b: int
    score: float
    cosine: float
    lexical: float
    shared: tuple[str, ...]
    reworded: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    by_title: bool = False  # found by the lexical title pass (then `score` is the token-set ratio / 100)

    @property
    def note(self) -> str:
        if self.by_title:
            head = f"titles share their words ({self.score:.0%}), similar by meaning {self.cosine:.2f}"
        else:
            head = f"similar by meaning {self.cosine:.2f} (margin {self.score:+.2f})"
        if self.shared:
            return f"{head}; shared ask: {', '.join(self.shared)}"
        left, right = (", ".join(side) or "-" for side in self.reworded)
        return f"{head}; reworded: {left} ~ {right}"


def _margins(pair_sims: Matrix, own: Matrix, rows: Indices, cols: Indices) -> Matrix:
    """CSLS: 2*sim - (usual similarity of one item) - (usual similarity of the other)."""
    result: Matrix = 2 * pair_sims - own[rows] - own[cols]
    return result


def _lexical_matrix(cols: Indices, term_sets: Sequence[frozenset[str]], idf: dict[str, float]) -> Matrix:
    return np.array(
        [[lexical_cosine(term_sets[i], term_sets[j], idf) for j in row] for i, row in enumerate(cols)],
        dtype=np.float32,
    ).reshape(cols.shape)


def pair_scores(
    vectors: npt.ArrayLike, term_sets: Sequence[frozenset[str]], config: MatchConfig = MatchConfig()
) -> tuple[Indices, Matrix, Matrix, Matrix]:
    """Candidate neighbours of each item and, per candidate, (mixed margin, embedding cosine, lexical cosine).

    The lexical part is computed on the embedding candidates only (n x candidates pairs, never n x n).
    """
    unit = unit_rows(vectors)
    cols, cos = nearest(unit, config.candidates)
    if cols.shape[1] == 0:
        return cols, cos, cos, cos
    m = min(config.neighbourhood, cols.shape[1])
    rows = np.broadcast_to(np.arange(len(unit))[:, None], cols.shape)
    idf = idf_weights(term_sets)
    lex = _lexical_matrix(cols, term_sets, idf)
    own_cos = cos[:, :m].mean(axis=1)
    own_lex = np.sort(lex, axis=1)[:, -m:].mean(axis=1)
    w = config.lexical_weight
    mixed = (1 - w) * _margins(cos, own_cos, rows, cols) + w * _margins(lex, own_lex, rows, cols)
    return cols, mixed.astype(np.float32), cos, lex


def _top_terms(terms: Iterable[str], idf: dict[str, float], count: int) -> tuple[str, ...]:
    return tuple(sorted(terms, key=lambda t: (-idf.get(t, 0.0), t))[:count])


def explain(a: frozenset[str], b: frozenset[str], idf: dict[str, float], count: int = 3) -> tuple[tuple[str, ...], ...]:
    """The strongest shared content terms; when none, the strongest terms of each side (a reworded ask)."""
    shared = _top_terms(a & b, idf, count)
    if shared:
        return shared, (), ()
    return (), _top_terms(a, idf, 2), _top_terms(b, idf, 2)


def find_links(
    vectors: npt.ArrayLike, term_sets: Sequence[frozenset[str]], config: MatchConfig = MatchConfig()
) -> list[Link]:
    """Links whose mixed margin clears the threshold, at most `links_per_item` from each item, best first."""
    cols, mixed, cos, lex = pair_scores(vectors, term_sets, config)
    idf = idf_weights(term_sets)
    best: dict[tuple[int, int], Link] = {}
    for i in range(len(cols)):
        order = np.argsort(-mixed[i])[: config.links_per_item]
        keep = (mixed[i, order] >= config.margin) & (cos[i, order] >= config.min_cosine)
        for c in order[keep]:
            j = int(cols[i, c])
            key = (min(i, j), max(i, j))
            if key in best and best[key].score >= mixed[i, c]:
                continue
            shared, left, right = explain(term_sets[key[0]], term_sets[key[1]], idf)
            best[key] = Link(*key, float(mixed[i, c]), float(cos[i, c]), float(lex[i, c]), shared, (left, right))
    return sorted(best.values(), key=lambda link: -link.score)


def fuzzy_title_scores(
    titles: Sequence[str], threshold: float = 80.0, min_words: int = 3
) -> dict[tuple[int, int], float]:
    """Today's lexical matcher (sync's DuplicateFinder): token-set ratio of titles of 3+ words >= threshold."""
    eligible = [i for i, t in enumerate(titles) if len(utils.default_process(t).split()) >= min_words]
    if not eligible:
        return {}
    picked = [titles[i] for i in eligible]
    scores = process.cdist(
        picked, titles, scorer=fuzz.token_set_ratio, processor=utils.default_process, score_cutoff=threshold
    )
    pairs: dict[tuple[int, int], float] = {}
    for r, c in zip(*np.nonzero(scores), strict=True):
        a, b = sorted((eligible[r], int(c)))
        if a != b:
            pairs[(a, b)] = max(pairs.get((a, b), 0.0), float(scores[r, c]))
    return pairs


def fuzzy_title_links(titles: Sequence[str], threshold: float = 80.0, min_words: int = 3) -> list[tuple[int, int]]:
    return sorted(fuzzy_title_scores(titles, threshold, min_words))


def duplicate_links(
    titles: Sequence[str],
    vectors: npt.ArrayLike,
    term_sets: Sequence[frozenset[str]],
    config: MatchConfig = MatchConfig(),
) -> list[Link]:
    """The whole matcher: the cheap lexical title pass (kept: near-identical titles are certain) plus links by
    meaning; a pair found by both keeps its semantic reason."""
    links = {(link.a, link.b): link for link in find_links(vectors, term_sets, config)}
    unit = unit_rows(vectors)
    idf = idf_weights(term_sets)
    for (a, b), ratio in fuzzy_title_scores(titles).items():
        if (a, b) not in links:
            shared, left, right = explain(term_sets[a], term_sets[b], idf)
            lexical = lexical_cosine(term_sets[a], term_sets[b], idf)
            cosine = float(unit[a] @ unit[b])
            links[(a, b)] = Link(a, b, ratio / 100, cosine, lexical, shared, (left, right), by_title=True)
    return list(links.values())


def best_threshold(scores: Sequence[float], positive: Sequence[bool]) -> tuple[float, float]:
    """The threshold on candidate scores that maximises F1 of the links, and that F1 (for calibration)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64))
    hits = np.cumsum(np.asarray(positive, dtype=np.float64)[order])
    total = max(float(hits[-1]) if len(hits) else 0.0, 1.0)
    ranks = np.arange(1, len(order) + 1)
    f1 = 2 * hits / (ranks + total)
    if not len(f1):
        return 0.0, 0.0
    at = int(np.argmax(f1))
    return float(np.asarray(scores)[order][at]), float(f1[at])


@dataclass(frozen=True)
class LinkQuality:
    """Links judged against labelled groups. Recall counts a duplicate pair as found when a chain of links joins
    it (the PM follows Possible Duplicate from row to row); `direct_recall` counts only direct links."""

    links: int
    precision: float
    recall: float
    direct_recall: float
    hard_negative_rate: float


def _components(n: int, pairs: Iterable[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    return [root(i) for i in range(n)]


def link_quality(
    pairs: Iterable[tuple[int, int]], groups: Sequence[str], near: Sequence[frozenset[str]] = ()
) -> LinkQuality:
    """Precision, recall and the share of hard-negative pairs (groups declared confusable) that got linked."""
    links = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
    true_links = sum(groups[a] == groups[b] for a, b in links)
    sizes = Counter(groups)
    positives = sum(c * (c - 1) // 2 for c in sizes.values())
    comp = _components(len(groups), links)
    joined = Counter(zip(comp, groups, strict=True))
    found = sum(c * (c - 1) // 2 for c in joined.values())
    hard = {
        (a, b)
        for a in range(len(near))
        for b in range(a + 1, len(near))
        if groups[b] in near[a] or groups[a] in near[b]
    }
    return LinkQuality(
        links=len(links),
        precision=true_links / len(links) if links else 1.0,
        recall=found / positives if positives else 1.0,
        direct_recall=true_links / positives if positives else 1.0,
        hard_negative_rate=len(hard & links) / len(hard) if hard else 0.0,
    )
