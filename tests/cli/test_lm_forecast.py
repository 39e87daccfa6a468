"""A series from the command line: a 120-month table trains without flags, forecasts with quantiles, and a
numeric prompt is read as numbers; bad input is one line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

TRAINYARD = [sys.executable, "-c", "from trainyard.cli.app import main; main()"]


@pytest.fixture(scope="module")
def monthly(tmp_path_factory):
    """Ten years of monthly sales: a trend, a yearly season, noise; dated by month."""
    rng = np.random.default_rng(0)
    months = pd.date_range("2015-01-01", periods=120, freq="MS")
    season = 20 * np.sin(2 * np.pi * np.arange(120) / 12)
    units = 200 + np.arange(120) * 1.5 + season + rng.normal(0, 4, 120)
    path = tmp_path_factory.mktemp("series") / "sales.csv"
    pd.DataFrame({"month": months.strftime("%Y-%m"), "units": units.round(1)}).to_csv(path, index=False)
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAINYARD, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def series_model(monthly, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "sales-lm"
    done = _run("lm", "train", monthly, "--column", "units", "-o", out, "--time-limit", "20")
    assert done.returncode == 0, done.stderr
    return out, done.stderr


def test_a_monthly_series_trains_without_flags(series_model):
    out, stderr = series_model
    assert "a season (12) before" in " ".join(stderr.split())  # the season read from the month column
    import json

    config = json.loads((out / "config.json").read_text())
    codec = json.loads((out / "tokenizer.json").read_text())
    assert codec["season"] == 12 and codec["lag"] in (1, 12) and config["model"]["context"] < 108
    forecast = config["history"][-1]["forecast"]
    assert forecast["points"] == 12 and 0 <= forecast["coverage_80"] <= 1 and forecast["mase"] > 0


def test_forecast_writes_each_step_with_its_band(series_model, monthly, tmp_path):
    out, _ = series_model
    csv = tmp_path / "forecast.csv"
    done = _run("lm", "forecast", out, monthly, "--horizon", "12", "-o", csv)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(csv)
    assert list(table.columns) == ["step", "mean", "q10", "q50", "q90"] and len(table) == 12
    assert (table["q10"] <= table["q50"]).all() and (table["q50"] <= table["q90"]).all()
    assert (table["q90"] > table["q10"]).any()  # a band, not a line
    history = pd.read_csv(monthly)["units"]
    assert table["mean"].between(history.min() * 0.5, history.max() * 1.5).all()  # on the series' scale
    again = _run("lm", "forecast", out, monthly, "--horizon", "12", "-o", tmp_path / "again.csv")
    assert again.returncode == 0 and pd.read_csv(tmp_path / "again.csv").equals(table)  # one seed, one forecast


def test_a_numeric_prompt_continues_the_numbers(series_model):
    out, _ = series_model
    done = _run(
        "lm", "generate", out, "--prompt", ",".join(str(v) for v in range(200, 326, 5)), "--max-new-tokens", "3"
    )
    assert done.returncode == 0, done.stderr
    assert len([float(v) for v in done.stdout.strip().split(",")]) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["generate", "{out}", "--prompt", "100,110,abc"], "'abc' is not a number"),
        (["generate", "{out}", "--prompt", "100"], "this model needs more than"),
        (["forecast", "{out}", "{csv}", "--quantiles", "0.1,2"], "give numbers between 0 and 1"),
        (["forecast", "{out}", "{csv}", "--column", "nope"], "no column 'nope'"),
    ],
)
def test_bad_input_is_one_line(series_model, monthly, args, message):
    out, _ = series_model
    if args[2:3] == ["100"]:
        lag = __import__("json").loads((out / "tokenizer.json").read_text())["lag"]
        if lag < 1:
            pytest.skip("this model learnt the values themselves: one value is enough")
    done = _run("lm", *(a.format(out=out, csv=monthly) for a in args))
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_plain_script_trains_and_forecasts(monthly, tmp_path):
    script = f"""
import json
from trainyard.lm import checkpoint
from trainyard.lm.series import forecast
from trainyard.lm.train import TrainSettings, train_lm
from trainyard.lm.data import read_series

state = train_lm({str(monthly)!r}, {str(tmp_path / "ckpt")!r}, TrainSettings.for_series("units", steps=60))
model, codec, _ = checkpoint.load({str(tmp_path / "ckpt")!r})
history, _, _ = read_series({str(monthly)!r}, "units", holdout=0.0)
out = forecast(model, codec, history, 6)
print(json.dumps({{"season": codec.season, "keys": sorted(out), "steps": len(out["mean"]),
                   "held_out": state.history[-1]["forecast"]["points"]}}))
"""
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"season": 12, "keys": ["mean", "q10", "q50", "q90"], "steps": 6, "held_out": 12}
