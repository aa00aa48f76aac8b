"""The incremental duplicate index on hand-made vectors: same-run rows are matched, the lexical pass looks only at
titles sharing rare words, and a candidate's usual similarity equals the brute-force one."""

from __future__ import annotations

import numpy as np

from scoring.neighbours import NeighbourIndex, _Lexical
from scoring.similarity import MatchConfig, content_terms, unit_rows

CONFIG = MatchConfig(candidates=4, neighbourhood=2, margin=0.0, min_cosine=0.3)


def corpus() -> tuple[np.ndarray, list[frozenset[str]]]:
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(30, 8))
    vectors[29] = vectors[3] + rng.normal(scale=0.05, size=8)  # row 29 repeats row 3
    terms = [frozenset({f"t{i}", "common"}) for i in range(30)]
    terms[29] = terms[3]
    return vectors, terms


def test_a_row_added_in_the_same_run_is_matched_by_the_next_one() -> None:
    vectors, terms = corpus()
    index = NeighbourIndex(8, CONFIG, min_semantic=5)
    index.extend(vectors[:20], terms[:20])
    for i in range(20, 29):
        index.add(vectors[i], terms[i])
    index.add(vectors[3] * 1.01, terms[3])  # a copy of row 3, added as new row 29

    match, _unit = index.semantic_match(vectors[3] + 0.01, terms[3])

    assert match is not None
    assert match.index in {3, 29}
    assert match.shared == ("t3", "common")  # rarer first


def test_no_link_by_meaning_below_the_minimum_index_size() -> None:
    vectors, terms = corpus()
    index = NeighbourIndex(8, CONFIG, min_semantic=50)
    index.extend(vectors[:29], terms[:29])
    assert index.semantic_match(vectors[29], terms[29])[0] is None


def test_usual_similarity_of_a_candidate_is_its_brute_force_top_m() -> None:
    vectors, terms = corpus()
    index = NeighbourIndex(8, CONFIG, min_semantic=5)
    index.extend(vectors, terms)
    index.semantic_match(vectors[3], terms[3])  # makes row 3 (and the other candidates) known

    unit = unit_rows(vectors)
    sims = unit @ unit[3]
    sims[3] = -np.inf
    assert np.allclose(index._own_cos[3], np.sort(sims)[::-1][:2], atol=1e-5)


def test_the_lexical_pass_looks_only_at_titles_sharing_uncommon_words() -> None:
    lexical = _Lexical()
    for i in range(200):
        lexical.add(f"common words everywhere item{i}")
    lexical.add("Export call transcripts as SRT files")

    assert lexical.candidates("Export the call transcripts as SRT") == [200]
    assert lexical.candidates("common words everywhere") == []  # in every title: not a lookup key
    assert content_terms("Export call transcripts") == {"export", "transcript"}
