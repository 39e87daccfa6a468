"""Fitted models as estimators: the weighted ensemble of pipelines, and the model in the user's labels.

Classifiers inside trainyard learn class codes 0..k-1 (a fold may miss a rare class; the codes keep every
class's column). What the product hands out, a loaded run's ``model`` or an ``AutoClassifier``, is a
``LabelledModel``: it predicts the user's labels and orders ``predict_proba``'s columns as ``classes_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

from trainyard.tabular.models.output import predict_output
from trainyard.tabular.saved import saved


@saved
class EnsembleModel(BaseEstimator):
    """A weighted average of fitted pipelines' predictions (or class probabilities over codes 0..k-1).

    ``fit`` refits every member on new rows (each a clone, with its own settings); the weights stay.
    """

    def __init__(self, members: list | None = None, weights: list[float] | None = None, task: str = "regression"):
        self.members = members
        self.weights = weights
        self.task = task

    def _pairs(self) -> list[tuple[Any, float]]:
        if not self.members or not self.weights:
            raise ValueError("an ensemble needs members and their weights")
        return list(zip(self.members, self.weights))

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(self._n_classes())

    @property
    def first_member(self) -> Any:
        """The first pipeline (the plan and the report explain its preprocessing)."""
        return self._pairs()[0][0]

    def _n_classes(self) -> int:
        return 0 if self.task == "regression" else len(self._pairs()[0][0][-1].classes_)

    def fit(self, X, y) -> EnsembleModel:
        self.members = [clone(member).fit(X, y) for member, _ in self._pairs()]
        return self

    def predict_output(self, X) -> np.ndarray:
        n_classes = self._n_classes()
        outputs = [w * predict_output(m, X, self.task, n_classes) for m, w in self._pairs()]
        total = outputs[0]
        for output in outputs[1:]:  # in member order, as the trainer blended them
            total = total + output
        return total

    def predict_proba(self, X) -> np.ndarray:
        if self.task == "regression":
            raise AttributeError("a regression ensemble has no predict_proba")
        return self.predict_output(X)

    def predict(self, X) -> np.ndarray:
        output = self.predict_output(X)
        return output if self.task == "regression" else output.argmax(axis=1)


class LabelledModel(BaseEstimator):
    """A fitted trainyard model (a pipeline or an ensemble, learning class codes) in the user's labels.

    ``predict`` gives labels (or values), ``predict_proba`` one column per label in ``classes_`` order,
    ``fit(X, y)`` refits it on rows labelled the same way.
    """

    def __init__(self, estimator: Any = None, classes: list | None = None, task: str = "regression"):
        self.estimator = estimator
        self.classes = classes
        self.task = task

    @property
    def classes_(self) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("a regression model has no classes_")
        return np.asarray(self.classes)

    def fit(self, X, y) -> LabelledModel:
        if self.classes is not None:
            codes = {label: i for i, label in enumerate(self.classes)}
            unknown = sorted({v for v in y if v not in codes}, key=str)
            if unknown:
                raise ValueError(f"labels {unknown[:5]} are not among the model's classes {list(self.classes)}")
            y = np.asarray([codes[v] for v in y])
        self.estimator.fit(X, y)
        return self

    def predict_output(self, X) -> np.ndarray:
        """Values for regression; probabilities over the classes (columns in ``classes_`` order)."""
        if isinstance(self.estimator, EnsembleModel):
            return self.estimator.predict_output(X)
        return predict_output(self.estimator, X, self.task, len(self.classes or []))

    def predict_proba(self, X) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("a regression model has no predict_proba")
        return self.predict_output(X)

    def predict(self, X) -> np.ndarray:
        output = self.predict_output(X)
        if self.classes is None:
            return output
        return self.classes_[output.argmax(axis=1)]
