"""One model's work, as run inside a worker: cross-validate, refit, predict, time it.

Kept apart from the Trainer's loop so that the worker's code is small and the
loop reads as a loop (and a Dask worker could run the same function).
"""

from __future__ import annotations

import pickle
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from trainyard.cores import usable_cores
from trainyard.data.schema import Schema
from trainyard.tabular.metrics import metric_value, primary_metric
from trainyard.tabular.models.catalog import catalog
from trainyard.tabular.models.early_stopping import fit_stopping, refit_params, search_params, stops_early, trees_found
from trainyard.tabular.models.output import predict_output
from trainyard.tabular.models.pipeline import tabular_pipeline
from trainyard.tabular.recipe import Recipe
from trainyard.tabular.training.fidelity import subsample
from trainyard.tabular.training.results import ModelResult


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
    nonnegative: bool = False  # a regression target never below zero: predictions are clipped at zero
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    jobs: int = 1
    metric: str | None = None
    refit: bool = True
    trees: int | None = None  # a booster's tree count, when the refit has no folds to take it from
    rows_share: float = 1.0  # the share of the training rows each fit learns from (fidelity.py)


def make_pipeline(job: Job, threads: int = 1, params: dict[str, Any] | None = None) -> Pipeline:
    """The unfitted pipeline of ``job``'s model: preprocessing, then the model with ``params``
    (default ``job.params``)."""
    return tabular_pipeline(
        job.schema,
        job.name,
        job.recipe,
        params=job.params if params is None else params,
        seed=job.seed,
        threads=threads,
        log=job.log_target,
        nonnegative=job.nonnegative,
    )


def fit_threads(job: Job) -> int:
    """Threads per fit: the cores shared by the folds that run at once (the same on a cluster, so that
    libraries whose results depend on the thread count give the same numbers there)."""
    return max(1, usable_cores() // job.jobs)


def run_job(job: Job) -> ModelResult:
    """Cross-validate on the folds, then (optionally) refit on all training rows and predict."""
    threads = fit_threads(job)
    make_pipeline(job, threads)  # imports the model's library (torch: seconds) before the clock: not the fit's time
    start = time.perf_counter()
    # Folds run in parallel threads; OpenMP and BLAS pools per fit must not oversubscribe the cores
    # (HistGradientBoosting went from 1 s to over 10 s on 800 rows without this). Convergence chatter is
    # not the user's business: silenced for this call only.
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        warnings.simplefilter("ignore")
        folds = Parallel(n_jobs=job.jobs, backend="threading")(
            delayed(fit_fold)(job, i, threads) for i in range(len(job.folds))
        )
        final = fit_final(job, threads, folds) if job.refit else None  # after the folds: it takes their tree count
    return replace(assemble(job, folds, final), work_seconds=time.perf_counter() - start)


def fit_model(
    job: Job, X: pd.DataFrame, y: np.ndarray, threads: int, trees: int | None = None
) -> tuple[Pipeline, int | None]:
    """Fit ``job``'s pipeline on ``X``; boosters stop early unless ``trees`` fixes their count.

    Returns the fitted pipeline and the trees it kept (None for a model without trees to count)."""
    spec = catalog(job.task)[job.name]
    if trees is not None and spec.stopping is not None:
        return make_pipeline(job, threads, refit_params(spec.stopping, job.params, trees)).fit(X, y), trees
    if not stops_early(spec, job.task, len(X)):
        return make_pipeline(job, threads).fit(X, y), None
    assert spec.stopping is not None  # stops_early said so
    pipeline = make_pipeline(job, threads, search_params(spec.stopping, spec.defaults, job.params))
    fit_stopping(pipeline, spec.stopping, X, y, job.task != "regression", job.seed)
    return pipeline, trees_found(pipeline, spec.stopping)


def learning_rows(job: Job, positions: np.ndarray, seed: int) -> np.ndarray:
    """The rows of ``positions`` a fit learns from: ``job.rows_share`` of them (all at full fidelity)."""
    return subsample(positions, job.y, job.rows_share, seed, job.task != "regression")


def fit_fold(job: Job, index: int, threads: int) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Fit on fold ``index``'s training rows; its validation rows, the predictions for them, the trees kept."""
    train, valid = job.folds[index]
    train = learning_rows(job, train, job.seed + index)
    pipeline, trees = fit_model(job, job.X.iloc[train], job.y[train], threads)
    return valid, predict_output(pipeline, job.X.iloc[valid], job.task, job.n_classes), trees


def fit_final(job: Job, threads: int, folds: list | tuple = ()) -> ModelResult:
    """Refit on all training rows (with the median of the folds' tree counts); predict the test and
    fresh rows; the pipeline pickled. The folds' scores are added by ``assemble``."""
    counts = [trees for _, _, trees in folds if trees is not None]
    trees = int(np.median(counts)) if counts else job.trees
    rows = learning_rows(job, np.arange(len(job.y)), job.seed + len(job.folds))
    X, y = (job.X, job.y) if len(rows) == len(job.y) else (job.X.iloc[rows], job.y[rows])
    start = time.perf_counter()
    pipeline, trees = fit_model(job, X, y, threads, trees)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    test = predict_output(pipeline, job.X_test, job.task, job.n_classes) if len(job.X_test) else None
    predict_seconds = time.perf_counter() - start
    fresh = predict_output(pipeline, job.X_fresh, job.task, job.n_classes) if len(job.X_fresh) else None
    blob = pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL)
    return ModelResult(
        name=job.name,
        model=job.name,
        params=job.params,
        test_output=test,
        fresh_output=fresh,
        fit_seconds=fit_seconds,
        fitted=blob,
        size_bytes=len(blob),
        trees=trees,
        rows_share=job.rows_share,
        predict_ms_per_1000=1000 * predict_seconds / max(len(job.X_test), 1) * 1000,
        predict_ms_one_row=one_row_ms(pipeline, job.X_test if len(job.X_test) else job.X, job),
    )


