"""The keyword side: BM25 through bm25s and TF-IDF through scikit-learn, saved as arrays and JSON.

Both score whole documents: BM25's length normalisation is made for that, and passages
exist only for the embedding model's 256-token window.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from trainyard.search.text import analyze


class BM25Index:
    """bm25s over the analyzer's terms; ``k1``, ``b`` and the variant ``method`` are settable."""

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "lucene") -> None:
        self.k1, self.b, self.method = k1, b, method
        self._model: Any = None  # bm25s.BM25, once fitted or loaded

    def fit(self, texts: list[str]) -> BM25Index:
        import bm25s

        self._model = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        self._model.index(_tokenized(texts), show_progress=False)
        return self

    def search(self, queries: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` document rows and scores per query (arrays of shape queries x k).

        bm25s's own scoring (``get_scores_from_ids``) with a plain top-k: its ``retrieve``
        spends more time converting query tokens than scoring them.
        """
        k = min(k, self.size)
        vocab = self._model.vocab_dict
        rows = np.empty((len(queries), k), dtype=np.int64)
        scores = np.empty((len(queries), k), dtype=np.float32)
        for i, query in enumerate(queries):
            ids = [vocab[t] for t in analyze(query) if t in vocab]
            row_scores = self._model.get_scores_from_ids(ids) if ids else np.zeros(self.size, np.float32)
            top = np.argpartition(-row_scores, k - 1)[:k] if k < self.size else np.arange(self.size)
            top = top[np.argsort(-row_scores[top], kind="stable")]
            rows[i], scores[i] = top, row_scores[top]
        return rows, scores

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every document for analyzed ``terms`` (unknown terms score 0)."""
        known = [t for t in terms if t in self._model.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return self._model.get_scores(known)

    @property
    def size(self) -> int:
        return int(self._model.scores["num_docs"])

    def save(self, directory: Path) -> None:
        self._model.save(directory, show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        import bm25s

        model = bm25s.BM25.load(directory, mmap=False, show_progress=False)
        index = cls(model.k1, model.b, model.method)
        index._model = model
        return index

    def rows(self) -> int:
        """Documents indexed, after checking that the arrays agree with each other (ValueError if not)."""
        scores = self._model.scores
        indptr, indices, data = scores["indptr"], scores["indices"], scores["data"]
        if len(indptr) != len(self._model.vocab_dict) + 1 or len(indices) != len(data) or indptr[-1] != len(data):
            raise ValueError(
                f"its arrays disagree ({len(indptr)} pointers for {len(self._model.vocab_dict)} terms, "
                f"{len(indices)} indices, {len(data)} scores)"
            )
        if len(indices) and (indices.min() < 0 or indices.max() >= scores["num_docs"]):
            raise ValueError(f"a document number outside 0..{scores['num_docs'] - 1}")
        return int(scores["num_docs"])


def _tokenized(texts: list[str]):
    """bm25s's own Tokenized form (ids and vocabulary) built from the shared analyzer."""
    from bm25s.tokenization import Tokenized

    vocab: dict[str, int] = {"": 0}  # bm25s reserves an empty token for empty passages
    ids = []
    for text in texts:
        ids.append([vocab.setdefault(term, len(vocab)) for term in analyze(text)] or [0])
    return Tokenized(ids=ids, vocab=vocab)


class TfidfIndex:
    """Sublinear TF-IDF with l2 norms over the analyzer's terms; cosine similarity scores."""

    def __init__(self) -> None:
        self._vectorizer: Any = None  # TfidfVectorizer, once fitted or loaded
        self.matrix: sp.csr_matrix | None = None

    def fit(self, texts: list[str]) -> TfidfIndex:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, dtype=np.float32)
        self.matrix = self._vectorizer.fit_transform(texts).tocsr()
        return self

    def search(self, queries: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        assert self.matrix is not None, "fit or load the index first"
        k = min(k, self.matrix.shape[0])
        scores = (self._vectorizer.transform(queries) @ self.matrix.T).toarray()
        rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return rows, np.take_along_axis(scores, rows, axis=1)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        vocabulary = {term: int(i) for term, i in self._vectorizer.vocabulary_.items()}
        (directory / "vocabulary.json").write_text(json.dumps(vocabulary), encoding="utf-8")
        np.save(directory / "idf.npy", self._vectorizer.idf_.astype(np.float64), allow_pickle=False)
        sp.save_npz(directory / "matrix.npz", self.matrix)

    @classmethod
    def load(cls, directory: Path) -> TfidfIndex:
        from sklearn.feature_extraction.text import TfidfVectorizer

        index = cls()
        vocabulary = json.loads((directory / "vocabulary.json").read_text(encoding="utf-8"))
        vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, dtype=np.float32, vocabulary=vocabulary)
        vectorizer.idf_ = np.load(directory / "idf.npy", allow_pickle=False)
        index._vectorizer = vectorizer
        index.matrix = sp.load_npz(directory / "matrix.npz").tocsr()
        return index

    def rows(self) -> int:
        """Documents indexed, after checking the vocabulary, the idf and the matrix agree (ValueError if not)."""
        assert self._vectorizer is not None and self.matrix is not None, "a loaded index"
        terms = len(self._vectorizer.vocabulary)
        if self._vectorizer.idf_.shape != (terms,) or self.matrix.shape[1] != terms:
            raise ValueError(
                f"{terms} terms, {self._vectorizer.idf_.shape[0]} idf values, {self.matrix.shape[1]} matrix columns"
            )
        return int(self.matrix.shape[0])
