"""Mostly-missing columns for models that take missing values: dropped above 50% missing, or kept to 95%.

    python bench/missing_columns.py [--tables loans_rate,movies,adult,ames]

The same split, models (HistGradientBoosting, LightGBM, no tuning, no ensemble) and seed; only the recipe's
``max_missing_native`` differs. Prints test scores, writes bench/results/missing_columns.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402
from suite_tables import BY_NAME  # noqa: E402

VARIANTS = {"drop above 50%": "same", "keep to 95%": 0.95}


def main() -> None:
    from trainyard.tabular.recipe import load_recipe
    from trainyard.tabular.training.trainer import train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="loans_rate,movies,adult,ames,nass_dead")
    args = parser.parse_args()
    rows = []
    for name in args.tables.split(","):
        table = BY_NAME[name]
        frame = table.load()
        missing = frame.drop(columns=table.target).isna().mean()
        for label, value in VARIANTS.items():
            recipe = load_recipe("auto").to_dict()
            recipe["clean"]["max_missing_native"] = value
            result = train(
                frame,
                table.target,
                recipe=recipe,
                models=["dummy", "hist_gb", "lightgbm"],
                tune=False,
                ensemble=False,
                seed=0,
                metric=table.metric if table.metric != "accuracy" else None,
            )
            for entry in result.entries:
                if entry.name != "dummy" and entry.status == "ok":
                    rows.append(
                        {
                            "table": name,
                            "variant": label,
                            "model": entry.name,
                            "test": entry.test.get(table.metric),
                            "columns_over_half_missing": int((missing > 0.5).sum()),
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'table':12} {'model':10} " + " ".join(f"{v:>15}" for v in VARIANTS))
    for name in args.tables.split(","):
        for model in ("hist_gb", "lightgbm"):
            values = [
                next(
                    (r["test"] for r in rows if r["table"] == name and r["model"] == model and r["variant"] == v),
                    float("nan"),
                )
                for v in VARIANTS
            ]
            print(f"{name:12} {model:10} " + " ".join(f"{v:15.4f}" for v in values))
    print(f"wrote {write_result('missing_columns', {'rows': rows})}")


if __name__ == "__main__":
    main()
