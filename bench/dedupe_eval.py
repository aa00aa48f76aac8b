"""Duplicates by meaning on tests/fixtures/dedupe_eval.jsonl: today's fuzzy title matcher vs the semantic matcher.

Prints precision / recall / hard-negative link rate for both, the margin sweep, a two-fold check of the
calibration (margin chosen on one half of the groups, measured on the other), and the time to embed and match
10,000 texts. Figures only; the floors are asserted in tests/scoring/test_similarity.py.
`python bench/dedupe_eval.py [N]` (N = texts for the timing, default 10,000).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "2")  # the tokenizer's thread pool: measure on 2 cores
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.similarity import (  # noqa: E402
    LinkQuality,
    MatchConfig,
    content_terms,
    duplicate_links,
    find_links,
    fuzzy_title_links,
    link_quality,
    nearest,
    unit_rows,
)
from scoring.themes import ThemeItem, assign_themes, group_by_meaning  # noqa: E402
from service.embedding import Embedder, feedback_text  # noqa: E402
from service.pipelines.dedupe import DuplicateFinder, link_backlog  # noqa: E402

EVAL = ROOT / "tests" / "fixtures" / "dedupe_eval.jsonl"
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


def load(path: Path = EVAL) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def row(label: str, q: LinkQuality) -> str:
    return (
        f"  {label:<34} links {q.links:>4}  precision {q.precision:.3f}  recall {q.recall:.3f} "
        f"(direct {q.direct_recall:.3f})  hard-negative links {q.hard_negative_rate:.1%}"
    )


def semantic(items: list[dict[str, object]], embedder: Embedder, config: MatchConfig) -> LinkQuality:
    texts = [feedback_text(str(r["title"]), str(r["text"])) for r in items]
    titles = [str(r["title"]) for r in items]
    links = duplicate_links(titles, embedder.embed(texts), [content_terms(t) for t in texts], config)
    pairs = [(link.a, link.b) for link in links]
    return link_quality(pairs, [str(r["group"]) for r in items], [frozenset(r.get("near", ())) for r in items])  # type: ignore[arg-type]


def two_fold(items: list[dict[str, object]], embedder: Embedder, margins: list[float]) -> None:
    groups = sorted({str(r["group"]) for r in items})
    random.Random(14).shuffle(groups)
    halves = [set(groups[::2]), set(groups[1::2])]
    for fit, test in ((0, 1), (1, 0)):
        fit_items = [r for r in items if r["group"] in halves[fit]]
        test_items = [r for r in items if r["group"] in halves[test]]

        def f1(q: LinkQuality) -> float:
            return 2 * q.precision * q.recall / max(q.precision + q.recall, 1e-9)

        best = max(margins, key=lambda m: f1(semantic(fit_items, embedder, replace(MatchConfig(), margin=m))))
        q = semantic(test_items, embedder, replace(MatchConfig(), margin=best))
        print(row(f"margin {best:+.3f} fit on half {fit + 1}, test {test + 1}", q))


def synthetic(items: list[dict[str, object]], n: int) -> list[str]:
    """n distinct feedback-length texts made by recombining the evaluation sentences."""
    rng = random.Random(7)
    words = [w for r in items for w in f"{r['title']} {r['text']}".split()]
    return [" ".join(rng.choices(words, k=rng.randint(20, 70))) for _ in range(n)]


def stress(items: list[dict[str, object]], embedder: Embedder, extra: int) -> None:
    """The eval set inside `extra` word-salad rows made of its own words: hubs near everything, a worst case for
    a relative threshold (each item's neighbourhood fills with them). Only links among eval items are judged."""
    noise = synthetic(items, extra)
    texts = [feedback_text(str(r["title"]), str(r["text"])) for r in items] + noise
    titles = [str(r["title"]) for r in items] + [t[:60] for t in noise]
    links = duplicate_links(titles, embedder.embed(texts), [content_terms(t) for t in texts])
    n = len(items)
    pairs = [(link.a, link.b) for link in links if link.b < n]
    near = [frozenset(r.get("near", ())) for r in items]  # type: ignore[arg-type]
    print(row(f"with {extra:,} word-salad rows", link_quality(pairs, [str(r["group"]) for r in items], near)))


def through_dedupe(items: list[dict[str, object]], embedder: Embedder) -> None:
    """The two public paths of service/pipelines/dedupe.py: links made at create (each row sees only the rows
    before it, in file order) and the grooming pass over the whole backlog."""
    groups = [str(r["group"]) for r in items]
    near = [frozenset(r.get("near", ())) for r in items]  # type: ignore[arg-type]
    finder = DuplicateFinder([], threshold=80, embedder=lambda: embedder)
    pairs = []
    for i, r in enumerate(items):
        best = finder.best(str(r["title"]), str(r["text"]))
        if best is not None:
            pairs.append((int(best), i))
        finder.add(str(i), str(r["title"]), str(r["text"]))
    print(row("dedupe.py at create (streaming)", link_quality(pairs, groups, near)))
    print(f"    scored comparisons: {finder.index.comparisons} for {len(items)} rows")
    found = link_backlog([(str(i), str(r["title"]), str(r["text"])) for i, r in enumerate(items)], lambda: embedder)
    pairs = [(int(k), int(m.page_id)) for k, ms in found.items() for m in ms]
    print(row("dedupe.py grooming pass (batch)", link_quality(pairs, groups, near)))


def themes(items: list[dict[str, object]], embedder: Embedder) -> None:
    """Theme purity: the share of themed items whose theme's majority group is their own group."""
    texts = [feedback_text(str(r["title"]), str(r["text"])) for r in items]
    grouped = group_by_meaning(embedder.embed(texts))
    theme_items = [ThemeItem(str(i), content_terms(t)) for i, t in enumerate(texts)]
    found = assign_themes([[str(i) for i in g] for g in grouped], theme_items)
    themed = sum(len(t.members) for t in found)
    pure = sum(Counter(str(items[int(i)]["group"]) for i in t.members).most_common(1)[0][1] for t in found)
    print(f"  {len(found)} themes over {themed} of {len(items)} items; purity {pure / max(themed, 1):.3f}")
    for theme in found[:5]:
        print(f"    {theme.name} ({len(theme.members)})")


def timing(embedder: Embedder, texts: list[str]) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.embed(texts)
    embedded, embedded_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    nearest(unit_rows(vectors), 10)
    searched = time.perf_counter() - started
    started = time.perf_counter()
    find_links(vectors, [content_terms(t) for t in texts])
    matched = time.perf_counter() - started
    print(
        f"  embed {len(texts):,} texts: {embedded:.2f} s wall ({len(texts) / embedded:,.0f}/s, 2 threads), "
        f"{embedded_cpu:.2f} s CPU (on an idle machine wall <= CPU; a busy one inflates wall)"
    )
    print(f"  top-10 neighbours of {len(texts):,}: {searched:.2f} s; full matcher (incl. lexical): {matched:.2f} s")


def main() -> None:
    items = load()
    started = time.perf_counter()
    embedder = Embedder.load()
    sizes = Counter(str(r["group"]) for r in items)
    print(
        f"Evaluation set: {len(items)} items, {sum(c > 1 for c in sizes.values())} groups of reworded asks, "
        f"{sum(c == 1 for c in sizes.values())} singletons; model loaded in {time.perf_counter() - started:.2f} s"
    )
    groups = [str(r["group"]) for r in items]
    near = [frozenset(r.get("near", ())) for r in items]  # type: ignore[arg-type]
    print(
        row(
            "fuzzy titles alone (today)",
            link_quality(fuzzy_title_links([str(r["title"]) for r in items]), groups, near),
        )
    )
    print(row("fuzzy + semantic (default margin)", semantic(items, embedder, MatchConfig())))
    through_dedupe(items, embedder)
    print("Margin sweep (the relative threshold):")
    margins = [round(-0.04 + 0.01 * i, 3) for i in range(12)]
    for m in margins:
        print(row(f"margin {m:+.3f}", semantic(items, embedder, replace(MatchConfig(), margin=m))))
    print("Two-fold calibration check (groups split in halves):")
    two_fold(items, embedder, margins)
    print("Density stress (default margin):")
    for extra in (300, 1000):
        stress(items, embedder, extra)
    print("Themes (scoring/themes.py, default floors):")
    themes(items, embedder)
    print("Speed:")
    timing(embedder, synthetic(items, N))


if __name__ == "__main__":
    main()
