"""A fitted model's output on rows: values for regression, probabilities over every class for classification.

The trainer, the saved run, the report and the compiled server all read a model's output through here,
so a class a fold never saw still has its column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline


def predict_output(pipeline: Pipeline, X: pd.DataFrame, task: str, n_classes: int) -> np.ndarray:
    """Predictions for regression; class probabilities (columns 0..k-1) for classification.
    ``pipeline`` may also be a fitted model on its own (the compiled server feeds it prepared rows)."""
    if task == "regression":
        return np.asarray(pipeline.predict(X), dtype=float)
    model = pipeline[-1] if isinstance(pipeline, Pipeline) else pipeline
    if hasattr(model, "predict_proba"):
        proba = np.asarray(pipeline.predict_proba(X), dtype=float)
    else:  # a model without probabilities: one-hot of its labels
        labels = np.asarray(pipeline.predict(X), dtype=int)
        proba = np.eye(len(model.classes_))[np.searchsorted(model.classes_, labels)]
    return spread_classes(proba, model.classes_, n_classes)


def spread_classes(proba: np.ndarray, classes, n_classes: int) -> np.ndarray:
    """A model's probabilities over the classes it saw, as columns 0..k-1 (a fold may miss a rare class)."""
    full = np.zeros((len(proba), n_classes))
    full[:, np.asarray(classes, dtype=int)] = proba
    return full
