"""Start-up: how long a command takes to answer, against `python -c pass` in the same run.

    python bench/startup.py [--repeat 7]

Each case is a fresh process, timed from start to exit; the median of --repeat runs is kept, and
the cases are interleaved so that the machine's load hits them alike. Goals (issue #20):
`trainyard --help`, `trainyard profile --help` and `import trainyard` under 0.5 s; `trainyard profile`
on a 10,000-row CSV under 2 s, whole process. The 10,000 rows are the first of the embedded market.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, write_result  # noqa: E402

TRAINYARD = str(Path(sys.executable).with_name("trainyard"))
GOALS = {
    "trainyard --help": 0.5,
    "trainyard profile --help": 0.5,
    "import trainyard": 0.5,
    "trainyard profile (10,000 rows)": 2.0,
}


def cases(csv: Path) -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import trainyard": [sys.executable, "-c", "import trainyard"],
        "import pandas (for scale)": [sys.executable, "-c", "import pandas"],
        "trainyard --help": [TRAINYARD, "--help"],
        "trainyard profile --help": [TRAINYARD, "profile", "--help"],
        "trainyard profile (10,000 rows)": [TRAINYARD, "profile", str(csv), "--target", "price"],
    }


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from trainyard.data.synthetic import used_car_market

    WORK.mkdir(parents=True, exist_ok=True)
    csv = WORK / "market-10000.csv"
    used_car_market(10_000, seed=0).to_csv(csv, index=False)
    commands = cases(csv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # once each first: the disk cache warm for all
        seconds(command)
    for _ in range(args.repeat):
        for name, command in commands.items():
            times[name].append(seconds(command))
    base = statistics.median(times["python -c pass"])
    results = {}
    print(f"{'case':34} {'median s':>9} {'x python':>9} {'goal s':>7} {'met':>4}")
    for name, values in times.items():
        median = statistics.median(values)
        goal = GOALS.get(name)
        results[name] = {
            "median_s": round(median, 4),
            "runs_s": [round(v, 4) for v in values],
            "over_python_pass": round(median / base, 1),
            "goal_s": goal,
            "met": None if goal is None else median < goal,
        }
        met = "" if goal is None else ("yes" if median < goal else "NO")
        print(f"{name:34} {median:9.3f} {median / base:9.1f} {goal or '':>7} {met:>4}")
    path = write_result("startup", {"repeat": args.repeat, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