ONE_ROW_REPEATS = 7


def one_row_ms(pipeline, X: pd.DataFrame, job: Job) -> float:
    """Milliseconds to answer one row (the median of a few calls): what a served request waits for."""
    row = X.iloc[:1]
    times = []
    for _ in range(ONE_ROW_REPEATS):
        start = time.perf_counter()
        predict_output(pipeline, row, job.task, job.n_classes)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def assemble(job: Job, fold_results: list, final: ModelResult | None) -> ModelResult:
    """The folds' out-of-fold predictions and scores, added to the refit's result (or alone without one)."""
    metric = primary_metric(job.task, job.metric)
    oof = _out_of_fold(fold_results, len(job.y), job.task, job.n_classes)
    fold_scores = [metric_value(job.task, metric.name, job.y[v], out, job.n_classes) for v, out, _ in fold_results]
    base = final or ModelResult(name=job.name, model=job.name, params=job.params)
    return replace(base, cv_scores=fold_scores, oof=oof, fold_trees=[trees for _, _, trees in fold_results])


def merge_parts(first: ModelResult, rest: ModelResult) -> ModelResult:
    """One model's result from two runs over different folds (the second one with the refit)."""
    assert first.oof is not None and rest.oof is not None
    return replace(
        rest,
        cv_scores=first.cv_scores + rest.cv_scores,
        oof=np.where(np.isnan(first.oof), rest.oof, first.oof),
        fold_trees=first.fold_trees + rest.fold_trees,
    )


def _out_of_fold(fold_results, n: int, task: str, n_classes: int) -> np.ndarray:
    oof = np.full(n, np.nan) if task == "regression" else np.full((n, n_classes), np.nan)
    for valid, output, _ in fold_results:
        oof[valid] = output
    return oof
