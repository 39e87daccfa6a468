"""Tabular benchmark: trainyard against FLAML and scikit-learn's HistGradientBoosting, same data, same run.

    python bench/tabular.py [--time-limit 120] [--sets uk_used_cars,adult,german_credit]

Splits: uk_used_cars (all nine files) 80/20 stratified by make, seed 0, R²; adult
the given train/test files, ROC AUC; german_credit 80/20 stratified, seed 0, ROC AUC.
Each system runs in a fresh process; peak memory is that process's peak RSS plus
its largest worker's (trainyard fits in worker processes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, WORK, write_result  # noqa: E402

SETS = {
    "uk_used_cars": {"target": "price", "metric": "r2"},
    "adult": {"target": "class", "metric": "roc_auc"},
    "german_credit": {"target": "credit_risk", "metric": "roc_auc"},
}


def load(name: str):
    """The benchmark's fixed train and test tables for one data set."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    if name == "uk_used_cars":
        frame = pd.concat(
            [pd.read_csv(f) for f in sorted((SHARED_DATA / "uk_used_cars").glob("*.csv"))], ignore_index=True
        )
        train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=frame["make"])
    elif name == "adult":
        train = pd.read_csv(SHARED_DATA / "adult" / "train.csv")
        test = pd.read_csv(SHARED_DATA / "adult" / "test.csv")
        test["class"] = test["class"].str.rstrip(".")  # the test file's labels end with a dot
    else:
        frame = pd.read_csv(SHARED_DATA / "german_credit" / "german_credit.csv")
        train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=frame["credit_risk"])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def score(metric: str, y_true, prediction) -> float:
    from sklearn.metrics import r2_score, roc_auc_score

    return float(r2_score(y_true, prediction) if metric == "r2" else roc_auc_score(y_true, prediction))


def positive_label(y) -> object:
    return sorted(y.unique(), key=str)[-1]


def run_trainyard(name: str, limit: float) -> dict:
    import trainyard
    from trainyard.tabular.training.trainer import train

    info = SETS[name]
    train_df, test_df = load(name)
    result = train(train_df, info["target"], test_data=test_df, time_limit=limit, seed=0)
    output = result.results[result.best.name].test_output
    y = result.y.iloc[result.split.test]
    if info["metric"] == "r2":
        value = score("r2", y, output)
    else:
        positive = result.classes.index(positive_label(result.y))
        value = score("roc_auc", y == result.classes[positive], output[:, positive])
    return {
        "score": value,
        "best": result.best.name,
        "version": trainyard.__version__,
        "models": {e.name: e.status for e in result.entries},
    }


def as_categories(train, test):
    """Non-numeric columns as pandas categories, the test rows on the training rows' levels."""
    train, test = train.copy(), test.copy()
    for column in train.columns:
        if train[column].dtype.kind not in "biuf":
            train[column] = train[column].astype("category")
            test[column] = test[column].astype("category").cat.set_categories(train[column].cat.categories)
    return train, test


def run_hgb(name: str, limit: float) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    info = SETS[name]
    train_df, test_df = load(name)
    X, X_test = as_categories(train_df.drop(columns=info["target"]), test_df.drop(columns=info["target"]))
    y = train_df[info["target"]]
    if info["metric"] == "r2":
        model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0).fit(X, y)
        return {"score": score("r2", test_df[info["target"]], model.predict(X_test))}
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0).fit(X, y)
    positive = list(model.classes_).index(positive_label(y))
    return {
        "score": score(
            "roc_auc", test_df[info["target"]] == model.classes_[positive], model.predict_proba(X_test)[:, positive]
        )
    }


def run_flaml(name: str, limit: float) -> dict:
    from flaml import AutoML

    info = SETS[name]
    train_df, test_df = load(name)
    X, y = train_df.drop(columns=info["target"]), train_df[info["target"]]
    automl = AutoML()
    task = "regression" if info["metric"] == "r2" else "classification"
    automl.fit(X, y, task=task, time_budget=limit, metric=info["metric"], seed=0, verbose=0)
    X_test = test_df.drop(columns=info["target"])
    if task == "regression":
        return {"score": score("r2", test_df[info["target"]], automl.predict(X_test)), "best": automl.best_estimator}
    classes = list(automl.classes_)
    positive = classes.index(positive_label(y))
    return {
        "score": score(
            "roc_auc", test_df[info["target"]] == classes[positive], automl.predict_proba(X_test)[:, positive]
        ),
        "best": automl.best_estimator,
    }


RUNNERS = {"trainyard": run_trainyard, "flaml": run_flaml, "hist_gb": run_hgb}


def _child(system: str, name: str, limit: float) -> None:
    """Run one system on one data set and print a JSON line (in a fresh process)."""
    import resource

    start = time.perf_counter()
    out = RUNNERS[system](name, limit)
    out["seconds"] = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    out["peak_mb"] = (own + workers) / 2**20
    print("RESULT " + json.dumps(out, default=str))


def measure(system: str, name: str, limit: float) -> dict:
    code = [sys.executable, __file__, "--child", system, name, str(limit)]
    done = subprocess.run(code, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=120)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--systems", default=",".join(RUNNERS))
    parser.add_argument("--child", nargs=3, metavar=("SYSTEM", "SET", "LIMIT"))
    args = parser.parse_args()
    if args.child:
        system, name, limit = args.child
        _child(system, name, float(limit))
        return
    if not (SHARED_DATA / "adult").exists():
        sys.exit(f"{SHARED_DATA} is absent; this benchmark needs ../shared/data")
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for name in args.sets.split(","):
        results[name] = {system: measure(system, name, args.time_limit) for system in args.systems.split(",")}
        print(name, json.dumps(results[name], default=str), flush=True)
    print(f"\n{'set':14} {'metric':8} {'system':10} {'score':>7} {'seconds':>8} {'peak MB':>8}")
    for name, by_system in results.items():
        for system, row in by_system.items():
            if "error" in row:
                print(f"{name:14} {SETS[name]['metric']:8} {system:10} error: {row['error']}")
                continue
            print(
                f"{name:14} {SETS[name]['metric']:8} {system:10} {row['score']:7.4f} {row['seconds']:8.1f} "
                f"{row['peak_mb']:8.0f}"
            )
    path = write_result("tabular", {"time_limit": args.time_limit, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
