"""The bundled embedding model: loads with the network off, embeds in batches, and meets the floors on the
evaluation set (tests/fixtures/dedupe_eval.jsonl) that issue 14 sets for duplicates by meaning."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scoring.similarity import LinkQuality, content_terms, duplicate_links, fuzzy_title_links, link_quality
from service.embedding import DIM, Embedder, EmbeddingUnavailableError, feedback_text

EVAL = Path(__file__).resolve().parent.parent / "fixtures" / "dedupe_eval.jsonl"


class NetworkUsedError(AssertionError):
    pass


@pytest.fixture
def network_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Any connect or name lookup fails; hub libraries are told to stay offline; no cache in HOME to fall back on."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NetworkUsedError(f"network used: {args[1:] or kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_the_guard_really_blocks(network_off: None) -> None:
    with pytest.raises(NetworkUsedError):
        socket.create_connection(("example.org", 443), timeout=1)
    with socket.socket() as sock, pytest.raises(NetworkUsedError):
        sock.connect(("127.0.0.1", 9))


def test_model_loads_and_embeds_with_the_network_off(network_off: None) -> None:
    embedder = Embedder.load()
    vectors = embedder.embed(["The agent talks over callers", "Barge-in does not stop playback", "Dark mode"])
    assert vectors.shape == (3, DIM)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()


def test_loading_leaves_the_root_logger_alone() -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    Embedder.load()
    assert (list(root.handlers), root.level) == before


def test_batches_give_the_same_vectors_as_one_call() -> None:
    texts = [f"ticket {i}: calls drop after ten minutes" for i in range(7)] + ["Spanish voices for the IVR"]
    whole = Embedder.load().embed(texts)
    batched = Embedder(Embedder.load().model, batch=3).embed(texts)
    assert np.allclose(whole, batched, atol=1e-5)
    assert Embedder.load().embed([]).shape == (0, DIM)


def test_missing_package_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_wordllama(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "wordllama":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wordllama)
    with pytest.raises(EmbeddingUnavailableError, match="make"):
        Embedder.load()


def test_feedback_text_is_title_and_excerpt_start() -> None:
    assert feedback_text(" Barge-in ", "caller\n talks   over") == "Barge-in. caller talks over"
    assert feedback_text("Barge-in") == "Barge-in"
    assert len(feedback_text("t", "x" * 5000)) == len("t. ") + 400


@pytest.fixture(scope="module")
def eval_set() -> tuple[list[dict[str, Any]], LinkQuality, LinkQuality]:
    items = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    texts = [feedback_text(r["title"], r["text"]) for r in items]
    groups = [r["group"] for r in items]
    near = [frozenset(r.get("near", ())) for r in items]
    titles = [r["title"] for r in items]
    fuzzy = fuzzy_title_links(titles)
    links = duplicate_links(titles, Embedder.load().embed(texts), [content_terms(t) for t in texts])
    assert set(fuzzy) <= {(link.a, link.b) for link in links}  # the lexical pass is part of the matcher
    matcher = link_quality([(link.a, link.b) for link in links], groups, near)
    return items, link_quality(fuzzy, groups, near), matcher


def test_eval_set_is_realistic_and_labelled(eval_set: tuple[list[dict[str, Any]], LinkQuality, LinkQuality]) -> None:
    items = eval_set[0]
    assert len(items) >= 150
    assert {r["source"] for r in items} == {"zendesk", "g2", "gong", "github", "discord"}
    assert len({r["id"] for r in items}) == len(items)
    sizes: dict[str, int] = {}
    for r in items:
        sizes[r["group"]] = sizes.get(r["group"], 0) + 1
    assert sum(size >= 3 for size in sizes.values()) >= 30
    assert sum(bool(r.get("near")) for r in items) >= 60  # hard negatives: shared words, different ask


def test_matcher_meets_the_floors_on_the_eval_set(
    eval_set: tuple[list[dict[str, Any]], LinkQuality, LinkQuality],
) -> None:
    _, fuzzy, matcher = eval_set
    assert matcher.precision >= 0.9, matcher
    assert matcher.recall >= 0.85, matcher
    assert matcher.hard_negative_rate <= 0.02, matcher
    assert fuzzy.recall < 0.1  # the reworded asks today's title matcher misses (issue 14)


def test_weights_stay_half_precision_and_give_the_float32_vectors() -> None:
    embedder = Embedder.load()
    model: Any = embedder.model
    assert model.embedding.dtype == np.float16  # 16 MB resident instead of 32 MB
    texts = ["Barge-in does not stop playback", "Spanish voices for the IVR", "calls drop after ten minutes " * 9]
    half = embedder.embed(texts)
    model.embedding = model.embedding.astype(np.float32)  # what WordLlama itself keeps
    assert np.array_equal(embedder.embed(texts), half)
