"""What starting a fit costs, before and after the reused worker processes, quiet and on a busy machine.

    git worktree add /tmp/before <commit before the change>
    python bench/fit_startup.py --before /tmp/before [--repeat 3]

Two trainyards, each in fresh processes run from its own source tree (PYTHONPATH), interleaved so that the
machine's load hits them alike:

- "call": ``run_with_deadline`` of a function that returns at once, 8 times in one process: the first call
  (a worker, or the fork server, started) and the median of the other seven (what each later fit pays);
- "AutoClassifier(time_limit=15)": a 10,000-row binary table (scikit-learn's make_classification, 20
  features, seed 0; 2,000 more rows held out): wall seconds, models that finished, held-out accuracy, and
  scikit-learn's HistGradientBoosting with its defaults on the same rows for scale.

"Loaded" runs each case beside a second process in a busy loop (``python -c "while True: pass"``), one of the
machine's two cores. Writes bench/results/fit_startup.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, busy, write_result  # noqa: E402

CALLS = """
import json, time
from trainyard.tabular.training.engines.local import run_with_deadline
times = []
for _ in range(8):
    start = time.perf_counter()
    run_with_deadline(int, seconds=120)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""

FIT = """
import json, time, warnings
import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from trainyard import AutoClassifier
warnings.filterwarnings("ignore")
X, y = make_classification(12_000, 20, n_informative=8, random_state=0)
Xt, yt, Xh, yh = X[:10_000], y[:10_000], X[10_000:], y[10_000:]
start = time.perf_counter()
model = AutoClassifier(time_limit=15).fit(Xt, yt)
seconds = time.perf_counter() - start
board = model.leaderboard_
ok = int((board["status"] == "ok").sum()) if "status" in board else len(board)
hist = HistGradientBoostingClassifier(random_state=0).fit(Xt, yt).score(Xh, yh)
print(json.dumps({"seconds": seconds, "ok": ok, "models": len(board), "best": model.best_,
                  "accuracy": float((model.predict(Xh) == yh).mean()), "hist_gb": float(hist)}))
"""


def run(code: str, tree: Path) -> object:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    if done.returncode:
        raise SystemExit(f"{tree}: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--report", action="store_true", help="print the table of the last result file")
    args = parser.parse_args()
    if args.report:
        return print_table(json.loads((RESULTS / "fit_startup.json").read_text())["summary"])
    if args.before is None:
        parser.error("--before PATH is needed to measure")
    trees = {"before": args.before.resolve(), "after": ROOT}
    rows = []
    for load in ("quiet", "loaded"):
        with busy(1 if load == "loaded" else 0):
            for i in range(args.repeat):
                for label, tree in trees.items():
                    calls = run(CALLS, tree)
                    fit = run(FIT, tree)
                    assert isinstance(calls, list) and isinstance(fit, dict)
                    rows.append({"code": label, "load": load, "repeat": i, "first_call": calls[0],
                                 "later_call": statistics.median(calls[1:]), **fit})  # fmt: skip
                    print(json.dumps(rows[-1]), flush=True)
    summary = _summary(rows)
    write_result("fit_startup", {"rows": rows, "summary": summary})
    print_table(summary)


def print_table(summary: list[dict]) -> None:
    print(f"\n{'load':7} {'code':7} {'1st call s':>10} {'later ms':>8} {'fit s':>6} {'ok':>3} {'acc':>6} {'HistGB':>7}")
    for s in summary:
        print(
            f"{s['load']:7} {s['code']:7} {s['first_call']:10.2f} {1000 * s['later_call']:8.2f} {s['seconds']:6.1f} "
            f"{s['ok']:3.0f} {s['accuracy']:6.3f} {s['hist_gb']:7.3f}"
        )
    for load in ("quiet", "loaded"):
        before, after = (next(s for s in summary if s["load"] == load and s["code"] == c) for c in ("before", "after"))
        print(
            f"{load}: a later call costs {before['later_call'] / after['later_call']:.0f}x less after; "
            f"models finished at time_limit=15: {before['ok']:.0f} -> {after['ok']:.0f}"
        )


def _summary(rows: list[dict]) -> list[dict]:
    out = []
    for load in ("quiet", "loaded"):
        for code in ("before", "after"):
            mine = [r for r in rows if r["load"] == load and r["code"] == code]
            keys = ("first_call", "later_call", "seconds", "ok", "accuracy", "hist_gb")
            out.append({"load": load, "code": code, **{k: statistics.median(r[k] for r in mine) for k in keys}})
    return out


if __name__ == "__main__":
    main()
