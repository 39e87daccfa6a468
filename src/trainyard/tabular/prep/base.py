"""The base for trainyard's DataFrame transformers.

Constructors store, ``fit`` computes (learned state ends in ``_``), ``transform``
checks it is fitted. Every part takes and returns a DataFrame, names its output
columns, clones, pickles and goes through skops.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from trainyard.errors import SchemaError
from trainyard.tabular.saved import saved

# Rows at or below which predicting takes the steps' array forms (``transform_arrays``): a prediction request
# of a few rows spends more in pandas than in the work itself.
SMALL_FRAME = 64

Columns = dict[str, np.ndarray]  # a few rows as column name -> array: the steps' small-input form


def as_floats(values: np.ndarray) -> np.ndarray:
    """Numbers as floats, any shape; in an object array None is NaN (as ``astype("float64")`` reads a column)."""
    if values.dtype != object:
        return values.astype(float)
    return np.array([np.nan if v is None else v for v in values.ravel()], dtype=float).reshape(values.shape)


class FrameTransformer(TransformerMixin, BaseEstimator):
    """A transformer over named DataFrame columns; subclasses set ``feature_names_out_``.

    Each subclass has two forms of the same rule: ``transform`` (a DataFrame, any number of rows) and
    ``transform_arrays`` (column name -> array, for the few rows of a prediction request: plain Python
    per value, no pandas); tests/tabular/prep/test_contract.py checks that they agree on every subclass.

    Every subclass is marked as saved (``trainyard.tabular.saved``): a step the pipelines hold is a step the
    loader trusts, with nothing else to edit.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        saved(cls)

    def _start_fit(self, X: pd.DataFrame) -> pd.DataFrame:
        X = _as_frame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        return X

    def _start_transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_out_")
        X = _as_frame(X, list(self.feature_names_in_))
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise SchemaError(
                f"missing column(s) {', '.join(map(str, missing))}; the data must have the columns it was fitted on"
            )
        return X

    def transform_arrays(self, columns: Columns) -> Columns:
        """``transform`` for a few rows as column -> array: the output columns, by ``feature_names_out_``."""
        raise NotImplementedError(f"{type(self).__name__} has no array form")

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)


def _as_frame(X, columns: list[str] | None = None) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        return X.to_frame()
    array = np.asarray(X)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    names = (
        columns if columns is not None and len(columns) == array.shape[1] else [f"x{i}" for i in range(array.shape[1])]
    )
    return pd.DataFrame(array, columns=names)


def check_columns(X: pd.DataFrame, columns: list[str], owner: str) -> None:
    """An unknown column named by a step is a one-line error naming it."""
    unknown = [c for c in columns if c not in X.columns]
    if unknown:
        raise SchemaError(
            f"{owner}: unknown column(s) {', '.join(map(repr, unknown))}; columns: {', '.join(map(str, X.columns))}"
        )
