"""One model's work, as run inside a worker: cross-validate, refit, predict, time it.

Kept apart from the Trainer's loop so that the worker's code is small and the
loop reads as a loop (and a Dask worker could run the same function).
"""

from __future__ import annotations

import os
import pickle
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from trainyard.data.schema import Schema
from trainyard.metrics import primary_metric, score, score_one
from trainyard.models.catalog import catalog
from trainyard.prep.build import build
from trainyard.prep.clean import SafeNames
from trainyard.prep.recipe import Recipe
from trainyard.prep.target import log_target


@dataclass
class Job:
    """Everything one model's fit needs; pickled once to the worker process."""

    name: str
    task: str
    schema: Schema
    recipe: Recipe
    X: pd.DataFrame  # training rows
    y: np.ndarray  # training target (class codes 0..k-1 for classifiers)
    folds: list[tuple[np.ndarray, np.ndarray]]
    X_test: pd.DataFrame
    X_fresh: pd.DataFrame
    n_classes: int = 0
    log_target: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    jobs: int = 1
    metric: str | None = None
    refit: bool = True


def make_pipeline(job: Job, threads: int = 1) -> Pipeline:
    spec = catalog(job.task)[job.name]
    prep = build(job.schema, job.recipe, needs=spec.needs, seed=job.seed)
    model = spec.make(seed=job.seed, threads=threads, **job.params)
    if job.log_target and job.name != "dummy":  # the baseline stays the plain mean
        model = log_target(model)
    steps = [("prep", prep)] + ([("names", SafeNames())] if spec.safe_names else []) + [("model", model)]
    return Pipeline(steps)


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


def metric_value(task: str, metric_name: str, y: np.ndarray, output: np.ndarray, n_classes: int) -> float:
    """One metric only (the ensemble search calls this thousands of times)."""
    if task == "regression":
        return score_one(task, metric_name, y, output)
    return score_one(task, metric_name, y, output.argmax(axis=1), proba=output, classes=list(range(n_classes)))


def scores_of(task: str, y: np.ndarray, output: np.ndarray, n_classes: int) -> dict[str, float]:
    if task == "regression":
        return score(task, y, output)
    return score(task, y, output.argmax(axis=1), proba=output, classes=list(range(n_classes)))


def fit_threads(job: Job) -> int:
    """Threads per fit: the cores shared by the folds that run at once (the same on a cluster, so that
    libraries whose results depend on the thread count give the same numbers there)."""
    return max(1, (os.cpu_count() or 1) // job.jobs)


def run_job(job: Job) -> dict[str, Any]:
    """Cross-validate on the folds, then (optionally) refit on all training rows and predict."""
    threads = fit_threads(job)
    warnings.filterwarnings("ignore")  # in the worker only: convergence chatter is not the user's business
    # Folds run in parallel threads; OpenMP and BLAS pools per fit must not oversubscribe the cores
    # (HistGradientBoosting went from 1 s to over 10 s on 800 rows without this).
    with threadpool_limits(limits=threads):
        tasks = [delayed(fit_fold)(job, i, threads) for i in range(len(job.folds))]
        tasks += [delayed(fit_final)(job, threads)] if job.refit else []
        results = Parallel(n_jobs=job.jobs, backend="threading")(tasks)
    return assemble(job, results[: len(job.folds)], results[-1] if job.refit else None)


def fit_fold(job: Job, index: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit on fold ``index``'s training rows; its validation rows and the predictions for them."""
    train, valid = job.folds[index]
    pipeline = make_pipeline(job, threads).fit(job.X.iloc[train], job.y[train])
    return valid, predict_output(pipeline, job.X.iloc[valid], job.task, job.n_classes)


def fit_final(job: Job, threads: int) -> dict[str, Any]:
    """Refit on all training rows; predict the test and fresh rows; the pipeline pickled."""
    start = time.perf_counter()
    pipeline = make_pipeline(job, threads).fit(job.X, job.y)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    test = predict_output(pipeline, job.X_test, job.task, job.n_classes)
    predict_seconds = time.perf_counter() - start
    fresh = predict_output(pipeline, job.X_fresh, job.task, job.n_classes) if len(job.X_fresh) else None
    blob = pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL)
    return {"test": test, "fresh": fresh, "fit_seconds": fit_seconds, "model": blob, "size_bytes": len(blob),
            "predict_ms_per_1000": 1000 * predict_seconds / max(len(job.X_test), 1) * 1000}


def assemble(job: Job, fold_results: list, final: dict[str, Any] | None) -> dict[str, Any]:
    """The folds' out-of-fold predictions and scores, plus the refit's outputs."""
    metric = primary_metric(job.task, job.metric)
    oof = _out_of_fold(fold_results, len(job.y), job.task, job.n_classes)
    fold_scores = [metric_value(job.task, metric.name, job.y[v], out, job.n_classes) for v, out in fold_results]
    result: dict[str, Any] = {"cv_scores": fold_scores, "oof": oof,
                              "cv_all": scores_of(job.task, job.y, oof, job.n_classes)}
    return {**result, **(final or {})}


def _out_of_fold(fold_results, n: int, task: str, n_classes: int) -> np.ndarray:
    oof = np.full(n, np.nan) if task == "regression" else np.full((n, n_classes), np.nan)
    for valid, output in fold_results:
        oof[valid] = output
    return oof
