"""Ensemble selection: never slower than --max-predict-ms, and no member that only adds noise and latency."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from trainyard.errors import SchemaError
from trainyard.tabular.leaderboard import Entry
from trainyard.tabular.training.blending import greedy_ensemble, latency
from trainyard.tabular.training.results import Ledger, ModelResult
from trainyard.tabular.training.trainer import fast_enough, train


def _ledger(latencies: dict[str, float], seed: int = 0):
    """A ledger after the catalog, with out-of-fold predictions of a regression target per model, and its job."""
    rng = np.random.default_rng(seed)
    n = 600
    y = rng.normal(size=n)
    half = rng.normal(size=n)  # a and b see the same signal with independent errors: their blend halves them
    oof = {"dummy": np.zeros(n), "a": y + half, "b": y - half + rng.normal(0, 0.2, n), "c": y + rng.normal(0, 0.9, n)}
    folds = [(np.setdiff1d(np.arange(n), v), v) for v in np.array_split(np.arange(n), 5)]
    ledger = Ledger()
    for name, o in oof.items():
        ledger.add(
            ModelResult(
                name=name,
                model=name,
                cv_scores=[float(np.sqrt(np.mean((o[v] - y[v]) ** 2))) for _, v in folds],
                oof=o,
                test_output=o[:50],
                fit_seconds=1.0,
                predict_ms_per_1000=10.0,
                size_bytes=1,
                predict_ms_one_row=latencies.get(name, 1.0),
            )
        )
    job = SimpleNamespace(task="regression", metric="rmse", y=y, folds=folds, n_classes=0)
    return ledger, job


def test_the_ensemble_respects_the_latency_bound() -> None:
    free, job = _ledger({"a": 5.0, "b": 30.0, "c": 5.0})
    assert "b" in greedy_ensemble(free, job).params["weights"]  # b is the best partner of a
    bounded, job = _ledger({"a": 5.0, "b": 30.0, "c": 5.0})
    blend = greedy_ensemble(bounded, job, max_predict_ms=12.0)
    assert blend is not None and "b" not in blend.params["weights"]
    assert latency(bounded, blend.params["weights"]) <= 12.0
    assert blend.predict_ms_one_row == pytest.approx(latency(bounded, blend.params["weights"]))
    assert blend.size_bytes == len(blend.params["weights"]) and blend.name == "ensemble" and blend.cost == 10


def test_a_member_that_adds_only_latency_is_pruned(monkeypatch) -> None:
    import trainyard.tabular.training.blending as ensemble

    assert set(greedy_ensemble(*_ledger({})).params["weights"]) == {"a", "b"}
    monkeypatch.setattr(
        ensemble,
        "_prune",
        lambda ledger, job, counts, metric: (counts, ensemble._blend_scores(ledger, job, counts, metric.name)[0]),
    )
    unpruned = greedy_ensemble(*_ledger({})).params["weights"]
    assert set(unpruned) == {"a", "b", "c"} and unpruned["c"] < 0.1  # c's small weight bought nothing


def _entry(name: str, cv: float, ms: float) -> Entry:
    return Entry(name=name, status="ok", cv_mean=cv, predict_ms_one_row=ms)


def test_the_best_model_is_the_best_one_fast_enough() -> None:
    entries = [_entry("ensemble", 0.95, 40.0), _entry("lightgbm", 0.94, 3.0), _entry("ridge", 0.90, 0.5)]
    assert fast_enough(entries, None).name == "ensemble"
    assert fast_enough(entries, 10).name == "lightgbm"
    assert fast_enough(entries, 1).name == "ridge"
    with pytest.raises(SchemaError, match="the fastest, ridge, takes 0.5 ms"):
        fast_enough(entries, 0.1)


def test_train_measures_one_row_and_keeps_the_bound() -> None:
    rng = np.random.default_rng(0)
    import pandas as pd

    X = rng.normal(size=(500, 4))
    frame = pd.DataFrame(X, columns=list("abcd")).assign(y=X[:, 0] * 2 + np.sin(X[:, 1]) + rng.normal(0, 0.1, 500))
    result = train(frame, "y", models=["dummy", "ridge", "random_forest"], tune=False, seed=0)
    assert all(e.predict_ms_one_row > 0 for e in result.entries if e.status == "ok")
    bound = min(e.predict_ms_one_row for e in result.entries if e.name == "ridge") * 1.5 + 0.5
    bounded = train(frame, "y", models=["dummy", "ridge", "random_forest"], tune=False, seed=0, max_predict_ms=bound)
    assert bounded.best.predict_ms_one_row <= bound
