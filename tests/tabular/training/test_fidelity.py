"""Fidelity: a cheaper configuration cuts a model's trees first (its learning rate rising), then its rows."""

from __future__ import annotations

import numpy as np
import pytest

from trainyard.tabular.models.catalog import catalog
from trainyard.tabular.training.fidelity import (
    FULL,
    MAX_LEARNING_RATE,
    MIN_ROWS,
    MIN_WORK_SHARE,
    fidelity_for,
    lowest,
    params_at,
    subsample,
)

BINARY = catalog("binary")


def test_enough_time_is_the_full_fit() -> None:
    assert fidelity_for(BINARY["lightgbm"], 1.0, 10_000) == FULL
    assert fidelity_for(BINARY["lightgbm"], 3.0, 10_000).full


def test_trees_are_cut_before_rows() -> None:
    booster = fidelity_for(BINARY["lightgbm"], 0.5, 10_000)
    assert booster is not None and booster.work == pytest.approx(0.5) and booster.rows == 1.0
    deeper = fidelity_for(BINARY["lightgbm"], 0.05, 10_000)
    assert deeper is not None and deeper.work == MIN_WORK_SHARE and deeper.rows == pytest.approx(0.5)
    assert deeper.share == pytest.approx(0.05)
    linear = fidelity_for(BINARY["logistic"], 0.5, 10_000)  # no trees to cut: rows only
    assert linear is not None and linear.work == 1.0 and linear.rows == pytest.approx(0.5)
    assert deeper.describe(BINARY["lightgbm"]) == "10% of its trees, 50% of the rows"
    assert FULL.describe(BINARY["lightgbm"]) == ""


def test_below_the_floor_there_is_no_fidelity() -> None:
    assert fidelity_for(BINARY["logistic"], 0.01, 10_000) is None  # 100 rows < MIN_ROWS
    assert lowest(BINARY["logistic"], 10_000).rows == pytest.approx(MIN_ROWS / 10_000)
    assert lowest(BINARY["logistic"], 300).rows == 1.0  # a small table is never cut below its size


def test_params_scale_the_work_and_raise_a_boosters_learning_rate() -> None:
    spec = BINARY["lightgbm"]
    cheap = fidelity_for(spec, 0.25, 10_000)
    params = params_at(spec, cheap, {})
    assert params["n_estimators"] == round(spec.defaults["n_estimators"] * 0.25)
    assert params["learning_rate"] == pytest.approx(min(MAX_LEARNING_RATE, spec.defaults["learning_rate"] / 0.25))
    assert params_at(spec, FULL, {"n_estimators": 7}) == {"n_estimators": 7}
    forest = params_at(BINARY["random_forest"], cheap, {})
    assert forest == {"n_estimators": round(BINARY["random_forest"].defaults["n_estimators"] * 0.25)}
    assert params_at(BINARY["mlp"], cheap, {}) == {"max_epochs": 15}  # no learning rate of that name to raise
    assert params_at(BINARY["logistic"], cheap, {"C": 2.0}) == {"C": 2.0}


def test_subsample_keeps_every_class_and_its_share() -> None:
    rng = np.random.default_rng(0)
    y = np.where(rng.random(20_000) < 0.01, 2, rng.integers(0, 2, 20_000))  # class 2 is 1% of the rows
    positions = np.arange(len(y))
    kept = subsample(positions, y, 0.1, seed=0, classify=True)
    assert len(kept) == pytest.approx(2_000, abs=10) and set(np.unique(y[kept])) == {0, 1, 2}
    assert np.all(np.diff(kept) > 0)  # sorted, no repeats
    assert np.array_equal(kept, subsample(positions, y, 0.1, seed=0, classify=True))  # the seed decides
    assert len(subsample(positions, y, 0.001, seed=0, classify=False)) == MIN_ROWS  # never below the floor
    assert subsample(positions, y, 1.0, seed=0, classify=True) is positions
