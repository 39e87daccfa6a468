"""Encoders for roles scikit-learn has no encoder for: tri-state fields and kept free text (TF-IDF terms,
or word themes by truncated SVD).

One-hot (with rare levels grouped), ordinal and cross-fitted target encoding are
scikit-learn's own; ``build.py`` configures them.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from trainyard.data.values import TRISTATE_VOCABULARY, is_missing, normalise_word
from trainyard.errors import SchemaError
from trainyard.tabular.prep.base import Columns, FrameTransformer

DEFAULT_VOCABULARY = TRISTATE_VOCABULARY
_normalise = normalise_word


class TriStateEncoder(FrameTransformer):
    """ON / OFF / NotAvailable -> 1 / -1 / 0, with a configurable vocabulary.

    The vocabulary maps normalised words (lower case, no spaces, hyphens or
    underscores) to 1, -1 or 0. Missing cells become 0 (not available); a value
    outside the vocabulary seen at predict time also becomes 0 and is counted in
    ``unknown_counts_`` of the last transform.
    """

    def __init__(self, *, vocabulary: dict[str, int] | None = None):
        self.vocabulary = vocabulary

    def fit(self, X, y=None):
        X = self._start_fit(X)
        vocabulary = {_normalise(k): int(v) for k, v in (self.vocabulary or DEFAULT_VOCABULARY).items()}
        bad = {k: v for k, v in vocabulary.items() if v not in (-1, 0, 1)}
        if bad:
            raise ValueError(f"tri-state vocabulary values must be 1, -1 or 0, got {bad}")
        for column in X.columns:
            seen = {_normalise(v) for v in X[column].dropna().unique()}
            unknown = sorted(seen - set(vocabulary))
            if unknown:
                raise SchemaError(
                    f"column {column!r} has values outside the tri-state vocabulary: {', '.join(unknown[:5])}"
                )
        self.vocabulary_ = vocabulary
        self.feature_names_out_ = list(X.columns)
        return self

    def transform(self, X):
        X = self._start_transform(X)
        out = {}
        self.unknown_counts_ = {}
        for column in X.columns:
            words = X[column].map(lambda v: None if pd.isna(v) else _normalise(v))
            codes = words.map(self.vocabulary_)
            self.unknown_counts_[column] = int((words.notna() & codes.isna()).sum())
            out[column] = codes.fillna(0).astype("float64")
        return pd.DataFrame(out, index=X.index)

    def transform_arrays(self, columns: Columns) -> Columns:
        vocabulary = self.vocabulary_
        return {
            c: np.fromiter(
                (0.0 if is_missing(v) else float(vocabulary.get(_normalise(v), 0)) for v in columns[c]),
                float,
                len(columns[c]),
            )
            for c in self.feature_names_out_
        }


class TextTfidf(FrameTransformer):
    """Free text, when kept, as TF-IDF weights of its most frequent terms (dense columns)."""

    def __init__(self, *, max_features: int = 50):
        self.max_features = max_features

    def fit(self, X, y=None):
        X = self._start_fit(X)
        self.vectorizers_ = {}
        names = []
        for column in X.columns:
            vectorizer = TfidfVectorizer(max_features=self.max_features, stop_words="english")
            vectorizer.fit(X[column].fillna("").astype(str))
            self.vectorizers_[column] = vectorizer
            names += [f"{column}__{term}" for term in vectorizer.get_feature_names_out()]
        self.feature_names_out_ = names
        return self

    def transform(self, X):
        X = self._start_transform(X)
        blocks = [self.vectorizers_[c].transform(X[c].fillna("").astype(str)).toarray() for c in self.vectorizers_]
        data = np.hstack(blocks) if blocks else np.empty((len(X), 0))
        return pd.DataFrame(data, columns=self.feature_names_out_, index=X.index)

    def transform_arrays(self, columns: Columns) -> Columns:
        blocks = [self.vectorizers_[c].transform(_texts(columns[c])).toarray() for c in self.vectorizers_]
        return _named(blocks, self.feature_names_out_, columns)


class TextWords(FrameTransformer):
    """Free text as a few dozen dense columns: TF-IDF of its words, reduced by truncated SVD.

    Each column keeps ``n_components`` directions of its TF-IDF matrix (fewer when its
    vocabulary is smaller), so a tree model sees the themes of the text, not 5,000 sparse terms.
    Words only, not word pairs: pairs made each fit about three times slower, and every model fits
    this once per fold (docs/benchmarks.md, "Measurements behind the code").
    """

    def __init__(self, *, n_components: int = 20, max_terms: int = 5_000, seed: int = 0):
        self.n_components = n_components
        self.max_terms = max_terms
        self.seed = seed

    def fit(self, X, y=None):
        from sklearn.decomposition import TruncatedSVD

        X = self._start_fit(X)
        self.steps_ = {}
        names = []
        for column in X.columns:
            text = X[column].fillna("").astype(str)
            vectorizer = TfidfVectorizer(min_df=2, max_features=self.max_terms, sublinear_tf=True)
            try:
                terms = vectorizer.fit_transform(text)
            except ValueError:  # no term in two rows: nothing to learn from this column
                continue
            n = min(self.n_components, terms.shape[1] - 1)
            if n < 1:
                continue
            svd = TruncatedSVD(n_components=n, random_state=self.seed).fit(terms)
            self.steps_[column] = (vectorizer, svd)
            names += [f"{column}__words{i}" for i in range(n)]
        self.feature_names_out_ = names
        return self

    def transform(self, X):
        X = self._start_transform(X)
        blocks = [
            svd.transform(vectorizer.transform(X[c].fillna("").astype(str)))
            for c, (vectorizer, svd) in self.steps_.items()
        ]
        data = np.hstack(blocks) if blocks else np.empty((len(X), 0))
        return pd.DataFrame(data, columns=self.feature_names_out_, index=X.index)

    def transform_arrays(self, columns: Columns) -> Columns:
        blocks = [
            svd.transform(vectorizer.transform(_texts(columns[c]))) for c, (vectorizer, svd) in self.steps_.items()
        ]
        return _named(blocks, self.feature_names_out_, columns)


def _texts(values: np.ndarray) -> list[str]:
    """A text column's values as the vectorisers read them (``fillna("").astype(str)``)."""
    return ["" if is_missing(v) else str(v) for v in values]


