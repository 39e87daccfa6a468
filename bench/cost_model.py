"""The scheduler's cost prior: one fold's fit of each catalog model, timed on generated tables of several shapes.

    python bench/cost_model.py            # prints each model's unit and how well the formula predicts

The scheduler (``tabular/training/cost.py``) predicts a fold's seconds before the first fit as
``unit × rows/1000 × columns/10 × class factor`` (``rows`` squared for the kernel SVMs, whose fit grows so),
then corrects the guess from the model's own first fold and from how the machine ran the models before it.
This bench fits each model's ``unit`` (the median over the shapes) and reports the spread of
actual / predicted: the prior only has to be right within a few times, since the first fold corrects it.

Shapes: 2,000 and 8,000 rows (a fold's training rows), 10 and 40 numeric columns, regression, binary and 10
classes. Each fit is the worker's own (``job.fit_model``: preprocessing, early stopping), with 2 threads.
Results: bench/results/cost_model.json.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

SHAPES = [(rows, cols, task) for rows in (2000, 8000) for cols in (10, 40) for task in ("regression", "binary", 10)]


def table(rows: int, cols: int, task) -> pd.DataFrame:
    from sklearn.datasets import make_classification, make_regression

    if task == "regression":
        X, y = make_regression(rows, cols, n_informative=min(cols, 8), noise=5, random_state=0)
    else:
        classes = 2 if task == "binary" else task
        X, y = make_classification(
            rows, cols, n_informative=min(cols, 8), n_classes=classes, n_clusters_per_class=1, random_state=0
        )
        y = np.array([f"c{v:02d}" for v in y])
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(cols)]).assign(y=y)


def job_for(frame: pd.DataFrame):
    from trainyard.data.schema import profile
    from trainyard.tabular.prep.target import prepare_target
    from trainyard.tabular.recipe import load_recipe
    from trainyard.tabular.training.job import Job

    schema = profile(frame, "y")
    frame, y = prepare_target(frame, schema)
    classes = None if schema.task == "regression" else sorted(y.unique(), key=str)
    codes = y.to_numpy(float) if classes is None else y.map({c: i for i, c in enumerate(classes)}).to_numpy(int)
    X = frame.drop(columns="y")
    return Job(
        name="",
        task=schema.required_task(),
        schema=schema,
        recipe=load_recipe("auto"),
        X=X,
        y=codes,
        folds=[],
        X_test=X.iloc[:0],
        X_fresh=X.iloc[:0],
        n_classes=len(classes or []),
    )


def main() -> None:
    from dataclasses import replace

    from threadpoolctl import threadpool_limits

    from trainyard.tabular.models.catalog import select
    from trainyard.tabular.training.cost import predicted_fold_seconds
    from trainyard.tabular.training.job import fit_model

    rows_out = []
    for rows, cols, task in SHAPES:
        frame = table(rows, cols, task)
        base = job_for(frame)
        classes = base.n_classes
        for spec in select(base.task, n_rows=rows)[0]:
            if spec.name == "dummy":
                continue
            job = replace(base, name=spec.name)
            start = time.perf_counter()
            with threadpool_limits(2):
                fit_model(job, job.X, job.y, threads=2)
            seconds = time.perf_counter() - start
            guess = predicted_fold_seconds(spec, rows, cols, classes)
            rows_out.append(
                {
                    "model": spec.name,
                    "rows": rows,
                    "columns": cols,
                    "classes": classes,
                    "seconds": seconds,
                    "predicted": guess,
                    "ratio": seconds / guess,
                }  # fmt: skip
            )
            print(f"{spec.name:14} {rows:6} {cols:3} {classes:3} {seconds:7.2f} s  predicted {guess:7.2f}", flush=True)
    summary = {}
    for name in sorted({r["model"] for r in rows_out}):
        ratios = [r["ratio"] for r in rows_out if r["model"] == name]
        summary[name] = {"median_ratio": float(np.median(ratios)), "min": min(ratios), "max": max(ratios)}
    print(f"\n{'model':14} {'median':>7} {'min':>6} {'max':>6}   (actual / predicted)")
    for name, s in summary.items():
        print(f"{name:14} {s['median_ratio']:7.2f} {s['min']:6.2f} {s['max']:6.2f}")
    write_result("cost_model", {"fits": rows_out, "summary": summary})


if __name__ == "__main__":
    main()
