"""The cost model: a prior from the table's shape, corrected by the machine and by each model's own fits."""

from __future__ import annotations

import pytest

from trainyard.tabular.models.catalog import catalog
from trainyard.tabular.training.cost import MACHINE_RANGE, REFIT_COST, CostModel, predicted_fold_seconds

MULTI = catalog("multiclass")


def test_the_prior_grows_with_rows_columns_and_a_boosters_classes() -> None:
    booster, linear = MULTI["hist_gb"], MULTI["logistic"]
    base = predicted_fold_seconds(booster, 1000, 10, 2)
    assert base == pytest.approx(booster.fold_seconds)
    assert predicted_fold_seconds(booster, 8000, 10, 2) == pytest.approx(base * 8**booster.rows_power)
    assert predicted_fold_seconds(booster, 1000, 40, 2) == pytest.approx(base * 4)
    assert predicted_fold_seconds(booster, 1000, 10, 26) == pytest.approx(base * 26)  # a tree per class
    assert predicted_fold_seconds(linear, 1000, 10, 26) == pytest.approx(linear.fold_seconds)  # one model


def test_a_models_own_fit_corrects_its_prediction() -> None:
    cost = CostModel(rows=4000, columns=10, classes=2, folds=5)
    spec = MULTI["hist_gb"]
    prior = cost.fold(spec)
    cost.observe(spec, share=0.5, seconds=4 * prior + 0.05, folds=1)  # half its work took four priors
    assert cost.fold(spec) == pytest.approx(8 * prior, rel=0.02)
    assert cost.whole(spec, 0.5) == pytest.approx(4 * prior * (5 + REFIT_COST) + 0.1 + spec.start_seconds, rel=0.02)


def test_the_machine_correction_comes_from_long_fits_only_and_is_bounded() -> None:
    cost = CostModel(rows=20_000, columns=20, classes=2, folds=5)
    slow, cheap, other = MULTI["random_forest"], MULTI["lda"], MULTI["extra_trees"]
    cost.observe(cheap, 1.0, 5.0, 1)  # a cheap model's prior is too short to speak for the machine
    assert cost.machine() == 1.0
    cost.observe(slow, 1.0, 3 * predicted_fold_seconds(slow, 20_000, 20, 2) + 0.05, 1)
    assert cost.machine() == pytest.approx(3.0, rel=0.02)
    assert cost.fold(other) == pytest.approx(3 * predicted_fold_seconds(other, 20_000, 20, 2), rel=0.02)
    cost.observe(slow, 1.0, 1000 * predicted_fold_seconds(slow, 20_000, 20, 2), 1)
    assert cost.machine() == MACHINE_RANGE[1]


def test_a_fit_stopped_unfinished_is_a_bound_on_its_model_alone() -> None:
    cost = CostModel(rows=20_000, columns=20, classes=2, folds=5)
    spec = MULTI["random_forest"]
    cost.observe(spec, 1.0, 10 * predicted_fold_seconds(spec, 20_000, 20, 2), 1, finished=False)
    assert cost.fold(spec) >= 9 * predicted_fold_seconds(spec, 20_000, 20, 2)
    assert cost.machine() == 1.0
