"""Training on a table larger than memory: XGBoost and LightGBM through their Dask interfaces.

The table stays a Dask DataFrame on the cluster's workers; the client computes only a sample (to
profile it) and the metrics. Numeric columns go in as they are, categorical ones as pandas
categories with the levels seen in the sample (other values become missing), and columns of other
roles (ids, free text, dates, constants) are left out and listed. Validation is one random
holdout (``test_fraction``): cross-validation would read the whole table once per fold.

Only models with a Dask interface can train this way: ``xgboost`` (xgboost.dask) and ``lightgbm``
(lightgbm.dask). Every other model needs the table in memory and is refused by name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from trainyard.data.schema import Role, Schema, profile
from trainyard.errors import SchemaError, first_line
from trainyard.tabular.training.results import ModelResult, unfinished

LAZY_MODELS = ("lightgbm", "xgboost")
FEATURE_ROLES = (Role.NUMERIC, Role.CATEGORICAL, Role.TRISTATE)


@dataclass
class LazyResult:
    """A lazy training's result: the Schema, rows, features used and left out, and each model's scores."""

    schema: Schema
    rows: int
    features: list[str]
    left_out: list[str]
    entries: list[ModelResult]  # best first; ``test`` holds the holdout's metrics (and its row count)
    notes: list[str] = field(default_factory=list)
    models: dict[str, Any] = field(default_factory=dict)  # the fitted Dask estimators

    @property
    def best(self) -> ModelResult:
        return self.entries[0]


def check_models(models: list[str] | None) -> list[str]:
    """The models to train lazily (the boosters with Dask interfaces); any other is one line naming them."""
    chosen = list(models or LAZY_MODELS)
    refused = [m for m in chosen if m not in LAZY_MODELS]
    if refused:
        raise SchemaError(
            f"{', '.join(refused)} cannot train on a lazy table: only {' and '.join(LAZY_MODELS)} "
            "have Dask interfaces; the others need the table in memory (read it with trainyard.read, "
            "or sample it)"
        )
    return chosen


def train_lazy(
    frame,
    target: str,
    *,
    models: list[str] | None = None,
    cluster: Any = "local:2",
    seed: int = 0,
    test_fraction: float = 0.2,
    sample_rows: int = 20_000,
    n_estimators: int = 200,
    task: str | None = None,
) -> LazyResult:
    """Train the Dask-capable boosters on a Dask DataFrame; metrics on a random holdout."""
    from trainyard.tabular.training.engines import open_engine

    chosen = check_models(models)
    if target not in frame.columns:
        raise SchemaError(f"no column {target!r}; columns: {', '.join(map(str, frame.columns))}")
    engine = open_engine(cluster)
    if not hasattr(engine, "client"):
        raise SchemaError(
            "training on a lazy table needs a Dask cluster: pass cluster='local:N' or cluster='tcp://HOST:8786'"
        )
    owned = engine is not cluster
    try:
        return _train(frame, target, chosen, engine.client, seed, test_fraction, sample_rows, n_estimators, task)
    finally:
        if owned:
            engine.close()


def _train(frame, target, chosen, client, seed, test_fraction, sample_rows, n_estimators, task) -> LazyResult:
    rows = int(frame.shape[0].compute())
    sample = frame.sample(frac=min(1.0, sample_rows / max(rows, 1)), random_state=seed).compute()
    schema = profile(sample, target, task=task)
    features = [c.name for c in schema.columns if c.role in FEATURE_ROLES and c.name != target]
    left_out = [c.name for c in schema.columns if c.name not in features and c.name != target]
    if not features:
        raise SchemaError("no numeric or categorical column to train on; the lazy path leaves out ids, text and dates")
    categories = {
        c.name: pd.CategoricalDtype(c.details["levels"])
        for c in schema.columns
        if c.name in features and c.role is not Role.NUMERIC and c.details.get("levels")
    }
    features = [f for f in features if f in categories or schema[f].role is Role.NUMERIC]
    classes = sorted(sample[target].dropna().unique(), key=str) if schema.task != "regression" else None
    data = _prepare(frame, target, features, categories, classes)
    train, test = data.random_split([1 - test_fraction, test_fraction], random_state=seed)
    train, test = client.persist([train, test])
    entries, fitted = [], {}
    for name in chosen:
        started = time.monotonic()
        try:
            estimator = _estimator(name, schema.required_task(), client, seed, n_estimators)
            estimator.fit(train[features], train[target])
            metrics = _metrics(estimator, test, features, target, schema.task, len(classes or []))
            fitted[name] = estimator
            entries.append(ModelResult(name=name, model=name, test=metrics, seconds=time.monotonic() - started))
        except Exception as err:  # noqa: BLE001 - a model that fails is recorded; the run goes on
            message = f"{type(err).__name__}: {first_line(err, 200)}"
            entries.append(replace(unfinished(name, name, "failed", message), seconds=time.monotonic() - started))
    key = "r2" if schema.task == "regression" else "accuracy"
    entries.sort(key=lambda e: -e.test.get(key, -np.inf))
    notes = [f"left out {len(left_out)} column(s) the lazy path cannot use: {', '.join(left_out)}"] if left_out else []
    notes.append(f"validated on a random {test_fraction:.0%} holdout; profiled on a sample of {len(sample):,} rows")
    return LazyResult(schema, rows, features, left_out, entries, notes, fitted)


def _prepare(frame, target, features, categories, classes):
    data = frame[[*features, target]]
    if categories:
        data = data.astype({name: "string" for name in categories}).astype(categories)
    if classes is not None:
        codes = {value: i for i, value in enumerate(classes)}
        data = data.assign(**{target: data[target].map(codes, meta=(target, "float64"))})
    data = data.dropna(subset=[target])
    return data


def _estimator(name: str, task: str, client, seed: int, n_estimators: int):
    regression = task == "regression"
    if name == "xgboost":
        from xgboost import dask as dxgb

        cls = dxgb.DaskXGBRegressor if regression else dxgb.DaskXGBClassifier
        model = cls(
            n_estimators=n_estimators,
            tree_method="hist",
            enable_categorical=True,
            random_state=seed,
            max_cat_to_onehot=1,
        )
        model.client = client
        return model
    import lightgbm as lgb

    cls = lgb.DaskLGBMRegressor if regression else lgb.DaskLGBMClassifier
    return cls(client=client, n_estimators=n_estimators, random_state=seed, verbose=-1)


def _metrics(estimator, test, features, target, task, n_classes) -> dict[str, float]:
    import dask
    import dask.array as da

    y = test[target].to_dask_array(lengths=True)
    if task == "regression":
        predicted = _aligned(estimator.predict(test[features]).persist(), y)  # persisted while its model is alive
        error = y - predicted
        sse, sst, mae, n = dask.compute((error**2).sum(), ((y - y.mean()) ** 2).sum(), abs(error).mean(), y.size)
        return {"r2": float(1 - sse / sst), "rmse": float(np.sqrt(sse / n)), "mae": float(mae), "rows": int(n)}
    proba = _aligned(estimator.predict_proba(test[features]).persist(), y)
    if proba.ndim == 1:
        proba = da.stack([1 - proba, proba], axis=1)
    truth = y.astype(int)
    chosen = (proba * (truth[:, None] == da.arange(n_classes)[None, :])).sum(axis=1)
    accuracy, loss, n = dask.compute(
        (proba.argmax(axis=1) == truth).mean(), -da.log(da.clip(chosen, 1e-15, 1)).mean(), y.size
    )
    return {"accuracy": float(accuracy), "log_loss": float(loss), "rows": int(n)}


def _aligned(predicted, y):
    """Predictions as a dask array chunked like ``y`` (the libraries return unknown chunk sizes)."""
    if hasattr(predicted, "to_dask_array"):
        predicted = predicted.to_dask_array(lengths=True)
    if any(np.isnan(c) for chunks in predicted.chunks for c in chunks):
        predicted = predicted.compute_chunk_sizes()
    return predicted.rechunk((y.chunks[0],) + predicted.chunks[1:])
