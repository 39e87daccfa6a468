"""One contract for every trainyard preprocessor: fit returns self, unfitted use raises,
clone and pickle and skops round-trip, a refit gives the same output, names match columns."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from trainyard.data.values import is_missing
from trainyard.tabular.prep import (
    AgeFromYear,
    AsCategory,
    Coalesce,
    CorrelationFilter,
    DateParts,
    DropColumns,
    ExpFeatures,
    ExtractNumbers,
    LogFeatures,
    MissingTokens,
    ParseNumbers,
    TextTfidf,
    TriStateEncoder,
)
from trainyard.tabular.prep.base import FrameTransformer
from trainyard.tabular.prep.clean import SafeNames
from trainyard.tabular.prep.encoders import TextWords

FRAME = pd.DataFrame(
    {
        "price": [" £8,000", "£9,500", "?", "£12,000", "£7,250", "£6,000"],
        "mileage": ["51,000 mi.", None, "12,000 mi.", None, "8,000 mi.", "70,100 mi."],
        "mileage2": [None, "33,000", None, "41,000", None, None],
        "year": [2016, 2019, 2018, 2020, 2015, 2012],
        "engine": ["300.0HP 3.7L V6", "150HP 1.6L", "120HP 1.2L", "190HP 2.0L", "110HP 1.0L", "90HP 1.0L"],
        "navigation": ["ON", "OFF", "NotAvailable", "ON", None, "OFF"],
        "comment": ["clean car", "one owner", "new tyres", "garage kept", "clean car mot", "px welcome car"],
        "listed": ["2026-01-05", "2026-02-11", "2026-03-09", "2026-04-20", "2026-05-02", "2026-06-30"],
        "twin": [1.0, 2.0, 3.0, 4.0, 5.0, 6.1],
        "single": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
)

CASES = [
    (MissingTokens(), None),
    (Coalesce(groups={"mileage": ["mileage", "mileage2"]}), ["mileage", "mileage2"]),
    (ParseNumbers(columns=("price",)), ["price"]),
    (ExtractNumbers(patterns={"engine": {"hp": r"([\d.]+)\s*HP", "litres": r"([\d.]+)\s*L\b"}}), ["engine"]),
    (DropColumns(columns={"comment": "free text"}, max_missing=0.2), None),
    (TriStateEncoder(), ["navigation"]),
    (AsCategory(), ["navigation", "comment"]),
    (TextTfidf(max_features=5), ["comment"]),
    (TextWords(n_components=2), ["comment"]),
    (SafeNames(), ["price", "engine"]),
    (AgeFromYear(as_of="2026-11-27"), ["year"]),
    (ExpFeatures(), ["year", "twin"]),
    (LogFeatures(), ["twin"]),
    (DateParts(), ["listed"]),
    (CorrelationFilter(threshold=0.99), ["twin", "single", "year"]),
]


@pytest.mark.parametrize(
    "transformer,columns", CASES, ids=lambda c: type(c).__name__ if not isinstance(c, list) else ""
)
def test_contract(transformer, columns, tmp_path) -> None:
    X = FRAME[columns] if columns else FRAME
    with pytest.raises(NotFittedError):
        clone(transformer).transform(X)
    fitted = clone(transformer)
    assert fitted.fit(X) is fitted
    out = fitted.transform(X)
    assert isinstance(out, pd.DataFrame) and len(out) == len(X)
    assert list(out.columns) == list(fitted.get_feature_names_out())
    again = clone(transformer).fit(X).transform(X)
    pd.testing.assert_frame_equal(out, again)
    pickled = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(pickled.transform(X), out)
    path = tmp_path / "t.skops"
    sio.dump(fitted, path)
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    pd.testing.assert_frame_equal(loaded.transform(X), out)
    fitted.set_output(transform="pandas")
    assert isinstance(fitted.transform(X), pd.DataFrame)


def test_values() -> None:
    assert MissingTokens().fit_transform(FRAME)["price"].isna().tolist() == [False, False, True, False, False, False]
    merged = Coalesce(groups={"mileage": ["mileage", "mileage2"]}).fit_transform(FRAME[["mileage", "mileage2"]])
    assert merged["mileage"].tolist() == [51000.0, 33000.0, 12000.0, 41000.0, 8000.0, 70100.0]
    engine = ExtractNumbers(patterns={"engine": {"hp": r"([\d.]+)\s*HP", "litres": r"([\d.]+)\s*L\b"}})
    assert engine.fit_transform(FRAME[["engine"]]).iloc[0].tolist() == [300.0, 3.7]
    assert TriStateEncoder().fit_transform(FRAME[["navigation"]])["navigation"].tolist() == [1, -1, 0, 1, 0, -1]
    ages = AgeFromYear(as_of="2026-11-27").fit_transform(FRAME[["year"]])["year_age"]
    assert ages.iloc[0] == pytest.approx(2026 + 10 / 12 - 2016)
    dropped = CorrelationFilter(threshold=0.99).fit(FRAME[["twin", "single", "year"]])
    assert list(dropped.dropped_) == ["single"]
    drop = DropColumns(columns={"comment": "free text"}, max_missing=0.2).fit(FRAME)
    assert set(drop.dropped_) == {"comment", "mileage", "mileage2"}  # navigation: 1 in 6 missing


def test_as_category_fixes_levels_in_fit() -> None:
    encoder = AsCategory().fit(pd.DataFrame({"make": ["ford", "bmw", None]}))
    out = encoder.transform(pd.DataFrame({"make": ["bmw", "tesla", None]}))["make"]
    assert list(out.cat.categories) == ["bmw", "ford"]
    assert out.iloc[0] == "bmw" and pd.isna(out.iloc[1]) and pd.isna(out.iloc[2])


def test_tristate_vocabulary_is_configurable() -> None:
    encoder = TriStateEncoder(vocabulary={"thumbs up": 1, "thumbs down": -1, "meh": 0})
    values = pd.DataFrame({"vote": ["Thumbs Up", "thumbs-down", "meh", None]})
    assert encoder.fit_transform(values)["vote"].tolist() == [1, -1, 0, 0]


def test_exp_features_scale_is_learned_in_fit_only() -> None:
    train = pd.DataFrame({"age": [1.0, 2.0, 3.0]})
    encoder = ExpFeatures().fit(train)
    out = encoder.transform(pd.DataFrame({"age": [100.0]}))
    assert encoder.scale_ == {"age": 2.0}
    assert out["age_exp"].iloc[0] == pytest.approx(np.exp(-50.0))


# Rows the steps never saw: missing everywhere, levels and words never seen, numbers far outside the
# training range, text where numbers were, dates that are not dates, tokens that only say "missing".
NEW_ROWS = pd.DataFrame(
    {
        "price": [" £8,000", None, "?", "abc", "-£1,200.50", "1.5e3", 7, "  12 "],
        "mileage": ["51,000 mi.", None, "", "9 km", "x", "1,000,000 miles", 3.5, " NA "],
        "mileage2": [None, "33,000", "5", None, "bad", None, None, "7"],
        "year": [2016.0, np.nan, 1e12, -5.0, 0.0, 2030.0, 2001.5, 1999.0],
        "engine": ["300.0HP 3.7L V6", None, "no numbers", "120HP", "3.0L", "1e3HP 2L", "HP", "55 hp 1.0 l"],
        "navigation": ["ON", None, "maybe", "off", "Not Available", "n/a", "ON", "OFF"],
        "comment": ["clean car", None, "", "unseen words here", 5, "clean clean", "px", "garage"],
        "listed": ["2026-01-05", None, "not a date", "2026-02-30", "2026-03-09 14:30", "1999-12-31", "2026-06-30", ""],
        "twin": [1.0, np.nan, 1e300, -1e300, 0.0, 3.3, np.inf, 2.0],
        "single": [1.0, np.nan, 2e300, -1e3, 0.0, 3.3, 6.1, -np.inf],
    }
)


def test_every_step_class_has_a_contract_case() -> None:
    """A step added to trainyard fails here until it has a case (and so an array form checked below)."""
    import importlib
    import pkgutil

    import trainyard.tabular.prep

    for info in pkgutil.walk_packages(trainyard.tabular.prep.__path__, "trainyard.tabular.prep."):
        importlib.import_module(info.name)
    classes = set()
    pending = [FrameTransformer]
    while pending:
        for sub in pending.pop().__subclasses__():
            classes.add(sub)
            pending.append(sub)
    assert classes and classes <= {type(t) for t, _ in CASES}, classes - {type(t) for t, _ in CASES}


@pytest.mark.parametrize(
    "transformer,columns", CASES, ids=lambda c: type(c).__name__ if not isinstance(c, list) else ""
)
def test_the_array_form_equals_transform_on_rows_never_seen(transformer, columns) -> None:
    """``transform_arrays`` (the small-input form the server and a few-row predict use) gives what
    ``transform`` gives, row by row, on rows with missing values, unseen levels and extremes."""
    fitted = clone(transformer).fit(FRAME[columns] if columns else FRAME)
    for rows in (NEW_ROWS, FRAME, NEW_ROWS.iloc[[1]]):
        X = rows[columns] if columns else rows
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # exp and log of the extremes
            expected = fitted.transform(X)
            got = fitted.transform_arrays({c: X[c].to_numpy() for c in X.columns})
        assert list(got) == list(fitted.get_feature_names_out())
        for name in expected.columns:
            _assert_same_values(expected[name], got[name], f"{type(transformer).__name__}: {name}")


def _assert_same_values(expected: pd.Series, got: np.ndarray, label: str) -> None:
    assert len(got) == len(expected), label
    if isinstance(expected.dtype, pd.CategoricalDtype):  # the array form gives the level's position
        codes = expected.cat.codes.to_numpy(float)
        np.testing.assert_array_equal(np.where(codes < 0, np.nan, codes), got, err_msg=label)
    elif pd.api.types.is_numeric_dtype(expected) and np.asarray(got).dtype.kind in "fiu":
        np.testing.assert_allclose(np.asarray(got, float), expected.to_numpy(float), rtol=1e-12, err_msg=label)
    else:
        for want, have in zip(expected.tolist(), list(got)):
            assert (is_missing(want) and is_missing(have)) or want == have, f"{label}: {want!r} != {have!r}"
