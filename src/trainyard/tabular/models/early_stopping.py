"""Boosters that stop early, and keep the tree count they found for the refit.

In each cross-validation fold, LightGBM and XGBoost add trees while an inner validation
split (a tenth of the fold's training rows) still improves, up to a generous cap, and
HistGradientBoosting does the same with its own inner split. The fold's model predicts
its validation rows with the trees it kept. The refit on all training rows then grows
the median of the folds' counts, with no inner split, so that it sees every row.

A fixed tree count either wastes the budget (many classes × hundreds of trees × five folds
can take most of a run) or underfits. Below ``MIN_ROWS`` training rows an inner split is too
small to decide, and the catalog's counts stand. Regression keeps the catalog's counts
for now: the evidence is split (docs/benchmarks.md, "Early stopping"), and those counts
were chosen on uk_used_cars, whose score they hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

TASKS = ("binary", "multiclass")  # where stopping early is on (see the module's docstring)
CAP_FACTOR = 3  # the cap on trees: this many times the catalog's count
MIN_ROWS = 400
VALIDATION_SHARE = 0.1
PATIENCE = 100  # rounds without improvement on the inner split (LightGBM, XGBoost, CatBoost)
HIST_PATIENCE = 30  # HistGradientBoosting's n_iter_no_change


@dataclass(frozen=True)
class Stopping:
    """How one booster grows trees with early stopping: a catalog entry's ``stopping``.

    ``trees_param`` counts its trees; ``search`` and ``refit`` are the extra parameters of a fold's fit and
    of the refit; ``fit`` fits the model on the kept rows judged by the inner split (None: the estimator
    holds out its own, from ``search``); ``found`` reads the trees a fitted model kept.
    """

    trees_param: str
    found: Callable[[Any], int]
    fit: Callable[[Any, Any, np.ndarray, Any, np.ndarray], None] | None = None
    search: dict[str, Any] = field(default_factory=dict)
    refit: dict[str, Any] = field(default_factory=dict)


def _lightgbm_fit(model, X_keep, y_keep, X_valid, y_valid) -> None:
    import lightgbm

    model.fit(
        X_keep,
        y_keep,
        eval_X=(X_valid,),
        eval_y=(y_valid,),
        callbacks=[lightgbm.early_stopping(PATIENCE, first_metric_only=True, verbose=False)],
    )


def _eval_set_fit(model, X_keep, y_keep, X_valid, y_valid) -> None:
    """XGBoost's and CatBoost's way: ``early_stopping_rounds`` and an ``eval_set``."""
    booster = model.regressor if hasattr(model, "regressor") else model
    booster.set_params(early_stopping_rounds=PATIENCE)
    model.fit(X_keep, y_keep, eval_set=[(X_valid, y_valid)], verbose=False)


def _lightgbm_found(model) -> int:
    return int(model.best_iteration_) if model.best_iteration_ else int(model.n_estimators)


def _xgboost_found(model) -> int:
    best = getattr(model, "best_iteration", None)
    return int(best) + 1 if best is not None else int(model.n_estimators)


def _catboost_found(model) -> int:
    best = model.get_best_iteration()
    return int(best) + 1 if best is not None else int(model.tree_count_)


HIST_GB = Stopping(
    "max_iter",
    found=lambda model: int(model.n_iter_),
    search={"early_stopping": True, "validation_fraction": VALIDATION_SHARE, "n_iter_no_change": HIST_PATIENCE},
    refit={"early_stopping": False},
)
LIGHTGBM = Stopping("n_estimators", found=_lightgbm_found, fit=_lightgbm_fit)
XGBOOST = Stopping("n_estimators", found=_xgboost_found, fit=_eval_set_fit)
CATBOOST = Stopping("iterations", found=_catboost_found, fit=_eval_set_fit)


def stops_early(spec, task: str, n_rows: int) -> bool:
    """Whether the model (a catalog ``ModelSpec``) grows trees with early stopping here: a booster, on enough
    rows."""
    return spec.stopping is not None and task in TASKS and n_rows >= MIN_ROWS


def search_params(stopping: Stopping, defaults: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a fold's fit: the tree cap, and the booster's own early stopping where it has one."""
    key = stopping.trees_param
    cap = CAP_FACTOR * int(params.get(key, defaults.get(key, 100)))
    return {**params, key: cap, **stopping.search}


def refit_params(stopping: Stopping, params: dict[str, Any], trees: int) -> dict[str, Any]:
    """The refit's parameters: the trees the folds found, and no inner split."""
    return {**params, stopping.trees_param: trees, **stopping.refit}


def fit_stopping(pipeline, stopping: Stopping, X: pd.DataFrame, y: np.ndarray, classification: bool, seed: int):
    """Fit ``pipeline`` (preprocessing, then a booster built with ``search_params``) with early stopping."""
    if stopping.fit is None:  # its own inner split
        return pipeline.fit(X, y)
    keep, valid = inner_split(y, classification, seed)
    head, model = pipeline[:-1], pipeline.steps[-1][1]
    X_keep = head.fit_transform(X.iloc[keep], y[keep])  # the steps are fitted in place, inside ``pipeline``
    X_valid = head.transform(X.iloc[valid])
    y_valid = model.func(y[valid]) if hasattr(model, "func") else y[valid]  # a log-target wrapper
    stopping.fit(model, X_keep, y[keep], X_valid, y_valid)
    return pipeline


def trees_found(pipeline, stopping: Stopping) -> int:
    """The number of trees an early-stopped fit kept."""
    model = pipeline.steps[-1][1]
    return stopping.found(getattr(model, "regressor_", model))


def inner_split(y: np.ndarray, classification: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the rows that grow trees and of the rows that judge them.

    Classification keeps every class's share in both; a class with a single row stays on the growing side.
    """
    rng = np.random.default_rng(seed)
    positions = np.arange(len(y))
    if not classification:
        shuffled = rng.permutation(positions)
        cut = max(1, int(round(VALIDATION_SHARE * len(y))))
        return np.sort(shuffled[cut:]), np.sort(shuffled[:cut])
    picked = []
    for label in np.unique(y):
        members = rng.permutation(positions[y == label])
        if len(members) >= 2:
            picked.append(members[: max(1, int(round(VALIDATION_SHARE * len(members))))])
    valid = np.sort(np.concatenate(picked)) if picked else positions[:0]
    return np.setdiff1d(positions, valid), valid
