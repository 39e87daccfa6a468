"""Splitters: stratified shares, the fresh set, rare strata, groups, folds and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import trainyard
from tests.conftest import AS_OF, shared
from trainyard.errors import SchemaError
from trainyard.tabular.recipe import SplitSpec
from trainyard.tabular.split import cv_folds, split_rows, strata_labels


def test_stratified_by_make_keeps_shares_within_one_point_on_uk_used_cars() -> None:
    frame = trainyard.read(str(shared("uk_used_cars") / "*.csv"))
    schema = trainyard.profile(frame, target="price", as_of=AS_OF)
    split = split_rows(frame, schema, SplitSpec(kind="stratified", stratify="make", fresh_months=0), seed=0)
    assert len(split.train) + len(split.test) == len(frame)
    assert len(split.test) == pytest.approx(0.2 * len(frame), abs=1)
    assert set(split.shares) == set(frame["make"].unique())
    for make, share in split.shares.items():
        assert abs(share["train"] - share["test"]) < 0.01, make


def test_fresh_split_is_the_newest_whole_months_holding_five_percent(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    split = split_rows(market, schema, SplitSpec(fresh_months=1), seed=0)
    months = pd.to_datetime(market["listing_date"]).dt.to_period("M")
    newest = months.max()
    # 4,000 rows: the fresh set needs 200; November alone holds fewer, so October joins it
    assert (months == newest).sum() < 200 <= ((months == newest) | (months == newest - 1)).sum()
    assert split.fresh_period == "2026-10..2026-11"
    assert set(split.fresh) == set(np.flatnonzero((months >= newest - 1).to_numpy()))
    assert not (months.iloc[np.concatenate([split.train, split.test])] >= newest - 1).any()


def test_a_month_that_has_barely_begun_is_not_the_fresh_set() -> None:
    import datetime as dt

    from trainyard.data.synthetic import used_car_market

    cars = used_car_market(20_000, seed=7, as_of=dt.date(2026, 12, 2))  # the "42 rows on 2 December"
    schema = trainyard.profile(cars, target="price", as_of=dt.date(2026, 12, 2))
    split = split_rows(cars, schema, SplitSpec(fresh_months=1), seed=0)
    months = pd.to_datetime(cars["listing_date"]).dt.to_period("M")
    assert (months == "2026-12").sum() < 100
    assert split.fresh_period == "2026-11..2026-12" and len(split.fresh) >= 500


def test_no_fresh_set_when_the_newest_months_are_too_thin() -> None:
    dates = pd.Series(["2024-01-15"] * 50 + ["2026-11-20"] * 3)  # 53 rows: 5% is three, November holds them
    frame = pd.DataFrame({"day": dates, "x": range(53), "y": range(53)})
    schema = trainyard.profile(frame, target="y")
    split = split_rows(frame, schema, SplitSpec(fresh_months=1, date_column="day"), seed=0)
    assert len(split.fresh) == 3 and split.fresh_period == "2026-11"
    older = pd.DataFrame({"day": ["2026-10-05"] * 3 + ["2026-11-20"] * 20, "x": range(23), "y": range(23)})
    split = split_rows(older, trainyard.profile(older, target="y"), SplitSpec(date_column="day"), seed=0)
    assert len(split.fresh) == 0 and split.fresh_period is None  # 20 of 23 rows: no honest fresh set


def test_fresh_split_of_several_months(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    split = split_rows(market, schema, SplitSpec(fresh_months=3), seed=0)
    months = pd.to_datetime(market["listing_date"]).dt.to_period("M").iloc[split.fresh]
    assert split.fresh_period == "2026-09..2026-11" and months.nunique() == 3


def test_same_seed_same_split(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    a = split_rows(market, schema, SplitSpec(), seed=3)
    b = split_rows(market, schema, SplitSpec(), seed=3)
    c = split_rows(market, schema, SplitSpec(), seed=4)
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)


def test_rare_strata_are_merged_not_failing() -> None:
    values = pd.Series(["a"] * 50 + ["b"] * 40 + ["c"] + ["d"])
    labels = strata_labels(values, min_count=2, name="make")
    assert set(labels) == {"a", "b", "(other)"}
    single = strata_labels(pd.Series(["a"] * 50 + ["b"] * 40 + ["c"]), min_count=2, name="make")
    assert set(single) == {"a", "b"}  # a lone rare row joins the largest stratum


def test_stratification_column_with_a_single_level(market: pd.DataFrame) -> None:
    frame = market.assign(country="UK")
    schema = trainyard.profile(frame, target="price", as_of=AS_OF)
    with pytest.raises(SchemaError, match=r"cannot stratify by 'country': it has a single level"):
        split_rows(frame, schema, SplitSpec(kind="stratified", stratify="country"))


def test_date_column_that_does_not_parse(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    with pytest.raises(SchemaError, match=r"date column 'colour' does not parse as dates \(e.g. '"):
        split_rows(market, schema, SplitSpec(date_column="colour"))


def test_classification_is_stratified_by_the_target_with_matching_folds() -> None:
    frame = trainyard.read(shared("german_credit", "german_credit.csv"))
    schema = trainyard.profile(frame, target="credit_risk")
    split = split_rows(frame, schema, SplitSpec(), seed=0)
    assert split.kind == "stratified" and split.stratify == "credit_risk"
    y = frame["credit_risk"]
    folds = cv_folds(frame, y, schema, split, folds=5, seed=0)
    train_y = y.iloc[split.train].reset_index(drop=True)
    for train, valid in folds:
        assert abs(train_y.iloc[valid].mean() - train_y.mean()) < 0.02
        assert set(train).isdisjoint(valid)


def test_grouped_split_keeps_groups_apart(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    split = split_rows(market, schema, SplitSpec(kind="group", group="model", fresh_months=0), seed=0)
    assert set(market["model"].iloc[split.train]).isdisjoint(market["model"].iloc[split.test])
    folds = cv_folds(market, market["price"], schema, split, folds=4)
    models = market["model"].iloc[split.train].reset_index(drop=True)
    for train, valid in folds:
        assert set(models.iloc[train]).isdisjoint(models.iloc[valid])


def test_time_ordered_folds_validate_on_later_rows(market: pd.DataFrame) -> None:
    schema = trainyard.profile(market, target="price", as_of=AS_OF)
    split = split_rows(market, schema, SplitSpec(), seed=0)
    dates = pd.to_datetime(market["listing_date"]).iloc[split.train].reset_index(drop=True)
    for train, valid in cv_folds(market, market["price"], schema, split, folds=3, time_ordered=True):
        assert dates.iloc[train].max() <= dates.iloc[valid].min()
