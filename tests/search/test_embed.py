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
