"""The incremental duplicate index on hand-made vectors: same-run rows are matched, the lexical pass looks only at
titles sharing rare words, and a candidate's usual similarity equals the brute-force one."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.neighbours import BLOCK, NeighbourIndex, _dot, _Lexical, _push
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


def test_products_by_blocks_equal_the_whole_product() -> None:
    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(2 * BLOCK + 7, 16)).astype(np.float32)
    vector = rng.normal(size=16).astype(np.float32)
    assert np.allclose(_dot(matrix, vector), matrix @ vector, atol=1e-5)
    assert _dot(matrix[:0], vector).shape == (0,)


def test_add_after_a_query_of_the_same_vector_reuses_it_and_indexes_the_same() -> None:
    vectors, terms = corpus()
    reused, fresh = NeighbourIndex(8, CONFIG, min_semantic=5), NeighbourIndex(8, CONFIG, min_semantic=5)
    for index in (reused, fresh):
        index.extend(vectors[:20], terms[:20])
    for i in range(20, 30):
        vector = vectors[i].astype(np.float32)
        reused.semantic_match(vector, terms[i])
        fresh.semantic_match(vector.copy(), terms[i])  # another object: `add` computes its products again
        assert reused.add(vector, terms[i]) == fresh.add(vector, terms[i]) == i
    assert np.array_equal(reused._own_cos[:30], fresh._own_cos[:30], equal_nan=True)
    assert np.array_equal(reused._own_lex[:30], fresh._own_lex[:30], equal_nan=True)
    probe = vectors[3] + 0.01
    assert reused.semantic_match(probe, terms[3])[0] == fresh.semantic_match(probe, terms[3])[0]


def test_a_stale_query_is_not_reused_after_the_index_changed() -> None:
    vectors, terms = corpus()
    index = NeighbourIndex(8, CONFIG, min_semantic=5)
    index.extend(vectors[:20], terms[:20])
    vector = vectors[25].astype(np.float32)
    index.semantic_match(vector, terms[25])
    index.add(vector + 0.001, terms[21])  # a near copy in between: the query's products lack it
    index.add(vector, terms[25])
    sims = index._unit[:21] @ index._centred(vector)
    assert index._own_cos[21, 0] == pytest.approx(float(sims[20]), abs=1e-5)
    assert index._own_cos[21, 0] > 0.99  # its nearest is the copy, which a stale query did not see


def test_push_keeps_the_best_values_first_and_fills_empty_slots() -> None:
    top = np.array([0.9, 0.5, np.nan], dtype=np.float32)
    assert np.array_equal(_push(top, 0.7), np.array([0.9, 0.7, 0.5], dtype=np.float32))
    assert np.array_equal(
        _push(np.array([0.9, 0.7, 0.5], dtype=np.float32), 0.1), np.array([0.9, 0.7, 0.5], np.float32)
    )
    assert np.array_equal(
        _push(np.full(2, np.nan, dtype=np.float32), 0.3), np.array([0.3, np.nan], np.float32), equal_nan=True
    )


def test_idf_weights_follow_the_index_as_rows_arrive() -> None:
    index = NeighbourIndex(8, CONFIG)
    index.extend(np.eye(8)[:2], [frozenset({"sso", "okta"}), frozenset({"sso"})])
    before = index.lexical_cosine(frozenset({"sso", "okta"}), frozenset({"sso"}))
    index.add(np.eye(8)[2], frozenset({"okta"}))  # "okta" gets commoner: its weight must drop
    after = index.lexical_cosine(frozenset({"sso", "okta"}), frozenset({"sso"}))
    assert after != before
    weights = {t: index.idf(t) ** 2 for t in ("sso", "okta")}
    assert after == pytest.approx(weights["sso"] / ((weights["sso"] + weights["okta"]) * weights["sso"]) ** 0.5)


def test_reserved_room_is_used_without_copies_and_the_rebuild_by_blocks_gives_unit_rows() -> None:
    vectors = np.random.default_rng(7).normal(size=(BLOCK + 40, 8)).astype(np.float32)
    index = NeighbourIndex(8, CONFIG)
    index.reserve(len(vectors) + 5)
    buffer = index._raw
    index.extend(vectors[:-1], [frozenset({f"t{i}"}) for i in range(len(vectors) - 1)])
    index.add(vectors[-1], frozenset({"last"}))
    assert index._raw is buffer  # sized once
    index._rebuild()
    assert np.array_equal(index._unit[: len(vectors)], unit_rows(vectors))