def _named(blocks: list[np.ndarray], names: list[str], columns: Columns) -> Columns:
    n_rows = len(next(iter(columns.values()))) if columns else 0
    data = np.hstack(blocks) if blocks else np.empty((n_rows, 0))
    return {name: data[:, i] for i, name in enumerate(names)}


class AsCategory(FrameTransformer):
    """Categorical columns as pandas ``category`` dtype, for models that split on categories natively.

    LightGBM and XGBoost read the dtype; the categories are fixed in ``fit`` so the
    codes mean the same at predict time, and a level never seen becomes missing.
    It beat target encoding of many-level columns for LightGBM (docs/benchmarks.md,
    "Measurements behind the code").
    """

    def fit(self, X, y=None):
        X = self._start_fit(X)
        self.categories_ = {c: sorted(map(str, X[c].dropna().unique())) for c in X.columns}
        self.feature_names_out_ = list(X.columns)
        return self

    def transform(self, X):
        X = self._start_transform(X)
        out = {}
        for column in X.columns:
            values = X[column].astype("string").astype(object)
            # a level never seen becomes missing (code -1), as it should; pandas 4 will refuse to do it implicitly
            dtype = _category_dtype(tuple(self.categories_[column]))
            out[column] = pd.Categorical.from_codes(dtype.categories.get_indexer(values), dtype=dtype)
        return pd.DataFrame(out, index=X.index)

    def transform_arrays(self, columns: Columns) -> Columns:
        """Each level's position among the fitted categories as a float, NaN for a missing value or a level
        never seen (the code -1 of ``transform``): what XGBoost and LightGBM read from a category column."""
        out = {}
        for column in self.feature_names_out_:
            lookup = _category_positions(tuple(self.categories_[column]))
            values = columns[column]
            out[column] = np.fromiter(
                (np.nan if is_missing(v) else lookup.get(str(v), np.nan) for v in values), float, len(values)
            )
        return out


@functools.lru_cache(maxsize=1024)
def _category_positions(categories: tuple[str, ...]) -> dict[str, float]:
    return {level: float(i) for i, level in enumerate(categories)}


@functools.lru_cache(maxsize=1024)
def _category_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """Built once per set of levels: building it (a hash table of the levels) dominated predicting one row."""
    return pd.CategoricalDtype(list(categories))
