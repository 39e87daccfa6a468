"""Report size and speed for a 100,000-row run.

    python bench/report.py [--rows 100000]

Trains a small run (dummy, ridge, LightGBM; no tuning) on the embedded used-car
market, then times ``write_report`` and measures the HTML size. Goals (issue):
under 5 MB and under 10 seconds on this machine. There is no peer for this one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    from trainyard.data.synthetic import used_car_market
    from trainyard.tabular.report import write_report
    from trainyard.tabular.runs.store import save_run
    from trainyard.tabular.training.trainer import train

    market = used_car_market(args.rows)
    result = train(market, "price", models=["dummy", "ridge", "lightgbm"], tune=False, ensemble=False)
    with tempfile.TemporaryDirectory() as folder:
        run = save_run(result, Path(folder) / "market")
        start = time.perf_counter()
        html, markdown = write_report(run)
        seconds = time.perf_counter() - start
        size = html.stat().st_size
    print(f"rows {args.rows:,}: report written in {seconds:.1f} s, {size / 2**20:.2f} MB (goals: < 10 s, < 5 MB)")
    print(f"wrote {write_result('report', {'rows': args.rows, 'seconds': seconds, 'html_bytes': size})}")


if __name__ == "__main__":
    main()
