"""Boosters with early stopping against the catalog's fixed tree counts: same folds, same run.

    python bench/early_stopping.py [--tables multi8,letter26,regression,adult]

Each booster's cross-validation and refit (``fitting.run_job``, in this process) runs twice per table:
with stopping early on an inner tenth of each fold (``early_stopping.TASKS`` on) and with the catalog's
counts. Recorded: the CV score of the primary metric (log loss for classifiers, lower is better; R² for
regression), the test score, and the seconds. The tables: two generated multiclass tables (8 and 26
classes; the second a stand-in for a 16,000-row letter table), a generated regression table, and adult.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, write_result  # noqa: E402


def table(name: str):
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification, make_regression

    if name == "multi8":
        X, y = make_classification(6000, 16, n_informative=10, n_classes=8, n_clusters_per_class=1, random_state=0)
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(16)]).assign(y=[f"c{v}" for v in y]), "y"
    if name == "letter26":
        X, y = make_classification(
            16_000, 16, n_informative=12, n_classes=26, n_clusters_per_class=1, class_sep=2.0, random_state=0
        )
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(16)]).assign(y=[f"c{v:02d}" for v in y]), "y"
    if name == "regression":
        X, y = make_regression(5000, 10, noise=5, random_state=0)
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]).assign(y=np.exp(y / 100) * 1000), "y"
    return pd.read_csv(SHARED_DATA / "adult" / "train.csv"), "class"


def job_for(frame, target: str, name: str):
    from trainyard.data.schema import profile
    from trainyard.tabular.prep.target import prepare_target
    from trainyard.tabular.recipe import load_recipe
    from trainyard.tabular.split import cv_folds, split_rows
    from trainyard.tabular.training.job import Job

    schema = profile(frame, target)
    recipe = load_recipe("auto")
    frame, y = prepare_target(frame, schema)
    split = split_rows(frame, schema, recipe.split, seed=0)
    classes = None if schema.task == "regression" else sorted(y.unique(), key=str)
    codes = y.to_numpy(float) if classes is None else y.map({c: i for i, c in enumerate(classes)}).to_numpy(int)
    X = frame.drop(columns=target)
    return Job(
        name=name,
        task=schema.task,
        schema=schema,
        recipe=recipe,
        X=X.iloc[split.train],
        y=codes[split.train],
        folds=cv_folds(frame, y, schema, split, folds=5, seed=0),
        X_test=X.iloc[split.test],
        X_fresh=X.iloc[split.fresh],
        n_classes=len(classes or []),
    ), codes[split.test]


def main() -> None:
    import trainyard.tabular.models.early_stopping as stopping
    from trainyard.tabular.metrics import primary_metric, scores_of
    from trainyard.tabular.training.job import run_job

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="multi8,letter26,regression,adult")
    parser.add_argument("--models", default="hist_gb,lightgbm,xgboost")
    args = parser.parse_args()
    rows = []
    for name in args.tables.split(","):
        frame, target = table(name)
        for model in args.models.split(","):
            job, y_test = job_for(frame, target, model)
            metric = primary_metric(job.task).name
            for mode, tasks in (("early", ("regression", "binary", "multiclass")), ("fixed", ())):
                stopping.TASKS = tasks
                start = time.perf_counter()
                out = run_job(job)
                seconds = time.perf_counter() - start
                test = scores_of(job.task, y_test, out.test_output, job.n_classes)
                row = {
                    "table": name,
                    "model": model,
                    "mode": mode,
                    "metric": metric,
                    "cv": out.cv_mean,
                    "test": test[metric],
                    "trees": out.trees,
                    "seconds": seconds,
                }
                rows.append(row)
                print(row, flush=True)
    print(
        f"\n{'table':11} {'model':9} {'metric':9} {'CV early':>9} {'CV fixed':>9} {'test early':>10} "
        f"{'test fixed':>10} {'time ratio':>10}"
    )
    for early, fixed in zip(rows[::2], rows[1::2]):
        print(
            f"{early['table']:11} {early['model']:9} {early['metric']:9} {early['cv']:9.4f} {fixed['cv']:9.4f} "
            f"{early['test']:10.4f} {fixed['test']:10.4f} {early['seconds'] / fixed['seconds']:10.2f}"
        )
    print(f"wrote {write_result('early_stopping', {'rows': rows})}")


if __name__ == "__main__":
    main()
