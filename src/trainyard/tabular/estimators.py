"""scikit-learn estimators over the whole trainer: ``AutoRegressor`` and ``AutoClassifier``.

``fit(X, y)`` profiles the table, cleans and encodes it, trains the catalog side by side within
``time_limit``, validates honestly and keeps the best model (or the ensemble), refit on every row.
They work wherever an estimator does: ``cross_val_score``, ``Pipeline``, ``clone``, ``GridSearchCV``.

    >>> model = AutoRegressor(time_limit=60).fit(X, y)
    >>> model.predict(X_new), model.leaderboard_, model.best_
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from trainyard.errors import TrainyardError

TARGET = "target"


class _AutoEstimator(BaseEstimator):
    _task: str  # "regression" or "classification"

    def __init__(
        self,
        time_limit: float | None = 60.0,
        models: list[str] | None = None,
        recipe: Any = "auto",
        metric: str | None = None,
        seed: int = 0,
        folds: int = 5,
        tune: bool = True,
        ensemble: bool = True,
        mlflow: str | None = None,
    ):
        self.time_limit = time_limit
        self.models = models
        self.recipe = recipe
        self.metric = metric
        self.seed = seed
        self.folds = folds
        self.tune = tune
        self.ensemble = ensemble
        self.mlflow = mlflow

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are the trainer's to handle
        tags.input_tags.string = True  # text, categories and dates in a DataFrame are read as such
        tags.non_deterministic = False
        return tags

    def fit(self, X: Any, y: Any) -> _AutoEstimator:
        """Train the catalog on ``X`` (a DataFrame, or an array) and ``y``; keep the best model."""
        from trainyard.tabular.leaderboard import to_frame
        from trainyard.tabular.metrics import primary_metric
        from trainyard.tabular.training.config import TrainConfig
        from trainyard.tabular.training.trainer import train

        if self.mlflow is not None:  # before any work: a missing extra or server is no reason to train and then fail
            from trainyard.tabular.tracking.mlflow_runs import check_store

            check_store(self.mlflow)
        frame = self._features(X, reset=True)
        y = self._target(y, len(frame))
        target = _free_name(frame.columns)
        table = frame.assign(**{target: y})
        task = "regression" if self._task == "regression" else ("binary" if len(np.unique(y)) == 2 else "multiclass")
        # every parameter that is a training option goes to the trainer as it is (TrainConfig checks it)
        options = {n: getattr(self, n) for n in self._get_param_names() if n in TrainConfig.names()}
        try:
            result = train(table, target, task=task, **options)
        except TrainyardError as err:  # scikit-learn's convention for input it cannot use
            raise ValueError(str(err)) from err
        self.result_ = result
        self.model_ = result.model
        self.best_ = result.best.name
        self.leaderboard_ = to_frame(result.entries, primary_metric(result.schema.required_task(), self.metric))
        if result.classes is not None:
            self.classes_ = np.asarray(result.classes)
        if self.mlflow is not None:
            self.mlflow_run_ = _log_to_mlflow(result, self.mlflow)
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict(self._features(X, reset=False)))

    def _features(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """``X`` as the DataFrame the trainer reads: a DataFrame's own columns, or x0..xN for an array."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] < (2 if reset else 1) or X.shape[1] < 1:
                raise ValueError(
                    f"Found a table with {X.shape[0]} sample(s) and {X.shape[1]} column(s) while a "
                    f"minimum of {2 if reset else 1} samples and 1 column is required"
                )
            frame = X.reset_index(drop=True)
            if not all(isinstance(c, str) for c in frame.columns):  # the trainer names columns with text
                frame.columns = [str(c) for c in frame.columns]
            return frame
        array = validate_data(
            self, X, reset=reset, dtype=None, ensure_all_finite="allow-nan", ensure_min_samples=2 if reset else 1
        )
        if array.dtype.kind == "O":  # an array of mixed values: each column as pandas reads it
            return pd.DataFrame(array, columns=self._array_names(array.shape[1])).infer_objects()
        if array.dtype.kind == "c":
            raise ValueError("Complex data not supported")
        names = getattr(self, "feature_names_in_", None)
        columns = list(names) if names is not None else self._array_names(array.shape[1])
        return pd.DataFrame(array, columns=columns)

    @staticmethod
    def _array_names(n: int) -> list[str]:
        return [f"x{i}" for i in range(n)]

    def _target(self, y: Any, n_rows: int) -> np.ndarray:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        y = column_or_1d(y, warn=True)
        if len(y) != n_rows:
            raise ValueError(f"X has {n_rows} rows but y has {len(y)}")
        if self._task == "classification":
            check_classification_targets(y)
            if len(pd.unique(y)) < 2:
                raise ValueError(f"y holds only one class ({y[0]!r}): a classifier needs at least two")
            return np.asarray(y)
        return np.asarray(check_array(y, ensure_2d=False, dtype="numeric", input_name="y"))


class AutoRegressor(RegressorMixin, _AutoEstimator):
    """Train trainyard's regression catalog within ``time_limit`` seconds and predict with the best.

    Parameters: ``time_limit`` (seconds for the whole fit; None: no limit), ``models`` (catalog names;
    None: the catalog for the table's size), ``recipe`` (``auto``, ``notes-basic``, ``notes-winning``, a TOML
    path, a dict or a Recipe), ``metric`` (the ranking metric; None: R²), ``seed`` (drives every random
    choice), ``folds`` (cross-validation folds), ``tune`` (Optuna on the best models), ``ensemble`` (a
    weighted blend when it beats the best single model), ``mlflow`` (log each fit to MLflow: ``"local"`` for
    ./mlflow.db, or a tracking URI; needs the ``mlflow`` extra).

    Fitted attributes: ``model_`` (the chosen model, a scikit-learn estimator), ``best_`` (its name),
    ``leaderboard_`` (a DataFrame), ``result_`` (the full ``TrainResult``), ``n_features_in_``,
    ``feature_names_in_`` and ``mlflow_run_`` (the MLflow run's id, when logged).
    """

    _task = "regression"


class AutoClassifier(ClassifierMixin, _AutoEstimator):
    """Train trainyard's classification catalog within ``time_limit`` seconds and predict with the best.

    The parameters are those of ``AutoRegressor``; the ranking metric defaults to ROC AUC for two classes
    and log loss for more. ``classes_`` are the labels of ``y`` (sorted); ``predict`` gives labels and
    ``predict_proba`` one column per class in that order.
    """

    _task = "classification"

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict_proba(self._features(X, reset=False)))


def _log_to_mlflow(result: Any, uri: str) -> str:
    """Save the fit as a run (with its report) in a temporary folder and log that to MLflow; the run's id."""
    import tempfile
    from pathlib import Path

    from trainyard.tabular.report import write_report
    from trainyard.tabular.runs.store import Run, save_run
    from trainyard.tabular.tracking.mlflow_runs import log_run

    with tempfile.TemporaryDirectory() as tmp:
        run = Run.of_result(result, save_run(result, Path(tmp) / type(result).__name__))
        run.report, _ = write_report(run)
        return log_run(run, uri)


def _free_name(columns: pd.Index) -> str:
    """A target column name that no feature has."""
    name, taken = TARGET, set(map(str, columns))
    while name in taken:
        name = "_" + name
    return name
