"""A numeric series as tokens: the model learns a periodic pattern and beats the last-value forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainyard.errors import DataError
from trainyard.lm import checkpoint
from trainyard.lm.data import SeriesCodec
from trainyard.lm.train import TrainSettings, train_lm


def test_codec_round_trip_is_close():
    values = np.random.default_rng(0).normal(50, 10, 2000)
    codec = SeriesCodec.fit(values, bins=32)
    decoded = codec.decode(codec.encode(values))
    assert codec.vocab_size == 32 and np.mean(np.abs(decoded - values)) < 1.5


def test_periodic_series_beats_the_naive_forecast(tmp_path):
    rng = np.random.default_rng(0)
    pattern = np.array([0, 3, 9, 4, 1, 7, 2, 8, 5, 6], dtype=float) * 10
    values = np.tile(pattern, 300) + rng.normal(0, 0.5, 3000)
    table = tmp_path / "sales.csv"
    pd.DataFrame({"day": range(3000), "sales": values}).to_csv(table, index=False)
    state = train_lm(
        table,
        tmp_path / "series",
        TrainSettings(
            column="sales",
            bins=16,
            layers=2,
            heads=2,
            dim=32,
            context=32,
            batch=16,
            steps=150,
            eval_every=50,
            warmup=10,
            lr=5e-3,
        ),
    )
    forecast = state.history[-1]["forecast"]
    assert forecast["points"] >= 250
    assert forecast["mae"] < 0.3 * forecast["naive_mae"]
    model, codec, config = checkpoint.load(tmp_path / "series")
    assert config["tokenizer"] == "series" and isinstance(codec, SeriesCodec)


def test_missing_column(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"a": range(100)}).to_csv(table, index=False)
    with pytest.raises(DataError, match="no column 'sales'; the columns are a"):
        train_lm(table, tmp_path / "x", TrainSettings(column="sales"))
