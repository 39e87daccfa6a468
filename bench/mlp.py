"""Is the PyTorch MLP competitive? Its test R² against the gradient boosting models on uk_used_cars.

    python bench/mlp.py

Same split as bench/tabular.py (80/20 stratified by make, seed 0), no time limit,
no tuning: the catalog defaults of mlp, lightgbm, xgboost and hist_gb side by side.
Goal (issue): the MLP's test R² within 0.02 of the best gradient boosting model.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402
from tabular import load  # noqa: E402


def main() -> None:
    from trainyard.tabular.training.trainer import train

    train_df, test_df = load("uk_used_cars")
    result = train(
        train_df,
        "price",
        test_data=test_df,
        models=["mlp", "lightgbm", "xgboost", "hist_gb"],
        tune=False,
        ensemble=False,
        seed=0,
    )
    rows = {
        e.name: {"test_r2": e.test.get("r2"), "cv_r2": e.cv_mean, "fit_seconds": e.fit_seconds, "status": e.status}
        for e in result.entries
    }
    boosted = max(rows[n]["test_r2"] for n in ("lightgbm", "xgboost", "hist_gb") if rows[n]["status"] == "ok")
    gap = boosted - rows["mlp"]["test_r2"]
    print(f"{'model':10} {'test R2':>8} {'CV R2':>8} {'fit s':>7}")
    for name, row in rows.items():
        print(f"{name:10} {row['test_r2']:8.4f} {row['cv_r2']:8.4f} {row['fit_seconds']:7.1f}")
    print(f"best gradient boosting minus MLP: {gap:+.4f} (goal: at most 0.02)")
    print(f"wrote {write_result('mlp', {'models': rows, 'gap_to_best_boosting': gap})}")


if __name__ == "__main__":
    main()
