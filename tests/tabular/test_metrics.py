"""The metrics computed with numpy on resamples agree with scikit-learn's, call by call and resample by resample."""

from __future__ import annotations

import numpy as np
import pytest

from trainyard.tabular.metrics import _ON_RESAMPLES, bootstrap_se, metric_value, score_one


def _cases(seed: int):
    """A regression and a four-class output, with the awkward values: exact zeros and ones, ties, a constant."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=300)
    values = y + rng.normal(scale=0.5, size=300)
    codes = rng.integers(0, 4, 300)
    proba = rng.dirichlet(np.ones(4), 300)
    proba[:5] = np.eye(4)[codes[:5]]  # certain and right: log 1
    proba[5:10] = np.eye(4)[(codes[5:10] + 1) % 4]  # certain and wrong: the clip decides
    return {"regression": (y, values), "multiclass": (codes, proba)}


def _sklearn(task, name, y, output):
    if task == "regression":
        return score_one(task, name, y, output)
    return score_one(task, name, y, output.argmax(axis=1), proba=output, classes=list(range(output.shape[1])))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", sorted(_ON_RESAMPLES))
def test_each_metric_equals_scikit_learns(name, seed) -> None:
    task = "regression" if name in {"r2", "rmse", "mae"} else "multiclass"
    y, output = _cases(seed)[task]
    assert metric_value(task, name, y, output, 4) == pytest.approx(_sklearn(task, name, y, output), rel=1e-12)
    constant = np.full_like(y, y[0])  # r2's zero total: scikit-learn's 1 or 0, never a division by zero
    assert metric_value(task, name, constant, output, 4) == pytest.approx(
        _sklearn(task, name, constant, output), rel=1e-12, nan_ok=True
    )


@pytest.mark.parametrize("name", sorted(_ON_RESAMPLES))
def test_the_bootstrap_draws_the_same_resamples_as_one_at_a_time(name) -> None:
    task = "regression" if name in {"r2", "rmse", "mae"} else "multiclass"
    y, output = _cases(3)[task]
    rng = np.random.default_rng(7)
    one_at_a_time = []
    for _ in range(200):
        rows = rng.integers(0, len(y), len(y))
        one_at_a_time.append(_sklearn(task, name, y[rows], output[rows]))
    expected = float(np.std(one_at_a_time, ddof=1))
    assert bootstrap_se(task, name, y, output, 4, seed=7) == pytest.approx(expected, rel=1e-9)


def test_a_metric_without_a_numpy_form_keeps_scikit_learns() -> None:
    y, proba = _cases(0)["multiclass"]
    binary = (y == 0).astype(int)
    two = np.column_stack([1 - proba[:, 0], proba[:, 0]])
    se = bootstrap_se("binary", "roc_auc", binary, two, 2, seed=1)
    assert se is not None and 0 < se < 0.1


def test_resamples_drawn_in_batches_follow_one_stream() -> None:
    """Past 20,000 rows the 200 resamples are drawn in batches; the values stay those of one at a time."""
    rng = np.random.default_rng(2)
    y, proba = rng.integers(0, 3, 25_000), rng.dirichlet(np.ones(3), 25_000)
    draw = np.random.default_rng(5)
    expected = [float((proba.argmax(axis=1) == y)[draw.integers(0, len(y), len(y))].mean()) for _ in range(200)]
    assert bootstrap_se("multiclass", "accuracy", y, proba, 3, seed=5) == pytest.approx(np.std(expected, ddof=1))
