"""The pure matcher on hand-made vectors: neighbours, the relative margin, link notes, the quality figures."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.similarity import (
    Link,
    MatchConfig,
    best_threshold,
    content_terms,
    duplicate_links,
    explain,
    find_links,
    fuzzy_title_links,
    idf_weights,
    lexical_cosine,
    link_quality,
    nearest,
    unit_rows,
)


def test_content_terms_drop_filler_and_fold_plurals() -> None:
    terms = content_terms("Please add SIP trunks: the agent interrupts callers while interrupting! Summaries")
    assert terms == {"sip", "trunk", "interrupt", "summary"}


def test_unit_rows_are_centred_and_unit_length() -> None:
    data = [[3.0, 4.0], [1.0, 0.0], [2.0, 5.0]]
    rows = unit_rows(data)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)
    centred = np.array(data) - np.mean(data, axis=0)
    assert np.allclose(rows, centred / np.linalg.norm(centred, axis=1, keepdims=True))
    assert not np.allclose(rows, unit_rows(data, center=False))


def test_nearest_in_blocks_equals_brute_force() -> None:
    rng = np.random.default_rng(3)
    unit = unit_rows(rng.normal(size=(37, 8)))
    indices, sims = nearest(unit, 4, block=5)
    full = unit @ unit.T
    np.fill_diagonal(full, -np.inf)
    expected = np.argsort(-full, axis=1)[:, :4]
    assert (indices == expected).all()
    assert np.allclose(sims, np.take_along_axis(full, expected, axis=1))
    assert (indices != np.arange(37)[:, None]).all()


def test_nearest_of_a_single_item_is_empty() -> None:
    indices, sims = nearest(unit_rows([[1.0, 0.0]]), 5)
    assert indices.shape == sims.shape == (1, 0)


def clusters() -> tuple[np.ndarray, list[frozenset[str]]]:
    """Two asks of three rewordings each, two loners, in 6 dimensions."""
    rng = np.random.default_rng(11)
    centres = np.eye(6)[[0, 1]] * 3
    vectors = [centres[g] + rng.normal(scale=0.4, size=6) for g in (0, 0, 0, 1, 1, 1)]
    vectors += [np.eye(6)[4] * 3, np.eye(6)[5] * 3]
    terms = [content_terms(t) for t in ("barge-in playback", "talks over", "interruption ignored")]
    terms += [content_terms(t) for t in ("spanish voices", "spanish voice ivr", "latam voices")]
    terms += [content_terms("dark mode"), content_terms("invoice vat")]
    return np.array(vectors), terms


def test_find_links_joins_rewordings_and_leaves_loners() -> None:
    vectors, terms = clusters()
    pairs = {(link.a, link.b) for link in find_links(vectors, terms, MatchConfig(candidates=6, neighbourhood=4))}
    assert pairs
    assert all((a < 3) == (b < 3) and a < 6 and b < 6 for a, b in pairs)
    quality = link_quality(pairs, ["a", "a", "a", "b", "b", "b", "c", "d"])
    assert quality.precision == 1.0
    assert quality.recall == 1.0


def test_links_per_item_caps_what_one_item_proposes() -> None:
    vectors, terms = clusters()
    links = find_links(vectors, terms, MatchConfig(candidates=4, neighbourhood=2, links_per_item=1, margin=-9))
    assert len(links) <= len(vectors)
    assert all(isinstance(link, Link) and link.a < link.b for link in links)


def test_a_higher_margin_links_less() -> None:
    vectors, terms = clusters()
    loose = find_links(vectors, terms, MatchConfig(candidates=4, neighbourhood=2, margin=-9))
    strict = find_links(vectors, terms, MatchConfig(candidates=4, neighbourhood=2, margin=9))
    assert len(loose) > 0
    assert strict == []


def test_note_names_similarity_and_the_shared_ask() -> None:
    link = Link(0, 1, score=0.12, cosine=0.61, lexical=0.4, shared=("spanish", "voice"))
    assert link.note == "similar by meaning 0.61 (margin +0.12); shared ask: spanish, voice"
    reworded = Link(0, 1, 0.05, 0.40, 0.0, (), (("barge-in",), ("talk", "over")))
    assert reworded.note.endswith("reworded: barge-in ~ talk, over")


def test_explain_prefers_rare_shared_terms() -> None:
    a, b, c = content_terms("spanish voices ivr"), content_terms("spanish voices dashboard"), content_terms("voices")
    idf = idf_weights([a, b, c])
    shared, left, right = explain(a, b, idf)
    assert shared == ("spanish", "voice")
    assert (left, right) == ((), ())
    assert explain(content_terms("barge-in"), content_terms("talks over"), idf)[0] == ()


def test_lexical_cosine() -> None:
    a, b = frozenset({"sip", "trunk"}), frozenset({"sip", "carrier"})
    idf = idf_weights([a, b])
    assert lexical_cosine(a, a, idf) == pytest.approx(1.0)
    assert 0 < lexical_cosine(a, b, idf) < 1
    assert lexical_cosine(a, frozenset({"dark"}), {**idf, "dark": 1.0}) == 0.0


def test_fuzzy_title_links_reproduce_the_sync_matcher() -> None:
    titles = [
        "Native Salesforce integration for call summaries",
        "Salesforce integration for call summaries",
        "Salesforce sync",  # under 3 words: never looks for a match itself, can still be found
        "Barge-in does not stop TTS playback",
        "The agent talks over callers",
    ]
    # token-set ratio scores a shared word against a short title high: today's false links come from there
    assert fuzzy_title_links(titles) == [(0, 1), (0, 2), (1, 2)]
    assert fuzzy_title_links(["Salesforce sync", "Salesforce sync"]) == []


def test_link_quality_counts_chains_and_hard_negatives() -> None:
    groups = ["a", "a", "a", "b", "c"]
    near = [frozenset(), frozenset(), frozenset({"b"}), frozenset({"a"}), frozenset()]
    quality = link_quality([(0, 1), (1, 2), (2, 3)], groups, near)
    assert quality.links == 3
    assert quality.precision == pytest.approx(2 / 3)
    assert quality.recall == 1.0  # 0-2 is joined through 1
    assert quality.direct_recall == pytest.approx(2 / 3)
    assert quality.hard_negative_rate == pytest.approx(1 / 3)  # 2-3 linked out of (0,3) (1,3) (2,3)
    assert link_quality([], groups).precision == 1.0


def test_best_threshold_maximises_f1() -> None:
    threshold, f1 = best_threshold([0.9, 0.8, 0.7, 0.2], [True, True, False, False])
    assert threshold == 0.8
    assert f1 == pytest.approx(1.0)
    assert best_threshold([], []) == (0.0, 0.0)


def test_nearest_keeps_exactly_k_when_scores_tie() -> None:
    indices, sims = nearest(np.ones((4, 3), dtype=np.float32) / np.sqrt(3), 2)
    assert indices.shape == (4, 2)
    assert (indices != np.arange(4)[:, None]).all()
    assert np.allclose(sims, 1.0)


def test_duplicate_links_add_the_title_pass_with_its_own_reason() -> None:
    titles = ["Salesforce integration for call summaries", "Native Salesforce integration for call summaries"]
    terms = [content_terms(t) for t in titles]
    far_apart = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # meaning alone would not link them
    assert find_links(far_apart, terms) == []
    (link,) = duplicate_links(titles, far_apart, terms)
    assert (link.a, link.b, link.by_title) == (0, 1, True)
    assert link.note.startswith("titles share their words (100%), similar by meaning")
    assert link.note.endswith("shared ask: integration, salesforce, summary")
