from __future__ import annotations

import numpy as np

from trainyard.search.documents import load
from trainyard.search.embed import Embedder, default_model_path


def test_fast_path_agrees_with_sentence_transformers_default(cran_slice):
    """Length-sorted small batches change nothing: cosine with the reference encode >= 0.99 (in fact ~1)."""
    from sentence_transformers import SentenceTransformer

    texts = [d.full_text() for d in load(cran_slice)][:40]
    ours = Embedder().encode(texts)
    reference = SentenceTransformer(str(default_model_path()), device="cpu").encode(texts, normalize_embeddings=True)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.999
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)


def test_progress_and_determinism():
    seen: list[int] = []
    texts = [f"document number {i} about flow" for i in range(37)]
    first = Embedder().encode(texts, progress=seen.append)
    assert sum(seen) == 37 and len(seen) == 5
    np.testing.assert_array_equal(first, Embedder().encode(texts))


def test_queries_through_onnx_equal_the_models_own(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINYARD_CACHE", str(tmp_path))
    queries = ["boundary layer transition", "what is the effect of a propeller slipstream on the lift of a wing?"]
    embedder = Embedder()
    assert embedder.fast_queries() is None  # nothing in this cache yet: the model's own path, then the export
    slow = embedder.encode_queries(queries)
    assert embedder.onnx_file.exists() and embedder.onnx_file.parent == tmp_path / "embedders"
    fresh = Embedder()  # a new process's embedder: the ONNX copy, no sentence-transformers
    fast = fresh.encode_queries(queries)
    assert fresh.fast_queries() is not None and fresh._loaded is None
    np.testing.assert_allclose((slow * fast).sum(1), 1.0, atol=1e-5)
    embedder.onnx_file.write_bytes(b"damaged")  # a damaged cache file: the model's own path again
    assert Embedder().fast_queries() is None and not embedder.onnx_file.exists()
