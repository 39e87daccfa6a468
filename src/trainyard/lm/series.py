"""Numeric series for the sequence model: the season, the differences it learns, forecasts with quantiles.

A series is learnt as its differences ``y[t] - y[t - lag]`` (``choose_lag``: the season when the series
repeats, 1 for a trend, 0 for the values themselves, whichever the training part says is the better naive
forecast), standardised and cut into quantile bins (``data.SeriesCodec``). A forecast samples many paths of
tokens from the model, decodes each, adds the differences back onto the series, and reports each step's
mean and quantiles.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from trainyard.errors import DataError

SEASONS = (4, 7, 12, 24, 52)  # quarters, days of a week, months, hours, weeks of a year
MIN_AUTOCORRELATION = 0.3  # below it at every candidate lag, the series is said to have no season
QUANTILES = (0.1, 0.5, 0.9)  # the 80% band and the median
SAMPLES = 200


def season_from_times(times) -> int | None:
    """The season a time column implies: monthly 12, quarterly 4, daily 7, hourly 24, weekly 52; decimal
    years (R's time series: 1949.0, 1949.083, ...) by their step. None when it implies none."""
    import pandas as pd

    series = pd.Series(times).dropna()
    if len(series) < 3:
        return None
    if pd.api.types.is_numeric_dtype(series):
        step = float(np.median(np.diff(series.to_numpy(dtype=float))))
        per_year = round(1 / step) if 0 < step < 1 else None
        return per_year if per_year in SEASONS else None
    dates = pd.to_datetime(series, errors="coerce", format="mixed")
    if dates.isna().mean() > 0.1:
        return None
    days = float(np.median(np.diff(dates.dropna().to_numpy()).astype("timedelta64[s]").astype(float))) / 86400
    for low, high, season in ((0.03, 0.05, 24), (0.9, 1.1, 7), (6.5, 7.5, 52), (27, 32, 12), (88, 93, 4)):
        if low <= days <= high:
            return season
    return None


def detect_season(values: np.ndarray) -> int | None:
    """The candidate season with the strongest autocorrelation of the (first-differenced) series, if at least
    ``MIN_AUTOCORRELATION`` and at least three seasons long; None otherwise."""
    changes = np.diff(np.asarray(values, dtype=float))
    changes = changes - changes.mean()
    scale = float(changes @ changes)
    if scale == 0:
        return None
    scores = {m: float(changes[m:] @ changes[:-m]) / scale for m in SEASONS if len(changes) >= 3 * m}
    best = max(scores, key=lambda m: scores[m], default=None)
    return best if best is not None and scores[best] >= MIN_AUTOCORRELATION else None


def choose_lag(values: np.ndarray, season: int | None) -> int:
    """0 (the values), 1 (their changes) or the season (changes from a season before): the one whose naive
    forecast (the mean; the last value; the value a season before) errs least on ``values``, over every
    horizon up to a season (a forecast is for more than the next step)."""
    values = np.asarray(values, dtype=float)
    horizon = season if season and len(values) > 2 * season else 1
    steps = range(1, horizon + 1)
    errors = {
        0: float(np.mean(np.abs(values - values.mean()))),
        1: float(np.mean([np.mean(np.abs(values[h:] - values[:-h])) for h in steps])),
    }
    if horizon > 1:
        errors[horizon] = float(np.mean(np.abs(values[horizon:] - values[:-horizon])))
    return min(errors, key=lambda lag: errors[lag])


def wants_log(values: np.ndarray, lag: int) -> bool:
    """Learn the logarithm when every value is positive and its changes keep one size along the series
    where the values' own changes grow or shrink with their level (a multiplicative series)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 4 * max(lag, 1) or np.any(values <= 0):
        return False

    def drift(series: np.ndarray) -> float:  # how far the changes' spread differs between the two halves
        changes = series[lag:] - series[:-lag] if lag else series - series.mean()
        half = len(changes) // 2
        first, second = np.std(changes[:half]), np.std(changes[half:])
        return abs(np.log(second / first)) if first > 0 and second > 0 else 0.0

    return bool(drift(np.log(values)) < drift(values))


def parse_values(text: str) -> np.ndarray:
    """A numeric prompt ("100, 110, 120" or "100 110 120") as numbers; one line naming what is not one."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    bad = [p for p in parts if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", p)]
    if not parts or bad:
        shown = f"{bad[0]!r} is not a number" if bad else "it is empty"
        raise DataError(f"the prompt of a series model is its last values, e.g. --prompt '100,110,120'; {shown}")
    return np.array([float(p) for p in parts])


@torch.inference_mode()
def sample_paths(model, codec, history: np.ndarray, horizon: int, samples: int = SAMPLES, seed: int = 0):
    """``samples`` paths of ``horizon`` values after ``history``, drawn token by token from the model."""
    history = np.asarray(history, dtype=float)
    if len(history) <= codec.lag:
        raise DataError(
            f"the series has {len(history)} values; this model needs more than {codec.lag} "
            "(it learnt changes from that many steps before)"
        )
    if horizon < 1:
        raise DataError(f"--horizon {horizon}: forecast at least one step")
    model.eval()
    context = model.config.context
    tokens = torch.tensor(codec.encode(history)[-context:], dtype=torch.long).repeat(samples, 1)
    generator = torch.Generator().manual_seed(seed)
    logits, cache = model(tokens)
    position = tokens.shape[1]
    drawn = []
    for _ in range(horizon):
        probs = torch.softmax(logits[:, -1].double(), dim=-1)
        step = torch.multinomial(probs, 1, generator=generator)
        drawn.append(step)
        tokens = torch.cat([tokens, step], dim=1)
        if position < context:  # one new token against the cached keys and values
            logits, cache = model(step, cache=cache, start=position)
            position += 1
        else:  # the context is full: start again from its later half
            position = context // 2
            logits, cache = model(tokens[:, -position:])
    changes = codec.decode(torch.cat(drawn, dim=1).numpy())
    return codec.undo(history, changes)


def forecast(
    model, codec, history: np.ndarray, horizon: int, quantiles=QUANTILES, samples: int = SAMPLES, seed: int = 0
) -> dict[str, np.ndarray]:
    """Each step's mean and quantiles (keys "mean" and "q10", "q50", ...) over sampled paths."""
    paths = sample_paths(model, codec, history, horizon, samples, seed)
    out = {"mean": paths.mean(axis=0)}
    for q in quantiles:
        out[f"q{round(q * 100):g}"] = np.quantile(paths, q, axis=0)
    return out


def seasonal_naive(history: np.ndarray, season: int, steps: int) -> np.ndarray:
    """The seasonal-naive forecast: each of ``steps`` values is the one a season before (the last value, for
    a season of 1)."""
    history = np.asarray(history, dtype=float)
    return np.array([history[len(history) - season + (i % season)] for i in range(steps)])


def mase(truth: np.ndarray, predicted: np.ndarray, history: np.ndarray, season: int) -> float:
    """Mean absolute error scaled by the in-sample error of the seasonal-naive forecast (lag ``season``)."""
    lag = season if len(history) > season else 1
    scale = float(np.mean(np.abs(history[lag:] - history[:-lag])))
    return float(np.mean(np.abs(np.asarray(truth) - np.asarray(predicted)))) / (scale or 1.0)
