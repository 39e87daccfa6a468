"""Boosters stop early on an inner split, and the refit keeps the tree count the folds found."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from trainyard.data.schema import profile
from trainyard.tabular.models.catalog import catalog
from trainyard.tabular.models.early_stopping import CAP_FACTOR, MIN_ROWS, inner_split
from trainyard.tabular.recipe import load_recipe
from trainyard.tabular.split import cv_folds
from trainyard.tabular.training.job import Job, fit_final, fit_fold


def _job(name: str, task: str, rows: int) -> Job:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(rows, 6)), columns=[f"x{i}" for i in range(6)])
    X["kind"] = rng.choice(["a", "b", "c"], rows)
    signal = X["x0"] + X["x1"] ** 2 + (X["kind"] == "b") + rng.normal(scale=0.3, size=rows)
    cuts = {"binary": [0.5], "multiclass": [0.33, 0.66]}.get(task)
    y = signal if task == "regression" else pd.Series(np.digitize(signal, np.quantile(signal, cuts)))
    frame = X.assign(y=y if task == "regression" else y.map({0: "low", 1: "mid", 2: "high"}))
    schema = profile(frame, "y", task=task)
    codes = y.to_numpy(float) if task == "regression" else y.to_numpy(int)
    folds = [(np.asarray(a), np.asarray(b)) for a, b in cv_folds(frame, frame["y"], schema, _all(rows), folds=3)]
    return Job(
        name=name,
        task=task,
        schema=schema,
        recipe=load_recipe("auto"),
        X=X,
        y=codes,
        folds=folds,
        X_test=X.head(50),
        X_fresh=X.head(0),
        n_classes={"regression": 0, "binary": 2}.get(task, 3),
    )


def _all(rows: int):
    from trainyard.tabular.split import Split

    return Split(np.arange(rows), np.array([], dtype=int), np.array([], dtype=int), "random")


BOOSTERS = sorted(name for name, spec in catalog("binary").items() if spec.stopping is not None)


def _trees_param(task: str, name: str) -> str:
    stopping = catalog(task)[name].stopping
    assert stopping is not None
    return stopping.trees_param


def test_the_boosters_are_the_four() -> None:
    assert BOOSTERS == ["catboost", "hist_gb", "lightgbm", "xgboost"]


@pytest.mark.parametrize("name", BOOSTERS)
@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_the_refit_grows_the_median_of_the_folds_tree_counts(name: str, task: str) -> None:
    job = _job(name, task, rows=1500)
    folds = [fit_fold(job, i, threads=1) for i in range(len(job.folds))]
    counts = [fold[2] for fold in folds]
    cap = CAP_FACTOR * catalog(task)[name].defaults[_trees_param(task, name)]
    assert all(isinstance(c, int) and 0 < c < cap for c in counts), counts  # stopped before the cap
    final = fit_final(job, threads=1, folds=folds)
    model = pickle.loads(final.fitted)[-1]
    model = getattr(model, "regressor_", model)
    assert final.trees == int(np.median(counts))
    assert model.get_params()[_trees_param(task, name)] == final.trees
    if name == "catboost":
        assert model.tree_count_ == final.trees  # no inner split stopped the refit short
    if name == "hist_gb":
        assert model.n_iter_ == final.trees and model.early_stopping is False  # the refit sees every row


@pytest.mark.parametrize(("task", "rows"), [("binary", MIN_ROWS - 100), ("regression", 1500)])
def test_small_tables_and_regression_keep_the_catalogs_count(task: str, rows: int) -> None:
    job = _job("lightgbm", task, rows=rows)
    assert fit_fold(job, 0, threads=1)[2] is None
    final = fit_final(job, threads=1)
    assert final.trees is None
    model = pickle.loads(final.fitted)[-1]
    assert getattr(model, "regressor_", model).n_estimators == catalog(task)["lightgbm"].defaults["n_estimators"]


def test_the_inner_split_keeps_every_class_on_both_sides() -> None:
    y = np.array([0] * 50 + [1] * 30 + [2] * 5 + [3])
    keep, valid = inner_split(y, classification=True, seed=0)
    assert set(keep) | set(valid) == set(range(len(y))) and not set(keep) & set(valid)
    assert set(y[valid]) == {0, 1, 2} and set(y[keep]) == {0, 1, 2, 3}  # the single row of class 3 grows trees
    assert 0.08 < len(valid) / len(y) < 0.14
