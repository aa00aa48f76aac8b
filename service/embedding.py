"""Offline text embeddings for duplicates by meaning: WordLlama, whose weights ship inside its PyPI wheel.

Nothing is downloaded at run time and no text leaves the machine: the model is loaded from the installed
package's own files with downloads disabled (WordLlama's default lookup misses its bundled tokenizer and would
otherwise fetch it from a model hub). Static token embeddings, mean-pooled: ~10,000 texts a second per core.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

MODEL = "l2_supercat"  # WordLlama's bundled model: 256 dimensions, 16 MB of safetensors in the wheel
DIM = 256
# Texts per model call: the model pads a call's texts to its longest and holds texts x tokens x 256 float32 twice,
# so 512 texts of ~100 tokens took ~110 MB for a moment (and glibc kept it); 64 take ~14 MB and run as fast.
BATCH = 64
EXCERPT_CHARS = 400  # the Excerpt property's length: title + excerpt is what every row has


class EmbeddingUnavailableError(RuntimeError):
    """The embedding model could not be loaded; the message says how to fix it."""


class _Inference(Protocol):
    def embed(self, texts: list[str], norm: bool = ..., batch_size: int = ...) -> Any: ...


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """WordLlama calls logging.basicConfig() on import; keep the app's own logging setup untouched."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _load_bundled() -> _Inference:
    with _quiet_root_logger():
        try:
            import wordllama  # type: ignore[import-untyped]  # noqa: PLC0415  (loaded only when dedupe runs)
        except ImportError as exc:
            raise EmbeddingUnavailableError(
                "The embedding package is not installed: run `make` (it installs requirements.lock) "
                "or `pip install wordllama`."
            ) from exc
        package_dir = Path(wordllama.__file__).parent
        try:
            model: _Inference = wordllama.WordLlama.load(
                config=MODEL, dim=DIM, cache_dir=package_dir, disable_download=True
            )
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise EmbeddingUnavailableError(
                f"WordLlama's bundled model files are missing under {package_dir} ({exc}); "
                "reinstall the wheel: `pip install --force-reinstall wordllama`."
            ) from exc
    _keep_half(model)
    return model


def _keep_half(model: _Inference) -> None:
    """Keep the weights in float16, as the wheel ships them (16 MB instead of the 32 MB float32 copy WordLlama
    makes): a token's float16 value widens to float32 exactly, and pooling multiplies by a float32 mask and sums in
    float32, so every vector is the same. Only when each weight round-trips exactly (checked by blocks)."""
    weights = getattr(model, "embedding", None)
    if not isinstance(weights, np.ndarray) or weights.dtype != np.float32 or weights.ndim != 2:
        return
    half = weights.astype(np.float16)
    for start in range(0, len(weights), 4096):
        if not np.array_equal(half[start : start + 4096].astype(np.float32), weights[start : start + 4096]):
            return
    model.embedding = half  # type: ignore[attr-defined]


def feedback_text(title: str, excerpt: str = "") -> str:
    """What a row is embedded as: its title and the start of its excerpt."""
    excerpt = " ".join(excerpt.split())[:EXCERPT_CHARS]
    return f"{title.strip()}. {excerpt}" if excerpt else title.strip()


@dataclass
class Embedder:
    """Embeds texts in batches into float32 rows; load once per process (about a second)."""

    model: _Inference
    batch: int = BATCH

    @classmethod
    def load(cls) -> Embedder:
        return cls(_load_bundled())

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        chunks = [
            np.asarray(self.model.embed(list(texts[i : i + self.batch]), norm=False, batch_size=self.batch))
            for i in range(0, len(texts), self.batch)
        ]
        return np.vstack(chunks).astype(np.float32, copy=False)
