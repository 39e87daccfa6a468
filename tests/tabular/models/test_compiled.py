"""The compiled model answers what the fitted pipelines answer: every booster, a linear model, a log target,
binary and multiclass probabilities, missing values and levels never seen; what it cannot compile it names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from tests.conftest import shared
from trainyard.data.parse import parse_numbers
from trainyard.data.schema import profile
from trainyard.tabular.models.compiled import ATOL, FEW_ROWS, RTOL, NotCompiled, check_compiled, compile_model
from trainyard.tabular.models.ensemble import EnsembleModel
from trainyard.tabular.models.pipeline import tabular_pipeline
from trainyard.tabular.recipe import load_recipe
from trainyard.tabular.runs.predict import check_rows, compile_run, predict_output
from trainyard.tabular.runs.store import load_run
from trainyard.tabular.serve.rows import example_rows

BOOSTERS = ["xgboost", "lightgbm", "hist_gb"]


def _fit(frame: pd.DataFrame, target: str, names: list[str], *, log_target: bool = False, recipe="auto"):
    """Fitted pipelines as train() builds them, with equal weights, and the rows to predict."""
    schema = profile(frame, target)
    X = frame.drop(columns=target)
    classes = None if schema.task == "regression" else sorted(frame[target].unique())
    y = (
        parse_numbers(frame[target]).to_numpy(float)
        if classes is None
        else frame[target].map({c: i for i, c in enumerate(classes)}).to_numpy()
    )
    pipelines = []
    for name in names:
        pipelines.append(tabular_pipeline(schema, name, load_recipe(recipe), log=log_target).fit(X, y))
    model = EnsembleModel(members=pipelines, weights=[1 / len(names)] * len(names), task=schema.task)
    return model, schema, len(classes or [])


def _assert_same(model: EnsembleModel, rows: pd.DataFrame, n_classes: int) -> None:
    compiled = compile_model(model, model.task, n_classes)
    for subset in (rows.iloc[:1], rows.iloc[:FEW_ROWS], rows):  # Treelite's path and the boosters' own
        expected = model.predict_output(subset)
        np.testing.assert_allclose(compiled.predict_output(subset), expected, rtol=RTOL, atol=ATOL)


def _with_gaps(rows: pd.DataFrame, column: str, numeric: str) -> pd.DataFrame:
    rows = rows.copy()
    rows[column] = rows[column].astype(object)
    rows.loc[rows.index[0], column] = "a level never seen"
    rows.loc[rows.index[1], column] = None
    rows.loc[rows.index[2], column] = "N/A"  # a missing-value token
    rows.loc[rows.index[3], numeric] = np.nan
    return rows


def _labelled(n: int, classes: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue", "grey"], n)
    shape = rng.choice(["round", "square", "flat"], n)
    size, weight = rng.normal(10, 3, n), rng.gamma(2.0, 2.0, n)
    score = size / 3 + (colour == "red") * 2 - (shape == "flat") * 1.5 + rng.normal(0, 1, n)
    label = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    return pd.DataFrame(
        {
            "colour": colour,
            "shape": shape,
            "size": size,
            "weight": weight,
            "label": np.array(["low", "mid", "high"][:classes] if classes == 3 else ["no", "yes"])[label],
        }
    )


def test_regression_boosters_and_ridge_with_gaps(market):
    frame = market.head(1500)
    model, schema, _ = _fit(frame, "price", BOOSTERS + ["ridge"])
    rows = check_rows(_with_gaps(market.iloc[2000:2100].drop(columns="price"), "make", "mileage"), schema).rows
    _assert_same(model, rows, 0)
    compiled = compile_model(model, "regression", 0)
    # XGBoost and LightGBM take the same native categories: one preprocessing pass serves both; every member
    # has a few-rows path (Treelite for the boosters, the arithmetic for ridge) and ridge reads arrays
    assert len(compiled.preps) == 3 and all(m.few is not None for m in compiled.members)
    assert [m.takes_frame for m in compiled.members] == [True, True, True, False]  # native categories: frames


def test_log_target_is_undone(market):
    model, schema, _ = _fit(market.head(1000), "price", ["lightgbm", "xgboost"], log_target=True)
    rows = check_rows(market.iloc[2000:2080].drop(columns="price"), schema).rows
    _assert_same(model, rows, 0)


@pytest.mark.parametrize("classes", [2, 3])
def test_class_probabilities(classes):
    frame = _labelled(1200, classes)
    model, schema, n_classes = _fit(frame, "label", BOOSTERS + ["logistic"])
    rows = check_rows(_with_gaps(_labelled(100, classes, seed=1).drop(columns="label"), "colour", "size"), schema).rows
    _assert_same(model, rows, n_classes)


def test_example_rows_follow_the_schema(market):
    schema = profile(market.head(1000), "price")
    rows = example_rows(schema, 64, seed=3)
    assert len(rows) == 64 and "price" not in rows.columns
    assert rows["mileage"].dtype == float and rows["make"].isna().any()
    assert (rows["make"] == "a level never seen").any()
    known = set(next(c for c in schema.columns if c.name == "make").details["levels"])
    assert rows["make"].dropna().isin(known | {"a level never seen"}).all()


def test_feature_steps_after_the_encoder(market):
    model, schema, _ = _fit(
        market.head(800), "price", ["lightgbm", "ridge"], recipe={"features": {"correlation_threshold": 0.9}}
    )
    assert "correlation" in dict(model.members[0][0].steps)
    _assert_same(model, check_rows(market.iloc[2000:2040].drop(columns="price"), schema).rows, 0)


def test_unclean_file_with_split_columns_and_numbers_in_text():
    import trainyard

    frame = trainyard.read(shared("uk_used_cars", "unclean", "focus.csv"))
    model, schema, _ = _fit(frame.iloc[:1500], "price", ["lightgbm", "xgboost"])
    assert "Coalesce" in {type(step).__name__ for _, step in model.members[0][0].steps}  # parses numbers too
    _assert_same(model, check_rows(frame.iloc[1500:1700].drop(columns="price"), schema).rows, 0)


class Unknown(TransformerMixin, BaseEstimator):
    """A step from outside scikit-learn and trainyard."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def test_a_step_it_cannot_compile_is_named(car_run):
    run = load_run(car_run)
    pipeline = run.estimator.members[0]
    pipeline.steps[0][1].steps.insert(0, ("mine", Unknown()))
    with pytest.raises(NotCompiled, match="the cleaning step Unknown"):
        compile_model(pipeline, "regression", 0)
    compiled, why_not = compile_run(run, check_rows(example_rows(run.schema, 8), run.schema).rows)
    assert compiled is None and why_not == "the cleaning step Unknown cannot be compiled"


def test_the_run_compiles_and_the_server_says_so(car_run):
    from fastapi.testclient import TestClient

    from trainyard.tabular.serve.app import create_app

    run = load_run(car_run)
    compiled, why_not = compile_run(run, check_rows(example_rows(run.schema, 32), run.schema).rows)
    assert compiled is not None and why_not == ""
    assert TestClient(create_app(run)).get("/health").json()["compiled"] is True
    plain = TestClient(create_app(run, compiled=False)).get("/health").json()
    assert plain["compiled"] is False and plain["compiled_note"] == "turned off"


def test_a_disagreeing_model_is_caught(car_run):
    run = load_run(car_run)
    rows = check_rows(example_rows(run.schema, 32), run.schema).rows
    skewed = EnsembleModel(
        members=run.estimator.members, weights=[w * 1.01 for w in run.estimator.weights], task=run.estimator.task
    )
    assert "differ" in check_compiled(compile_model(skewed, "regression", 0), lambda r: predict_output(run, r), rows)
