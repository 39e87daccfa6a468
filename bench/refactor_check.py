"""Same scores before and after a redesign: fixed models, no time limit, every model's test score.

    python bench/refactor_check.py [--out bench/results/refactor-check.json]

With no time limit and no tuning nothing depends on the machine's speed, so a refactoring that keeps
behaviour gives the same scores to many decimals. Tables: german_credit (all), adult and uk_used_cars
(3,000 training rows each, their benchmark test rows), seed 0. Compare two result files with
``--compare A.json B.json`` (differences beyond 4 decimals are listed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA  # noqa: E402
from tabular import SETS, load, positive_label, score  # noqa: E402

MODELS = {
    "r2": ["dummy", "ridge", "lightgbm", "hist_gb", "random_forest", "xgboost"],
    "roc_auc": ["dummy", "logistic", "lightgbm", "hist_gb", "random_forest", "xgboost"],
}
ROWS = 3000


def _train():
    try:  # before the tabular package
        from trainyard.train import train
    except ImportError:
        from trainyard import train
    return train


def scores(name: str) -> dict[str, float]:
    info = SETS[name]
    train_df, test_df = load(name)
    train_df = train_df.sample(n=min(ROWS, len(train_df)), random_state=0).reset_index(drop=True)
    test_df = test_df.sample(n=min(ROWS, len(test_df)), random_state=0).reset_index(drop=True)
    result = _train()(train_df, info["target"], test_data=test_df, models=MODELS[info["metric"]], tune=False, seed=0)
    y = result.y.iloc[result.split.test]
    out = {}
    if hasattr(result, "results"):  # ModelResult (issue #31)
        tests = {name: r.test_output for name, r in result.results.items()}
    else:
        tests = {name: outputs["test"] for name, outputs in result.outputs.items()}
    for model, output in tests.items():
        if output is None:
            continue
        if info["metric"] == "r2":
            out[model] = score("r2", y, output)
        else:
            positive = result.classes.index(positive_label(result.y))
            out[model] = score("roc_auc", y == result.classes[positive], output[:, positive])
    return out


def compare(a: Path, b: Path) -> int:
    before, after = json.loads(a.read_text()), json.loads(b.read_text())
    differ = [
        (name, model, before[name].get(model), value)
        for name in after
        for model, value in after[name].items()
        if before[name].get(model) is None or round(before[name][model], 4) != round(value, 4)
    ]
    for row in differ:
        print("differs: {} {} {} -> {}".format(*row))
    print(f"{sum(len(v) for v in after.values())} scores compared, {len(differ)} differ beyond 4 decimals")
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/refactor-check.json"))
    parser.add_argument("--compare", nargs=2, type=Path)
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    if not (SHARED_DATA / "adult").exists():
        sys.exit(f"{SHARED_DATA} is absent; this benchmark needs ../shared/data")
    results = {name: scores(name) for name in SETS}
    for name, by_model in results.items():
        for model, value in by_model.items():
            print(f"{name:14} {model:14} {value:.6f}")
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
