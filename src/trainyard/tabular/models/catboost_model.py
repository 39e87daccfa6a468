"""CatBoost, fed by trainyard's pipeline: the columns that arrive as pandas categories are its categorical
features (CatBoost's ordered target statistics), found in ``fit`` from the dtypes.

Imported only when a CatBoost model is built: ``catboost`` loads a large native library.
"""

from __future__ import annotations

import catboost
import numpy as np
import pandas as pd

from trainyard.tabular.saved import saved

MISSING_LEVEL = "(missing)"  # CatBoost takes no missing value in a categorical feature


def as_catboost_frame(X) -> tuple[pd.DataFrame, list[str]]:
    """The frame with its category columns as strings (missing as a level of its own), and their names."""
    if not isinstance(X, pd.DataFrame):
        return X, []
    categories = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    if not categories:
        return X, []
    X = X.copy()
    for column in categories:
        X[column] = X[column].astype(object).where(X[column].notna(), MISSING_LEVEL).astype(str)
    return X, categories


def _prepare_fit(model, X, kwargs):
    X, categories = as_catboost_frame(X)
    model.set_params(cat_features=categories or None)
    if "eval_set" in kwargs:  # early stopping's inner split arrives with the same columns
        kwargs["eval_set"] = [(as_catboost_frame(Xv)[0], yv) for Xv, yv in kwargs["eval_set"]]
        kwargs.pop("verbose", None)
    return X, kwargs


@saved
class CatBoostRegressor(catboost.CatBoostRegressor):
    """CatBoost's regressor, taking the pipeline's category columns as its categorical features."""

    def fit(self, X, y=None, **kwargs):
        X, kwargs = _prepare_fit(self, X, kwargs)
        return super().fit(X, y, **kwargs)

    def predict(self, X, *args, **kwargs):
        return super().predict(as_catboost_frame(X)[0], *args, **kwargs)


@saved
class CatBoostClassifier(catboost.CatBoostClassifier):
    """CatBoost's classifier, taking the pipeline's category columns as its categorical features."""

    def fit(self, X, y=None, **kwargs):
        X, kwargs = _prepare_fit(self, X, kwargs)
        return super().fit(X, y, **kwargs)

    def predict(self, X, *args, **kwargs):
        return np.asarray(super().predict(as_catboost_frame(X)[0], *args, **kwargs)).ravel()

    def predict_proba(self, X, *args, **kwargs):
        return super().predict_proba(as_catboost_frame(X)[0], *args, **kwargs)
