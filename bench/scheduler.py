"""The scheduler under a time limit: whole-command wall time, what finished, and the score, on a quiet
and on a loaded machine, against scikit-learn's HistGradientBoosting defaults on the same rows.

    python bench/scheduler.py [--time-limit 30] [--tables letter26,digits,adult,german_credit,uk_used_cars]
                              [--code SRC_DIR]   # another checkout's src/, to compare before and after

Each run is `trainyard train TABLE --target T --time-limit L` in a fresh process, timed from its start to
its exit (start-up, reading, training, saving and the report). "Loaded" runs it beside a busy loop that
keeps one of the two cores occupied, as another job on a user's laptop would. HistGradientBoosting (defaults,
native categories) trains on the run's own training rows and scores on its test rows.
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

TABLES = {
    # a stand-in for the 16,000-row, 16-feature, 26-class table (generated: no download here)
    "letter26": {"target": "y", "metric": "accuracy"},
    "digits": {"target": "digit", "metric": "accuracy"},  # scikit-learn's bundled 8x8 digits: 10 classes, 64 columns
    "adult": {"target": "class", "metric": "roc_auc"},
    "german_credit": {"target": "credit_risk", "metric": "roc_auc"},
    "uk_used_cars": {"target": "price", "metric": "r2"},
}


def write_table(name: str, folder: Path) -> Path:
    import pandas as pd

    path = folder / f"{name}.csv"
    if path.exists():
        return path
    if name == "letter26":
        from sklearn.datasets import make_classification

        X, y = make_classification(
            16_000, 16, n_informative=12, n_classes=26, n_clusters_per_class=1, class_sep=2.0, random_state=0
        )
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(16)]).assign(y=[f"c{v:02d}" for v in y])
    elif name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        frame = pd.DataFrame(digits.data, columns=[f"p{i}" for i in range(64)]).assign(digit=digits.target.astype(str))
    elif name == "uk_used_cars":
        frame = pd.concat(
            [pd.read_csv(f) for f in sorted((SHARED_DATA / "uk_used_cars").glob("*.csv"))], ignore_index=True
        )
    elif name == "adult":
        frame = pd.read_csv(SHARED_DATA / "adult" / "train.csv")
    else:
        frame = pd.read_csv(SHARED_DATA / "german_credit" / "german_credit.csv")
    frame.to_csv(path, index=False)
    return path


def run_command(table: Path, target: str, limit: float, runs: Path, code: str | None) -> dict:
    env = {**os.environ, "PYTHONPATH": code} if code else dict(os.environ)
    command = [
        sys.executable,
        "-c",
        "from trainyard.cli.app import main; main()",
        "train",
        str(table),
        "--target",
        target,
        "--time-limit",
        str(limit),
        "--runs",
        str(runs),
        "--overwrite",
        "--seed",
        "0",
    ]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env={**env, "COLUMNS": "200"})
    seconds = time.monotonic() - start
    out = {"wall_seconds": seconds, "ratio": seconds / limit, "exit": done.returncode}
    if done.returncode != 0:
        out["error"] = (done.stderr.strip().splitlines() or ["?"])[-1][:300]
    return out


def read_run(run: Path, metric: str) -> dict:
    board = json.loads((run / "leaderboard.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    best = next(e for e in board if e["name"] == manifest["best"])
    return {
        "best": manifest["best"],
        "test": best["test"].get(metric),
        "ok": sorted(e["name"] for e in board if e["status"] == "ok"),
        "stopped": sorted(e["name"] for e in board if e["status"] == "stopped"),
        "fidelity": {
            e["name"]: round(e.get("rows_share", 1.0) * e.get("work_share", 1.0), 3)
            for e in board
            if e.get("rows_share", 1.0) * e.get("work_share", 1.0) < 0.999
        },
        "time": manifest.get("time", {}).get("spent", {}),
    }


def hist_gb(table: Path, target: str, run: Path, metric: str) -> float:
    """HistGradientBoosting with defaults on the run's training rows, scored on its test rows."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    frame = pd.read_csv(table)
    test_rows = pd.read_parquet(run / "predictions" / "test.parquet")["row"].to_numpy()
    fresh_path = run / "predictions" / "fresh.parquet"
    held = np.concatenate([test_rows, pd.read_parquet(fresh_path)["row"].to_numpy() if fresh_path.exists() else []])
    X = frame.drop(columns=target)
    for column in X.columns:
        if X[column].dtype.kind not in "biuf":
            X[column] = X[column].astype("category")
    train = np.setdiff1d(np.arange(len(frame)), held.astype(int))
    y = frame[target]
    if metric == "r2":
        model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        return float(r2_score(y.iloc[test_rows], model.fit(X.iloc[train], y.iloc[train]).predict(X.iloc[test_rows])))
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(X.iloc[train], y.iloc[train])
    if metric == "accuracy":
        return float(accuracy_score(y.iloc[test_rows], model.predict(X.iloc[test_rows])))
    positive = sorted(y.unique(), key=str)[-1]
    index = list(model.classes_).index(positive)
    return float(roc_auc_score(y.iloc[test_rows] == positive, model.predict_proba(X.iloc[test_rows])[:, index]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=30)
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--loads", default="quiet,loaded")
    parser.add_argument("--code", default=None, help="PYTHONPATH for trainyard (another checkout's src/)")
    parser.add_argument("--label", default="current")
    args = parser.parse_args()
    folder = WORK / "scheduler"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.tables.split(","):
        info = TABLES[name]
        table = write_table(name, folder)
        for load in args.loads.split(","):
            with busy(1 if load == "loaded" else 0):
                runs = folder / f"runs-{args.label}-{load}"
                row = {
                    "table": name,
                    "load": load,
                    **run_command(table, info["target"], args.time_limit, runs, args.code),
                }
            run = runs / name
            if row["exit"] == 0:
                row.update(read_run(run, info["metric"]))
                row["hist_gb"] = hist_gb(table, info["target"], run, info["metric"])
            rows.append(row)
            print(json.dumps(row, default=str), flush=True)
    print(
        f"\n{'table':14} {'load':7} {'wall/limit':>10} {'best':16} {'test':>7} {'HistGB':>7} {'ok':>3} {'stopped':>7}"
    )
    for r in rows:
        if r["exit"]:
            print(f"{r['table']:14} {r['load']:7} {r['ratio']:10.2f} error: {r.get('error', '')[:60]}")
            continue
        print(
            f"{r['table']:14} {r['load']:7} {r['ratio']:10.2f} {r['best']:16} {r['test']:7.4f} {r['hist_gb']:7.4f} "
            f"{len(r['ok']):3d} {len(r['stopped']):7d}"
        )
    path = write_result(f"scheduler-{args.label}", {"time_limit": args.time_limit, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
