"""The catalog's contract: every model, the notes' presets included, fits and predicts on a small table
for each task it serves, through the same pipeline the trainer builds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainyard.data.schema import profile
from trainyard.tabular.models.catalog import catalog
from trainyard.tabular.models.output import predict_output
from trainyard.tabular.models.pipeline import tabular_pipeline

TASKS = ("regression", "binary", "multiclass")
# fewer iterations where a model's default is sized for real tables
QUICK = {
    "xgboost": {"n_estimators": 30},
    "lightgbm": {"n_estimators": 30},
    "hist_gb": {"max_iter": 30},
    "catboost": {"iterations": 30},
    "random_forest": {"n_estimators": 20},
    "extra_trees": {"n_estimators": 20},
    "mlp": {"max_epochs": 3},
    "random_forest_notes": {"n_estimators": 20},
    "ebm": {"outer_bags": 2, "interactions": 2, "max_rounds": 200},
}


def _table(task: str, n: int = 300) -> tuple[pd.DataFrame, str]:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.uniform(0, 10, n),
            "colour": rng.choice(["red", "green", "blue", "white"], n),
            "size": np.where(rng.random(n) < 0.1, np.nan, rng.normal(5, 2, n)),
        }
    )
    signal = frame["a"] * 2 + frame["b"] / 3 + (frame["colour"] == "red") + rng.normal(scale=0.3, size=n)
    if task == "regression":
        frame["y"] = signal * 10 + 50
    elif task == "binary":
        frame["y"] = np.where(signal > signal.median(), "yes", "no")
    else:
        frame["y"] = pd.cut(signal, 3, labels=["low", "mid", "high"]).astype(str)
    return frame, "y"


CASES = [(task, name) for task in TASKS for name in catalog(task)]


@pytest.mark.parametrize("task,name", CASES, ids=[f"{t}-{n}" for t, n in CASES])
def test_every_model_fits_and_predicts(task: str, name: str) -> None:
    frame, target = _table(task)
    schema = profile(frame, target, task=task)
    X, y = frame.drop(columns=target), frame[target]
    codes = y.to_numpy(float) if task == "regression" else pd.factorize(y, sort=True)[0]
    n_classes = 0 if task == "regression" else int(codes.max()) + 1
    params = QUICK.get(name, {})
    pipeline = tabular_pipeline(schema, name, params=params).fit(X.iloc[:250], codes[:250])
    output = predict_output(pipeline, X.iloc[250:], task, n_classes)
    if task == "regression":
        assert output.shape == (50,) and np.isfinite(output).all()
    else:
        assert output.shape == (50, n_classes) and np.allclose(output.sum(axis=1), 1, atol=1e-6)


def test_the_catalog_names_its_presets() -> None:
    presets = {n for task in TASKS for n, s in catalog(task).items() if s.preset}
    assert {
        "svc_linear_notes",
        "svc_rbf_notes",
        "decision_tree_notes",
        "random_forest_notes",
        "knn_notes",
        "knn_manhattan_notes",
        "logistic_notes",
    } <= presets


def test_a_model_on_request_is_trained_only_when_named() -> None:
    from trainyard.tabular.models.catalog import select

    on_request = {n for n, s in catalog("binary").items() if s.on_request}
    assert "ebm" in on_request
    assert not on_request & {s.name for s in select("binary")[0]}  # not among the defaults
    assert [s.name for s in select("regression", ["ebm", "ridge"])[0]] == ["ebm", "ridge"]
