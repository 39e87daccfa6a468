"""AutoRegressor and AutoClassifier: scikit-learn's own estimator checks, and the estimators in its tools."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from trainyard import AutoClassifier, AutoRegressor
from trainyard.data.synthetic import used_car_market

# A small budget and fast models: scikit-learn's checks fit each estimator about a hundred times.
FAST = {"time_limit": None, "folds": 2, "tune": False, "ensemble": False}


def _expected_failures(estimator) -> dict[str, str]:
    """Checks that cannot apply, with the reason (none today: every check passes)."""
    return {}


@pytest.mark.slow  # scikit-learn's checks fit each estimator about a hundred times
@parametrize_with_checks(
    [AutoRegressor(models=["ridge"], **FAST), AutoClassifier(models=["logistic"], **FAST)],
    expected_failed_checks=_expected_failures,
)
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the trainer's notes on tiny generated tables
        check(estimator)


@pytest.fixture(scope="module")
def cars() -> pd.DataFrame:
    return used_car_market(900, seed=3)


def test_regressor_on_a_mixed_table_in_tools(cars: pd.DataFrame) -> None:
    X, y = cars.drop(columns="price"), cars["price"]
    model = AutoRegressor(models=["ridge", "lightgbm"], **FAST)
    fitted = clone(model).fit(X.iloc[:700], y.iloc[:700])
    assert fitted.best_ in {"ridge", "lightgbm"} and fitted.n_features_in_ == X.shape[1]
    assert list(fitted.feature_names_in_) == list(X.columns)
    assert set(fitted.leaderboard_["model"]) == {"ridge", "lightgbm"}
    assert fitted.score(X.iloc[700:], y.iloc[700:]) > 0.5  # R² on rows it never saw
    scores = cross_val_score(model, X, y, cv=2)
    assert scores.shape == (2,) and (scores > 0.5).all()
    piped = make_pipeline(FunctionTransformer(lambda frame: frame.assign(age=2024 - frame["year"])), model)
    assert piped.fit(X, y).predict(X.head(5)).shape == (5,)


def test_classifier_speaks_the_users_labels() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"a": rng.normal(size=600), "b": rng.normal(size=600), "colour": rng.choice(["red", "green", "blue"], 600)}
    )
    y = np.where(X["a"] + (X["colour"] == "red") > 0.5, "yes", "no")
    model = AutoClassifier(models=["logistic", "lightgbm"], **FAST).fit(X, y)
    assert list(model.classes_) == ["no", "yes"]
    assert set(model.predict(X)) == {"no", "yes"}
    proba = model.predict_proba(X)
    assert proba.shape == (600, 2) and np.allclose(proba.sum(axis=1), 1)
    assert (model.classes_[proba.argmax(axis=1)] == model.predict(X)).all()
    assert model.score(X, y) > 0.8
    assert model.model_.predict(X).tolist() == model.predict(X).tolist()  # the fitted model hands out labels too


def test_bad_input_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="only one class"):
        AutoClassifier(**FAST).fit(pd.DataFrame({"a": range(10)}), ["x"] * 10)
    with pytest.raises(ValueError, match="metric 'nosuch'"):
        AutoRegressor(metric="nosuch", **FAST).fit(pd.DataFrame({"a": range(40)}), np.arange(40.0))
