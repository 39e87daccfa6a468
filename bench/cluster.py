"""Dask engine benchmark: local processes against a two-worker local cluster, and a lazy table.

(Named cluster.py: a bench/dask.py would shadow the dask package.)

    python bench/cluster.py [--rows 1000000] [--lazy-rows 5000000]

(1) `uk_used_cars` (all nine files) repeated to --rows rows: the same `train` call (dummy, ridge,
    LightGBM; 3 folds; no tuning; seed 0) run locally and on `--cluster local:2`, wall time of
    each and whether the leaderboards are equal.
(2) The same data repeated to --lazy-rows rows, written as CSV, trained lazily (`read_lazy()`,
    XGBoost and LightGBM through their Dask interfaces, 100 trees, on local:2) in a child process:
    the client's peak memory against the size the table takes in memory as a pandas DataFrame.
    The workers hold the table; the client computes a 20,000-row sample and the metrics.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, WORK, status_bytes, write_result  # noqa: E402

MODELS = ["dummy", "ridge", "lightgbm"]


def cars() -> pd.DataFrame:
    files = sorted((SHARED_DATA / "uk_used_cars").glob("*.csv"))
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def repeated(rows: int) -> pd.DataFrame:
    base = cars()
    copies = -(-rows // len(base))
    return pd.concat([base] * copies, ignore_index=True).head(rows)


def local_vs_cluster(rows: int) -> dict:
    from trainyard.tabular.training.trainer import train

    frame = repeated(rows)
    out = {"rows": len(frame)}
    boards = {}
    for label, cluster in (("local", None), ("cluster local:2", "local:2")):
        started = time.monotonic()
        result = train(frame, "price", models=MODELS, folds=3, tune=False, seed=0, cluster=cluster)
        out[label] = {"seconds": time.monotonic() - started, "best": result.best.name}
        boards[label] = {e.name: [round(s, 10) for s in e.cv_scores] for e in result.entries}
        print(f"  {label}: {out[label]['seconds']:.0f} s, best {result.best.name}", flush=True)
    out["same_leaderboard"] = boards["local"] == boards["cluster local:2"]
    out["cluster_over_local"] = out["cluster local:2"]["seconds"] / out["local"]["seconds"]
    return out


def lazy_child(csv: str) -> None:
    import distributed  # noqa: F401 - imported before the baseline is read
    import lightgbm  # noqa: F401
    import xgboost  # noqa: F401

    import trainyard
    from trainyard.tabular.training.dask_boosters import train_lazy

    base = status_bytes("VmRSS:")
    started = time.monotonic()
    result = train_lazy(trainyard.read_lazy(csv), "price", cluster="local:2", n_estimators=100)
    print(
        json.dumps(
            {
                "seconds": time.monotonic() - started,
                "client_peak_bytes": status_bytes("VmHWM:"),
                "client_base_bytes": base,
                "rows": result.rows,
                "entries": [{k: v for k, v in e.items()} for e in result.entries],
            }
        )
    )


def lazy_table(rows: int) -> dict:
    frame = repeated(rows)
    in_memory = int(frame.memory_usage(deep=True).sum())
    WORK.mkdir(parents=True, exist_ok=True)
    csv = WORK / f"cars-{rows}.csv"
    if not csv.exists():
        frame.to_csv(csv, index=False)
    del frame
    out = subprocess.run([sys.executable, __file__, "--lazy-child", str(csv)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    child = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "rows": rows,
        "csv_bytes": csv.stat().st_size,
        "table_in_memory_bytes": in_memory,
        **child,
        "client_peak_over_table": child["client_peak_bytes"] / in_memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lazy-rows", type=int, default=5_000_000)
    parser.add_argument("--lazy-child")
    parser.add_argument("--only-lazy", action="store_true", help="Keep part (1) from the last results file.")
    args = parser.parse_args()
    if args.lazy_child:
        lazy_child(args.lazy_child)
        return
    if args.only_lazy:
        compare = json.loads((Path(__file__).parent / "results" / "cluster.json").read_text())["local_vs_cluster"]
    else:
        print(f"(1) {args.rows:,} rows, local against local:2", flush=True)
        compare = local_vs_cluster(args.rows)
    print(f"(2) {args.lazy_rows:,} rows, lazily", flush=True)
    lazy = lazy_table(args.lazy_rows)
    print(f"\n{'run':34} {'seconds':>8}")
    print(f"{'local, ' + str(compare['rows']) + ' rows':34} {compare['local']['seconds']:8.0f}")
    print(
        f"{'local:2 cluster':34} {compare['cluster local:2']['seconds']:8.0f}  "
        f"({compare['cluster_over_local']:.2f}x local; same leaderboard: {compare['same_leaderboard']})"
    )
    print(
        f"{'lazy, ' + str(lazy['rows']) + ' rows':34} {lazy['seconds']:8.0f}  client peak "
        f"{lazy['client_peak_bytes'] / 1e6:,.0f} MB (after imports {lazy['client_base_bytes'] / 1e6:,.0f} MB), "
        f"table in memory {lazy['table_in_memory_bytes'] / 1e6:,.0f} MB ({lazy['client_peak_over_table']:.2f}x)"
    )
    for entry in lazy["entries"]:
        print(f"   {entry['name']}: {entry['status']} {entry['metrics']}")
    path = write_result("cluster", {"local_vs_cluster": compare, "lazy": lazy})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
