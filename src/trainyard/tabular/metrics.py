"""The metric registry: every score a task reports, and which one ranks the leaderboard."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from trainyard.errors import SchemaError


@dataclass(frozen=True)
class Metric:
    """A metric: its function, whether greater is better, and whether it needs probabilities."""

    name: str
    fn: Callable | None  # (y_true, prediction) -> float; prediction is labels or probabilities; None: see score()
    greater_is_better: bool
    needs_proba: bool = False


def _rmse(y, p):
    return float(np.sqrt(skm.mean_squared_error(y, p)))


def _rmsle(y, p):
    if np.any(np.asarray(y) < 0):
        return float("nan")
    return float(np.sqrt(skm.mean_squared_log_error(y, np.clip(p, 0, None))))


def _negatives(y, p):
    return float(np.sum(np.asarray(p) < 0))


def _roc_auc(y, proba, labels=None):
    proba = np.asarray(proba)
    if proba.ndim == 2 and proba.shape[1] == 2:
        return float(skm.roc_auc_score(y, proba[:, 1]))
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels))


REGRESSION = {
    "r2": Metric("r2", lambda y, p: float(skm.r2_score(y, p)), True),
    "rmse": Metric("rmse", _rmse, False),
    "mae": Metric("mae", lambda y, p: float(skm.mean_absolute_error(y, p)), False),
    "mape": Metric("mape", lambda y, p: float(skm.mean_absolute_percentage_error(y, p)), False),
    "rmsle": Metric("rmsle", _rmsle, False),
    "negative_predictions": Metric("negative_predictions", _negatives, False),
}
CLASSIFICATION = {
    "accuracy": Metric("accuracy", lambda y, p: float(skm.accuracy_score(y, p)), True),
    "balanced_accuracy": Metric("balanced_accuracy", lambda y, p: float(skm.balanced_accuracy_score(y, p)), True),
    "f1": Metric("f1", lambda y, p: float(skm.f1_score(y, p, average="macro")), True),
    "log_loss": Metric("log_loss", None, False, needs_proba=True),  # needs the class order: see score()
    "roc_auc": Metric("roc_auc", None, True, needs_proba=True),
}
PRIMARY = {"regression": "r2", "binary": "roc_auc", "multiclass": "log_loss"}


def metrics_for(task: str) -> dict[str, Metric]:
    """The metrics of a task: regression's, or classification's."""
    return REGRESSION if task == "regression" else CLASSIFICATION


def primary_metric(task: str, name: str | None = None) -> Metric:
    """The ranking metric: ``name`` if it belongs to the task (else one line listing those that do), or the task's
    default."""
    table = metrics_for(task)
    name = name or PRIMARY[task]
    if name not in table:
        hint = ""
        if task != "regression" and name in REGRESSION:
            hint = "; or, if the target is a quantity, ask for task='regression'"
        elif task == "regression" and name in CLASSIFICATION:
            hint = "; or, if the target is a set of labels, ask for task='binary' or task='multiclass'"
        raise SchemaError(f"metric {name!r} does not apply to {task}; choose one of {', '.join(table)}{hint}")
    return table[name]


def score(task: str, y_true, prediction, proba=None, classes=None) -> dict[str, float]:
    """Every metric of the task. ``proba`` columns follow ``classes``."""
    out: dict[str, float] = {}
    for name, metric in metrics_for(task).items():
        if metric.needs_proba and proba is None:
            continue
        out[name] = score_one(task, name, y_true, prediction, proba, classes)
    return out


def score_one(task: str, name: str, y_true, prediction, proba=None, classes=None) -> float:
    """One metric on labels or probabilities; NaN where it is undefined (one class in the rows)."""
    metric = metrics_for(task)[name]
    try:
        with warnings.catch_warnings():
            # one class in a small fresh set or a bootstrap resample: the score is NaN, not a warning per call
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
            if name == "log_loss":
                return float(skm.log_loss(y_true, np.clip(proba, 1e-15, 1), labels=classes))
            if name == "roc_auc":
                return _roc_auc(y_true, proba, labels=classes)
            assert metric.fn is not None, f"{name} is scored above"
            return metric.fn(y_true, prediction)
    except ValueError:  # e.g. one class only in a small fresh set
        return float("nan")


def classification_details(y_true, prediction, classes) -> dict:
    """The confusion matrix and the classification report, as plain data."""
    return {
        "classes": [str(c) for c in classes],
        "confusion_matrix": skm.confusion_matrix(y_true, prediction, labels=classes).tolist(),
        "report": skm.classification_report(y_true, prediction, labels=classes, output_dict=True, zero_division=0),
    }


def metric_value(task: str, metric_name: str, y: np.ndarray, output: np.ndarray, n_classes: int) -> float:
    """One metric only (the ensemble search calls this thousands of times)."""
    if metric_name in _ON_RESAMPLES:
        return float(_ON_RESAMPLES[metric_name](np.asarray(y), np.asarray(output), np.arange(len(y))[None, :])[0])
    if task == "regression":
        return score_one(task, metric_name, y, output)
    return score_one(task, metric_name, y, output.argmax(axis=1), proba=output, classes=list(range(n_classes)))


def bootstrap_se(
    task: str, metric_name: str, y: np.ndarray, output: np.ndarray, n_classes: int, *, seed: int = 0, rounds: int = 200
) -> float | None:
    """The standard error of one metric on these rows: its spread over bootstrap resamples of them."""
    rng = np.random.default_rng(seed)
    if metric_name in _ON_RESAMPLES:  # the same resamples as the loop below, drawn at once
        values = np.concatenate([
            _ON_RESAMPLES[metric_name](np.asarray(y), np.asarray(output), rng.integers(0, len(y), (chunk, len(y))))
            for chunk in _chunks(rounds, len(y))
        ])  # fmt: skip
        values = values[np.isfinite(values)]
        return float(np.std(values, ddof=1)) if len(values) >= rounds // 2 else None
    found = []
    for _ in range(rounds):
        rows = rng.integers(0, len(y), len(y))
        try:
            value = metric_value(task, metric_name, y[rows], output[rows], n_classes)
        except ValueError:  # a resample with one class has no ROC AUC
            continue
        if np.isfinite(value):
            found.append(value)
    return float(np.std(found, ddof=1)) if len(found) >= rounds // 2 else None


def _chunks(rounds: int, n: int, cells: int = 4_000_000) -> list[int]:
    """Resamples per batch, so that a batch's index matrix stays near ``cells`` entries."""
    size = max(1, min(rounds, cells // max(n, 1)))
    return [min(size, rounds - start) for start in range(0, rounds, size)]


# The metrics that are means (or simple functions of sums) over rows, computed with numpy on a matrix of row
# indices (one resample per row of it): scikit-learn's checks cost ~6 ms a call, which the ensemble search
# and the bootstrap pay thousands of times. Same definitions as scikit-learn's (tests/tabular/test_metrics.py).
def _log_loss_on(y, proba, rows):
    eps = np.finfo(proba.dtype).eps if proba.dtype.kind == "f" else np.finfo(float).eps
    p = np.clip(np.clip(proba, 1e-15, 1)[np.arange(len(y)), y.astype(int)], eps, 1 - eps)
    return (-np.log(p))[rows].mean(axis=1)


def _accuracy_on(y, proba, rows):
    return (proba.argmax(axis=1) == y)[rows].mean(axis=1)


def _rmse_on(y, p, rows):
    return np.sqrt(((y - p) ** 2)[rows].mean(axis=1))


def _mae_on(y, p, rows):
    return np.abs(y - p)[rows].mean(axis=1)


def _r2_on(y, p, rows):
    if rows.shape[1] < 2:  # scikit-learn: not defined on one row
        return np.full(len(rows), np.nan)
    sse = ((y - p) ** 2)[rows].sum(axis=1)
    ys = y[rows]
    sst = ((ys - ys.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1), np.where(sse == 0, 1.0, 0.0))


_ON_RESAMPLES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "log_loss": _log_loss_on, "accuracy": _accuracy_on, "rmse": _rmse_on, "mae": _mae_on, "r2": _r2_on,
}  # fmt: skip


def scores_of(task: str, y: np.ndarray, output: np.ndarray, n_classes: int) -> dict[str, float]:
    """Every metric of the task on a model's output (values, or probabilities over codes 0..k-1)."""
    if task == "regression":
        return score(task, y, output)
    return score(task, y, output.argmax(axis=1), proba=output, classes=list(range(n_classes)))
