"""Readers benchmark: trainyard.read against pandas on a >= 1,000,000-row CSV and its Parquet twin.

    python bench/readers.py [--repeats 5]

The table repeats ../shared/data/uk_used_cars/*.csv (99,187 rows) eleven times.
Each reader runs in a fresh process; runs are interleaved and the median kept,
because this machine is shared and noisy. Goal: trainyard within 1.1x of the
fastest pandas reader's wall time, and peak memory no higher.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, WORK, measure, write_result  # noqa: E402

REPEAT = 11


def build_inputs() -> tuple[Path, Path]:
    import pandas as pd

    csv_path, parquet_path = WORK / "cars_1m.csv", WORK / "cars_1m.parquet"
    if csv_path.exists() and parquet_path.exists():
        return csv_path, parquet_path
    files = sorted((SHARED_DATA / "uk_used_cars").glob("*.csv"))
    if not files:
        sys.exit(f"{SHARED_DATA / 'uk_used_cars'} is absent; this benchmark needs ../shared/data")
    base = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    big = pd.concat([base] * REPEAT, ignore_index=True)
    WORK.mkdir(parents=True, exist_ok=True)
    big.to_csv(csv_path, index=False)
    big.to_parquet(parquet_path)
    return csv_path, parquet_path


def readers(csv_path: Path, parquet_path: Path) -> dict[str, tuple[str, str]]:
    pandas, ty = "import pandas as pd", "import pandas as pd, trainyard"
    return {
        "pandas.read_csv (c)": (pandas, f"pd.read_csv({str(csv_path)!r})"),
        "pandas.read_csv (pyarrow)": (pandas, f"pd.read_csv({str(csv_path)!r}, engine='pyarrow')"),
        "trainyard.read (csv)": (ty, f"trainyard.read({str(csv_path)!r})"),
        "pandas.read_parquet": (pandas, f"pd.read_parquet({str(parquet_path)!r})"),
        "trainyard.read (parquet)": (ty, f"trainyard.read({str(parquet_path)!r})"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    csv_path, parquet_path = build_inputs()
    plan = readers(csv_path, parquet_path)
    runs: dict[str, list[dict]] = {name: [] for name in plan}
    for _ in range(args.repeats):
        for name, (imports, call) in plan.items():
            runs[name].append(measure(imports, call))
    summary = {
        name: {
            "seconds": statistics.median(r["seconds"] for r in rs),
            "peak_mb": statistics.median(r["peak_bytes"] for r in rs) / 2**20,
            "rows": rs[0]["rows"],
        }
        for name, rs in runs.items()
    }
    fastest_csv = min(("pandas.read_csv (c)", "pandas.read_csv (pyarrow)"), key=lambda n: summary[n]["seconds"])
    ratios = {
        "csv_time_vs_fastest_pandas": summary["trainyard.read (csv)"]["seconds"] / summary[fastest_csv]["seconds"],
        "csv_memory_vs_fastest_pandas": summary["trainyard.read (csv)"]["peak_mb"] / summary[fastest_csv]["peak_mb"],
        "parquet_time_vs_pandas": summary["trainyard.read (parquet)"]["seconds"]
        / summary["pandas.read_parquet"]["seconds"],
        "parquet_memory_vs_pandas": summary["trainyard.read (parquet)"]["peak_mb"]
        / summary["pandas.read_parquet"]["peak_mb"],
    }
    print(f"{'reader':28} {'rows':>10} {'seconds':>8} {'peak MB':>8}")
    for name, row in summary.items():
        print(f"{name:28} {row['rows']:>10,} {row['seconds']:>8.3f} {row['peak_mb']:>8.0f}")
    print(f"fastest pandas CSV reader: {fastest_csv}")
    for name, value in ratios.items():
        print(f"{name:32} {value:.2f}x")
    path = write_result(
        "readers", {"repeats": args.repeats, "fastest_csv": fastest_csv, "readers": summary, "ratios": ratios}
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
