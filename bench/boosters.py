"""LightGBM classifier defaults: the catalog's against the earlier ones, same folds, same run.

    python bench/boosters.py

adult: 5-fold CV ROC AUC on the given train file and ROC AUC on the given test file.
german_credit: 5-fold CV repeated 3 times on the benchmark's 80% training split
(its 200 test rows are too few to tell defaults apart). Single fits, no time limit,
categoricals as pandas categories (what the catalog's LightGBM gets).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, write_result  # noqa: E402
from tabular import SETS, as_categories, load, positive_label  # noqa: E402

EARLIER = {
    "n_estimators": 500,
    "learning_rate": 0.03,
    "num_leaves": 31,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
}


def make(params: dict):
    import lightgbm

    return lightgbm.LGBMClassifier(verbose=-1, random_state=0, **params)


def evaluate(params: dict, X, y, X_test, y_test, splitter) -> dict:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    scores = [
        roc_auc_score(y[v], make(params).fit(X.iloc[t], y[t]).predict_proba(X.iloc[v])[:, 1])
        for t, v in splitter.split(X, y)
    ]
    start = time.perf_counter()
    model = make(params).fit(X, y)
    seconds = time.perf_counter() - start
    test = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    return {"cv": float(np.mean(scores)), "test": float(test), "fit_seconds": seconds}


def main() -> None:
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold

    from trainyard.tabular.models.catalog import catalog

    if not (SHARED_DATA / "adult").exists():
        sys.exit(f"{SHARED_DATA} is absent; this benchmark needs ../shared/data")
    now = catalog("binary")["lightgbm"].defaults
    splitters = {
        "adult": StratifiedKFold(5, shuffle=True, random_state=0),
        "german_credit": RepeatedStratifiedKFold(n_splits=5, n_repeats=3, random_state=0),
    }
    results: dict[str, dict] = {}
    for name, splitter in splitters.items():
        train, test = load(name)
        target = SETS[name]["target"]
        positive = positive_label(train[target])
        y, y_test = (train.pop(target) == positive).to_numpy(int), (test.pop(target) == positive).to_numpy(int)
        X, X_test = as_categories(train, test)
        results[name] = {
            label: evaluate(params, X, y, X_test, y_test, splitter)
            for label, params in (("earlier", EARLIER), ("catalog", now))
        }
    print(f"{'set':14} {'defaults':9} {'CV AUC':>7} {'test AUC':>8} {'fit s':>6}")
    for name, rows in results.items():
        for label, row in rows.items():
            print(f"{name:14} {label:9} {row['cv']:7.4f} {row['test']:8.4f} {row['fit_seconds']:6.2f}")
    print(f"wrote {write_result('boosters', {'earlier': EARLIER, 'catalog': now, 'results': results})}")


if __name__ == "__main__":
    main()
