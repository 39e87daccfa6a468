"""ModelResult and the Ledger: the one shape of a model's result, its leaderboard view and its stored form."""

from __future__ import annotations

import json
import math
from dataclasses import fields

import numpy as np

from trainyard.tabular.leaderboard import Entry
from trainyard.tabular.training.results import ARRAYS, Ledger, ModelResult, unfinished


def _result(name: str = "lightgbm", **changes) -> ModelResult:
    return ModelResult(
        name=name,
        model="lightgbm",
        params={"learning_rate": 0.05},
        cv_scores=[0.8, 0.9, 0.85],
        fold_trees=[40, 50, 45],
        oof=np.array([[0.2, 0.8], [0.6, 0.4]]),
        test_output=np.array([[0.3, 0.7]]),
        test={"roc_auc": 0.91},
        fresh={"roc_auc": 0.88, "roc_auc_se": 0.02},
        fitted=b"pickled",
        trees=45,
        fit_seconds=1.5,
        predict_ms_per_1000=12.0,
        predict_ms_one_row=0.8,
        size_bytes=2048,
        seconds=7.0,
        work_seconds=6.5,
        rows_share=0.5,
        work_share=0.25,
        cost=4,
        **changes,
    )


def test_the_scores_come_from_the_folds_and_an_unfinished_model_has_none() -> None:
    result = _result()
    assert result.cv_mean == float(np.mean([0.8, 0.9, 0.85])) and result.cv_std == float(np.std([0.8, 0.9, 0.85]))
    stopped = unfinished("svr", "svr", "stopped", "stopped by the time limit")
    assert not stopped.ok and math.isnan(stopped.cv_mean) and math.isnan(stopped.cv_std)


def test_the_leaderboard_entry_is_a_view_that_carries_every_field_they_share() -> None:
    result = _result()
    entry = result.entry()
    shared = {f.name for f in fields(Entry)} & {f.name for f in fields(ModelResult)}
    assert shared >= {"name", "status", "cv_scores", "test", "fresh", "params", "cost", "size_bytes"}
    assert all(getattr(entry, name) == getattr(result, name) for name in shared)
    assert (entry.cv_mean, entry.cv_std) == (result.cv_mean, result.cv_std)


def test_a_stored_result_comes_back_the_same() -> None:
    result = _result()
    record = json.loads(json.dumps(result.record()))  # what a checkpoint's leaderboard.json holds
    assert not set(record) & {*ARRAYS, "fitted"}
    back = ModelResult.restore(record, result.arrays(), result.fitted)
    for f in fields(ModelResult):
        mine, theirs = getattr(result, f.name), getattr(back, f.name)
        if isinstance(mine, np.ndarray) or mine is None:
            assert (mine is None and theirs is None) or np.array_equal(mine, theirs), f.name
        else:
            assert mine == theirs, f.name
    old = {**record, "cv_all": {"roc_auc": 0.9}}  # a key an older trainyard wrote is left out, not an error
    older = ModelResult.restore(old, {"oof": result.oof, "test": result.test_output}, None)  # its array names
    assert older.cv_scores == result.cv_scores and np.array_equal(older.test_output, result.test_output)


def test_the_ledger_keeps_the_order_results_came_in_and_a_name_added_again_replaces() -> None:
    ledger = Ledger()
    ledger.add(_result("dummy"))
    ledger.add(unfinished("svr", "svr", "failed", "ValueError: no"))
    ledger.add(_result("lightgbm"))
    ledger.add(_result("dummy", message="again"))
    assert [r.name for r in ledger] == ["dummy", "svr", "lightgbm"] and ledger["dummy"].message == "again"
    assert [r.name for r in ledger.finished()] == ["dummy", "lightgbm"]
    assert [e.name for e in ledger.entries()] == ["dummy", "svr", "lightgbm"] and "svr" in ledger
    assert ledger.get("knn") is None and len(ledger) == 3
