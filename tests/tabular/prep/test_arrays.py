"""Each scikit-learn step's array form (prep/arrays.py) gives what the step's ``transform`` gives, on rows with
missing values, levels never seen and extremes; every form in ``FORMS`` has a case here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from trainyard.tabular.prep.arrays import FORMS, block_form

RNG = np.random.default_rng(0)
N = 120
NUMBERS = pd.DataFrame({"a": RNG.normal(50, 10, N), "b": np.where(RNG.random(N) < 0.2, np.nan, RNG.exponential(3, N))})
LEVELS = pd.DataFrame(
    {
        "colour": RNG.choice(["red", "green", "blue", "teal", None], N, p=[0.4, 0.3, 0.2, 0.02, 0.08]),
        "size": RNG.choice(["S", "M", "L"], N),
    }
)
TARGET = RNG.normal(0, 1, N) + (LEVELS["colour"] == "red").to_numpy()
NEW_NUMBERS = pd.DataFrame({"a": [np.nan, 1e300, -1e300, 50.0, 0.0], "b": [np.nan, 0.0, 1e10, -3.0, 2.5]})
NEW_LEVELS = pd.DataFrame(
    {"colour": ["red", None, np.nan, "mauve", "teal"], "size": ["XL", "S", None, "M", "L"]}, dtype=object
)

FITTED = {
    SimpleImputer: lambda: SimpleImputer(strategy="median", keep_empty_features=True).fit(NUMBERS),
    StandardScaler: lambda: StandardScaler().fit(NUMBERS),
    RobustScaler: lambda: RobustScaler().fit(NUMBERS),
    MinMaxScaler: lambda: MinMaxScaler().fit(NUMBERS),
    FunctionTransformer: lambda: FunctionTransformer().fit(NUMBERS),
    OneHotEncoder: lambda: OneHotEncoder(
        handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False
    ).fit(LEVELS),
    OrdinalEncoder: lambda: OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
    ).fit(LEVELS),
    TargetEncoder: lambda: TargetEncoder(target_type="continuous", cv=KFold(5, shuffle=True, random_state=0)).fit(
        LEVELS, TARGET
    ),
}


def test_every_form_has_a_case() -> None:
    assert set(FORMS) == set(FITTED)


@pytest.mark.parametrize("kind", list(FITTED), ids=lambda k: k.__name__)
def test_the_array_form_equals_transform(kind) -> None:
    step = FITTED[kind]()
    seen, new = (
        (LEVELS, NEW_LEVELS) if kind in (OneHotEncoder, OrdinalEncoder, TargetEncoder) else (NUMBERS, NEW_NUMBERS)
    )
    form = block_form(step)
    assert not form.__qualname__.startswith("library_form"), "its own form, not the library's transform"
    for rows in (new, seen.iloc[:20], new.iloc[[3]]):
        expected = np.asarray(step.transform(rows), dtype=float)
        got = form(rows.to_numpy(dtype=object))
        np.testing.assert_allclose(np.asarray(got, dtype=float), expected, rtol=1e-12, err_msg=kind.__name__)


def test_the_ordered_category_and_the_multiclass_target_encoder() -> None:
    ordered = OrdinalEncoder(
        categories=[["S", "M", "L"]], handle_unknown="use_encoded_value", unknown_value=np.nan
    ).fit(LEVELS[["size"]])
    classes = RNG.choice(["x", "y", "z"], N)
    target = TargetEncoder(target_type="multiclass", cv=KFold(5, shuffle=True, random_state=0)).fit(LEVELS, classes)
    chained = Pipeline([("target", target), ("scale", StandardScaler())]).fit(LEVELS, classes)
    for step, rows in ((ordered, NEW_LEVELS[["size"]]), (target, NEW_LEVELS), (chained, NEW_LEVELS)):
        assert not block_form(step).__qualname__.startswith("library_form")
        expected = np.asarray(step.transform(rows), dtype=float)
        np.testing.assert_allclose(block_form(step)(rows.to_numpy(dtype=object)), expected, rtol=1e-12)
