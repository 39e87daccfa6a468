"""A numeric series as tokens: the model learns a periodic pattern and beats the last-value forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainyard.errors import DataError
from trainyard.lm import checkpoint
from trainyard.lm.data import SeriesCodec
from trainyard.lm.series import choose_lag, detect_season, parse_values, season_from_times
from trainyard.lm.train import TrainSettings, train_lm


def test_codec_round_trip_is_close():
    values = np.random.default_rng(0).normal(50, 10, 2000)
    codec = SeriesCodec.fit(values, bins=32)
    decoded = codec.decode(codec.encode(values))
    assert codec.vocab_size == 32 and np.mean(np.abs(decoded - values)) < 1.5


def test_periodic_series_forecasts_its_season(tmp_path):
    rng = np.random.default_rng(0)
    pattern = np.array([0, 3, 9, 4, 1, 7, 2, 8, 5, 6], dtype=float) * 10
    values = np.tile(pattern, 50) + rng.normal(0, 0.5, 500)
    table = tmp_path / "sales.csv"
    pd.DataFrame({"day": range(500), "sales": values}).to_csv(table, index=False)
    state = train_lm(
        table,
        tmp_path / "series",
        TrainSettings.for_series("sales", season=10, steps=100, eval_every=50, bins=16),
    )
    forecast = state.history[-1]["forecast"]  # the last 50 values, forecast from the first 450
    assert forecast["points"] == 50 and forecast["season"] == 10
    assert forecast["mae"] < 0.2 * forecast["naive_mae"]  # the last value seen knows nothing of the pattern
    assert forecast["mase"] < 1.5 * forecast["seasonal_naive_mase"] and forecast["coverage_80"] > 0.5
    model, codec, config = checkpoint.load(tmp_path / "series")
    assert config["tokenizer"] == "series" and isinstance(codec, SeriesCodec) and codec.lag == 10


def test_the_season_comes_from_the_time_column_or_the_values():
    months = pd.date_range("2000-01-01", periods=48, freq="MS")
    assert season_from_times(months) == 12
    assert season_from_times(pd.date_range("2000-01-01", periods=20, freq="QS")) == 4
    assert season_from_times(pd.Series(np.arange(1949, 1961, 1 / 12))) == 12  # R's decimal years
    assert season_from_times(pd.Series(range(50))) is None  # a row number is not a calendar
    monthly = np.tile([5, 7, 9, 12, 15, 18, 20, 19, 16, 12, 8, 6], 10) + np.arange(120) * 0.2
    assert detect_season(monthly) == 12
    assert detect_season(np.random.default_rng(1).normal(size=200)) is None
    assert choose_lag(monthly, 12) == 12
    walk = np.cumsum(np.random.default_rng(2).normal(size=300))
    assert choose_lag(walk, None) == 1


def test_changes_round_trip_onto_the_series():
    values = np.tile([1.0, 5.0, 3.0, 8.0], 40) + np.arange(160)
    codec = SeriesCodec.fit(values[:120], bins=8, lag=4, season=4)
    changes = codec.changes(values)
    assert np.allclose(codec.undo(values[:120], changes[116:156][None])[0], values[120:160])
    assert codec.vocab_size <= 8 and len(codec.encode(values)) == 156


def test_a_numeric_prompt_is_read_as_numbers():
    assert parse_values("100, 110 ,120").tolist() == [100, 110, 120]
    assert parse_values("1e3 -2.5").tolist() == [1000, -2.5]
    with pytest.raises(DataError, match="'abc' is not a number"):
        parse_values("100,abc")


def test_missing_column(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"a": range(100)}).to_csv(table, index=False)
    with pytest.raises(DataError, match="no column 'sales'; the columns are a"):
        train_lm(table, tmp_path / "x", TrainSettings(column="sales"))
