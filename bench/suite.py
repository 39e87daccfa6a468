"""The benchmark suite: trainyard, scikit-learn's HistGradientBoosting and FLAML on 26 public tables, same run.

    python bench/suite.py                      # the full form: 26 tables, --time-limit 120
    python bench/suite.py --quick              # 8 tables at 30 s, for development (a few minutes)
    python bench/suite.py --tables digits,mpg --time-limit 60
    python bench/suite.py --quick --loaded --peers hist_gb   # beside a busy loop on one core; HistGB only

For each table: `trainyard train TABLE.csv --target T --metric M --time-limit L` runs in a fresh process
and chooses the split (test rows, and fresh rows where there is a date). The peers then train, each in a
fresh process, on exactly the rows trainyard trained on (neither test nor fresh rows), and every system is
scored on trainyard's test rows with the same metric code here. HistGradientBoosting uses its defaults
with native categories (levels above its 255-bin limit as ordinal codes); FLAML gets the same time limit
and metric. Recorded: the test score, the whole command's wall time (start-up included), and peak memory
of the process tree (the proportional set size of the process and its workers, summed, sampled every
0.2 s: memory shared by forked workers counts once).

The summary counts wins, ties and losses against each peer (a tie: the score difference is inside the
paired bootstrap standard error on the test rows), the mean normalised score ((score - baseline) /
(best system - baseline), baseline: R² 0, ROC AUC 0.5, the majority class's accuracy), and the worst ratio
of wall time to the limit.

Every table also checks the model a user gets: `trainyard predict` with the saved run on the test rows,
scored like the leaderboard, at most SAVED_MARGIN below the leaderboard's test score (a refit on every row
has seen those rows, so it scores at least about that; a wrong model saved scores far below).
`--trainyard-only` runs that check without the peers (results in suite-saved.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, WORK, busy, write_result  # noqa: E402
from suite_tables import BY_NAME, TABLES, Table  # noqa: E402

FOLDER = WORK / "suite"
BOOTSTRAP = 300
PEERS = ("hist_gb", "flaml")
TRAINYARD_ONLY = "--trainyard-only" in sys.argv  # the saved-model check alone: no peers
# --loaded: trainyard runs beside a busy loop on one of the two cores (the peers, quiet: HistGB has no limit)
LOADED = "--loaded" in sys.argv
RUN_PEERS = list(PEERS)  # --peers
PEER_OVERRUN = 3.0  # a peer still running at this many times the limit is stopped (FLAML on 32 classes ran 10 min)


# ---------------------------------------------------------------- scoring (one code path for every system)


def positive_label(labels) -> str:
    return sorted({str(v) for v in labels})[-1]


def score(table: Table, actual: np.ndarray, prediction: np.ndarray) -> float:
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    if table.metric == "r2":
        return float(r2_score(actual.astype(float), prediction.astype(float)))
    if table.metric == "roc_auc":
        return float(roc_auc_score(actual.astype(str) == positive_label(actual), prediction.astype(float)))
    return float(accuracy_score(actual.astype(str), prediction.astype(str)))


def paired_se(table: Table, actual, first, second, seed: int = 0) -> float:
    """Bootstrap standard error of score(first) - score(second) on the same resampled test rows."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(BOOTSTRAP):
        rows = rng.integers(0, len(actual), len(actual))
        try:
            diffs.append(score(table, actual[rows], first[rows]) - score(table, actual[rows], second[rows]))
        except ValueError:  # a resample with one class only
            continue
    return float(np.std(diffs)) if diffs else float("nan")


def baseline(table: Table, actual: np.ndarray, train_labels: np.ndarray) -> float:
    if table.metric == "r2":
        return 0.0
    if table.metric == "roc_auc":
        return 0.5
    values, counts = np.unique(train_labels.astype(str), return_counts=True)
    return float(np.mean(actual.astype(str) == values[counts.argmax()]))


# ---------------------------------------------------------------- running one system in a fresh process


def watch(command: list[str], env: dict | None = None, timeout: float | None = None) -> dict:
    """Run a command; its wall time, exit status, last stderr line and the peak RSS of its process tree.
    After ``timeout`` seconds the process tree is killed (exit -9, an error saying so)."""
    import psutil

    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    parent = psutil.Process(process.pid)
    while process.poll() is None:
        if timeout is not None and time.monotonic() - start > timeout:
            for child in [*parent.children(recursive=True), parent]:
                child.kill()
            process.wait()
            error = f"killed after {timeout:.0f} s (its limit was {timeout / PEER_OVERRUN:.0f} s)"
            return {"wall_seconds": time.monotonic() - start, "exit": -9, "peak_mb": peak / 2**20, "error": error}
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(_pss(p) for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    stdout, stderr = process.communicate()
    out = {
        "wall_seconds": time.monotonic() - start,
        "exit": process.returncode,
        "peak_mb": peak / 2**20,
        "stdout": stdout,
    }
    if process.returncode:
        out["error"] = (stderr.strip().splitlines() or ["?"])[-1][:300]
    return out


def _pss(process) -> int:
    """Proportional set size: pages shared by the fork server and its workers counted once, not per process."""
    try:
        return process.memory_full_info().pss
    except (AttributeError, OSError):
        return process.memory_info().rss


def run_trainyard(table: Table, csv: Path, limit: float, code: str | None) -> dict:
    env = {**os.environ, "COLUMNS": "200"}
    if code:
        env["PYTHONPATH"] = code
    runs = FOLDER / "runs"
    command = [
        sys.executable,
        "-c",
        "from trainyard.cli.app import main; main()",
        "train",
        str(csv),
        "--target",
        table.target,
        "--task",
        table.task,
        "--metric",
        table.metric,
        "--time-limit",
        str(limit),
        "--runs",
        str(runs),
        "--name",
        table.name,
        "--overwrite",
        "--seed",
        "0",
    ]
    with busy(1 if LOADED else 0):
        out = watch(command, env)
    out.pop("stdout", None)
    run = runs / table.name
    if out["exit"] == 0:
        board = json.loads((run / "leaderboard.json").read_text())
        manifest = json.loads((run / "manifest.json").read_text())
        out["best"] = manifest["best"]
        out["scored"] = sorted(e["name"] for e in board if e["status"] == "ok")
        out["cut"] = sorted(e["name"] for e in board if e["status"] != "ok")
        out["unscored"] = {e["name"]: e["message"][:160] for e in board if e["status"] != "ok"}
        # what the scheduler did: the models seen at a lower fidelity (their share of the full work)
        out["fidelity"] = {
            e["name"]: round(e.get("rows_share", 1.0) * e.get("work_share", 1.0), 3)
            for e in board
            if e.get("rows_share", 1.0) * e.get("work_share", 1.0) < 0.999
        }
        out["time"] = manifest.get("time", {}).get("spent", {})
    return out


# The saved model, asked by `trainyard predict` about the test rows, may score at most this much below the
# leaderboard's test score (tabular/training/refit_check.py's margin for a refit; 0 difference without one).
SAVED_MARGIN = 0.02


def saved_model_check(table: Table, frame, test_rows: np.ndarray, board: float, code: str | None) -> dict:
    """`trainyard predict` with the saved run on the test rows (the target dropped), scored like the leaderboard.

    The saved model is what a user gets: a refit on every row has seen these rows, so it should score at least
    about what the leaderboard says; a model saved in error scores far below it."""
    import pandas as pd

    rows = FOLDER / f"{table.name}.test.csv"
    frame.iloc[test_rows].drop(columns=[table.target]).to_csv(rows, index=False)
    out = FOLDER / f"{table.name}.saved.csv"
    env = {**os.environ, **({"PYTHONPATH": code} if code else {})}
    command = [sys.executable, "-c", "from trainyard.cli.app import main; main()", "predict"]
    command += [str(FOLDER / "runs" / table.name), str(rows), "-o", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:], "passed": False}
    predicted = pd.read_csv(out)
    actual = frame[table.target].to_numpy()[test_rows]
    if table.metric == "roc_auc":
        output = predicted[f"proba_{positive_label(actual)}"].to_numpy(dtype=float)
    else:
        output = predicted["prediction"].to_numpy()
    saved = score(table, actual, output)
    return {"score": saved, "board": board, "difference": saved - board, "passed": saved >= board - SAVED_MARGIN}


def trainyard_split(table: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """trainyard's test rows, their predictions (as the metric needs them) and the held rows (test and fresh)."""
    import pandas as pd

    predictions = FOLDER / "runs" / table.name / "predictions"
    test = pd.read_parquet(predictions / "test.parquet")
    held = test["row"].to_numpy()
    if (predictions / "fresh.parquet").exists():
        held = np.concatenate([held, pd.read_parquet(predictions / "fresh.parquet")["row"].to_numpy()])
    if table.metric == "r2":
        output = test["predicted"].to_numpy(dtype=float)
    elif table.metric == "roc_auc":
        positive = positive_label(test["actual"])
        column = next(c for c in test.columns if c == f"proba_{positive}")
        output = test[column].to_numpy(dtype=float)
    else:
        output = test["predicted"].astype(str).to_numpy()
    return test["row"].to_numpy(), output, held


def peer_features(train, test):
    """Dates as datetimes, other text as categories on the training rows' levels (what both peers read)."""
    import pandas as pd

    train, test = train.copy(), test.copy()
    for column in train.columns:
        if train[column].dtype.kind in "biuf":
            continue
        sample = train[column].dropna().astype(str).head(200)
        dates = pd.to_datetime(sample, errors="coerce", format="mixed") if len(sample) else sample
        looks_like_date = len(sample) and sample.str.contains(r"\d{1,4}[-/]\d{1,2}[-/]\d{1,4}").mean() > 0.9
        if looks_like_date and dates.notna().mean() > 0.9:
            for frame in (train, test):
                frame[column] = pd.to_datetime(frame[column], errors="coerce", format="mixed", utc=True)
                frame[column] = frame[column].dt.tz_localize(None)
            continue
        train[column] = train[column].astype(str).where(train[column].notna()).astype("category")
        test[column] = pd.Categorical(
            test[column].astype(str).where(test[column].notna()), categories=train[column].cat.categories
        )
    return train, test


def peer_child(system: str, name: str, limit: float) -> None:
    """One peer on one table, in this (fresh) process; writes its test predictions beside the run."""
    import pandas as pd

    table = BY_NAME[name]
    frame = pd.read_csv(FOLDER / f"{name}.csv")
    rows, _, held = trainyard_split(table)
    train_rows = np.setdiff1d(np.arange(len(frame)), held)
    X = frame.drop(columns=table.target)
    y = frame[table.target]
    X_train, X_test = peer_features(X.iloc[train_rows], X.iloc[rows])
    y_train = y.iloc[train_rows] if table.task == "regression" else y.iloc[train_rows].astype(str)
    if system == "hist_gb":
        output = _hist_gb(table, X_train, y_train, X_test)
    else:
        output = _flaml(table, X_train, y_train, X_test, limit)
    np.save(FOLDER / f"{name}.{system}.npy", np.asarray(output).astype(str if table.metric == "accuracy" else float))


def _hist_gb(table: Table, X_train, y_train, X_test):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    for column in X_train.columns:
        if X_train[column].dtype.kind == "M":
            X_train[column] = X_train[column].astype("int64").astype(float)
            X_test[column] = X_test[column].astype("int64").astype(float)
        elif str(X_train[column].dtype) == "category" and len(X_train[column].cat.categories) > 255:
            X_train[column] = X_train[column].cat.codes.replace(-1, np.nan).astype(float)
            X_test[column] = X_test[column].cat.codes.replace(-1, np.nan).astype(float)
    if table.task == "regression":
        model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        return model.fit(X_train, y_train).predict(X_test)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0).fit(X_train, y_train)
    return _classifier_output(table, model, X_test, y_train)


def _flaml(table: Table, X_train, y_train, X_test, limit: float):
    from flaml import AutoML

    automl = AutoML()
    task = "regression" if table.task == "regression" else "classification"
    automl.fit(X_train, y_train, task=task, time_budget=limit, metric=table.metric, seed=0, verbose=0)
    if task == "regression":
        return automl.predict(X_test)
    return _classifier_output(table, automl, X_test, y_train)


def _classifier_output(table: Table, model, X_test, y_train):
    if table.metric == "accuracy":
        return np.asarray(model.predict(X_test)).astype(str)
    classes = [str(c) for c in model.classes_]
    return model.predict_proba(X_test)[:, classes.index(positive_label(y_train))]


def run_peer(system: str, table: Table, limit: float) -> dict:
    out = watch([sys.executable, __file__, "--child", system, table.name, str(limit)], timeout=PEER_OVERRUN * limit)
    out.pop("stdout", None)
    return out


# ---------------------------------------------------------------- the suite


def run_table(table: Table, limit: float, code: str | None) -> dict:
    csv = FOLDER / f"{table.name}.csv"
    frame = table.load()
    frame.to_csv(csv, index=False)
    row: dict = {
        "table": table.name,
        "task": table.task,
        "metric": table.metric,
        "rows": len(frame),
        "columns": frame.shape[1] - 1,
        "trainyard": run_trainyard(table, csv, limit, code),
    }
    if row["trainyard"]["exit"]:
        return row
    test_rows, output, held = trainyard_split(table)
    actual = frame[table.target].to_numpy()[test_rows]
    train_rows = np.setdiff1d(np.arange(len(frame)), held)
    row["test_rows"], row["fresh_rows"] = len(test_rows), len(held) - len(test_rows)
    row["saved"] = saved_model_check(table, frame, test_rows, score(table, actual, output), code)
    outputs = {"trainyard": output}
    for system in RUN_PEERS if not TRAINYARD_ONLY else ():
        row[system] = run_peer(system, table, limit)
        path = FOLDER / f"{table.name}.{system}.npy"
        if row[system]["exit"] == 0:
            outputs[system] = np.load(path)
    base = baseline(table, actual, frame[table.target].to_numpy()[train_rows])
    for system, prediction in outputs.items():
        row[system]["score"] = score(table, actual, prediction)
    best = max(row[s]["score"] for s in outputs)
    for system in outputs:
        row[system]["normalised"] = (row[system]["score"] - base) / (best - base) if best > base else float("nan")
    for system in PEERS:
        if system in outputs:
            diff = row["trainyard"]["score"] - row[system]["score"]
            se = paired_se(table, actual, outputs["trainyard"], outputs[system])
            row[system]["versus"] = "tie" if abs(diff) <= se else ("win" if diff > 0 else "loss")
            row[system]["difference"], row[system]["difference_se"] = diff, se
    row["baseline"] = base
    return row


def summary(rows: list[dict], limit: float) -> dict:
    """The counts over the tables defaults are chosen on; the held-out tables' own, apart."""
    out = _summary([r for r in rows if not BY_NAME[r["table"]].held_out], limit)
    held = [r for r in rows if BY_NAME[r["table"]].held_out]
    if held:
        out["held_out"] = _summary(held, limit)
    return out


def _summary(rows: list[dict], limit: float) -> dict:
    if not rows:
        return {"tables": 0}
    done = [r for r in rows if r["trainyard"]["exit"] == 0]
    out: dict = {"tables": len(rows), "trainyard_failed": [r["table"] for r in rows if r["trainyard"]["exit"]]}
    for system in PEERS:
        versus = [r[system].get("versus") for r in done if "versus" in r.get(system, {})]
        out[system] = {k: versus.count(k) for k in ("win", "tie", "loss")}
        out[system]["at_least"] = (versus.count("win") + versus.count("tie")) / len(versus) if versus else None
    for system in ("trainyard", *PEERS):
        values = [r[system]["normalised"] for r in done if "normalised" in r.get(system, {})]
        out.setdefault("mean_normalised", {})[system] = float(np.nanmean(values)) if values else None
    out["worst_wall_ratio"] = max(r["trainyard"]["wall_seconds"] / limit for r in rows)
    out["peak_mb"] = max(r["trainyard"]["peak_mb"] for r in rows)
    out["only_baseline"] = [r["table"] for r in done if set(r["trainyard"]["scored"]) <= {"dummy"}]
    out["models_unscored"] = {r["table"]: sorted(r["trainyard"].get("unscored", {})) for r in done}
    out["models_unscored"] = {t: names for t, names in out["models_unscored"].items() if names}
    checked = [r for r in done if "saved" in r]
    out["saved_checked"] = len(checked)
    out["saved_failed"] = [r["table"] for r in checked if not r["saved"]["passed"]]
    differences = [r["saved"]["difference"] for r in checked if "difference" in r["saved"]]
    out["saved_worst_difference"] = min(differences) if differences else None
    return out


def print_rows(rows: list[dict], limit: float) -> None:
    print(
        f"\n{'table':14} {'metric':8} {'trainyard':>9} {'HistGB':>7} {'FLAML':>7} {'vs H':>4} {'vs F':>4} "
        f"{'wall/T':>6} {'MB':>5} {'saved':>7}"
    )
    for r in rows:
        ty = r["trainyard"]
        if ty["exit"]:
            print(f"{r['table']:14} {r['metric']:8} error: {ty.get('error', '')[:50]}")
            continue
        scores = [f"{r[s]['score']:7.4f}" if "score" in r.get(s, {}) else "      -" for s in PEERS]
        versus = [r.get(s, {}).get("versus", "-")[:4] for s in PEERS]
        saved = r.get("saved", {})
        print(
            f"{r['table']:14} {r['metric']:8} {ty['score']:9.4f} {scores[0]} {scores[1]} {versus[0]:>4} "
            f"{versus[1]:>4} {ty['wall_seconds'] / limit:6.2f} {ty['peak_mb']:5.0f} "
            f"{saved.get('difference', float('nan')):+7.4f}{'' if saved.get('passed', True) else ' FAILED'}"
        )


def report(paths: list[str]) -> None:
    """Merge result files (a table rerun in a later file replaces the earlier row) and print them."""
    by_table: dict[str, dict] = {}
    limit = None
    for path in paths:
        payload = json.loads(Path(path).read_text())
        limit = limit or payload["time_limit"]
        for row in payload["rows"]:
            by_table[row["table"]] = row
    order = [t.name for t in TABLES if t.name in by_table]
    rows = [by_table[name] for name in order]
    print(tables_markdown(rows))
    print()
    print(markdown(rows, limit))
    print(json.dumps(summary(rows, limit), indent=1))


def tables_markdown(rows: list[dict]) -> str:
    """What each table is: source, shape, task, metric, what it covers, and the split trainyard chose."""
    lines = [
        "| table | source | rows × columns | task | metric | covers | split (test / fresh rows) |",
        "|---|---|---:|---|---|---|---|",
    ]
    for r in rows:
        table = BY_NAME[r["table"]]
        split = f"{r['test_rows']:,} / {r['fresh_rows']:,}" if "test_rows" in r else "-"
        lines.append(
            f"| {table.name} | {table.source} | {r['rows']:,} × {r['columns']} | {table.task} | "
            f"{table.metric} | {table.covers} | {split} |"
        )
    return "\n".join(lines)


def markdown(rows: list[dict], limit: float) -> str:
    """The per-table results as a Markdown table, for docs/benchmarks.md."""
    lines = [
        "| table | rows × columns | metric | trainyard | HistGB | FLAML "
        "| vs HistGB | vs FLAML | wall / limit | peak MB |",
        "|---|---|---|---:|---:|---:|---|---|---:|---:|",
    ]
    for r in rows:
        ty = r["trainyard"]
        if ty["exit"]:
            lines.append(
                f"| {r['table']} | {r['rows']:,} × {r['columns']} | {r['metric']} | error: "
                f"{ty.get('error', '')[:80]} | | | | | | |"
            )
            continue
        peers = [f"{r[s]['score']:.4f}" if "score" in r.get(s, {}) else "error" for s in PEERS]
        versus = [r.get(s, {}).get("versus", "-") for s in PEERS]
        lines.append(
            f"| {r['table']} | {r['rows']:,} × {r['columns']} | {r['metric']} | {ty['score']:.4f} | "
            f"{peers[0]} | {peers[1]} | {versus[0]} | {versus[1]} | {ty['wall_seconds'] / limit:.2f} | "
            f"{ty['peak_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 tables at 30 s")
    parser.add_argument("--tables", default=None)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--code", default=None, help="PYTHONPATH for trainyard (another checkout's src/)")
    parser.add_argument("--label", default=None)
    parser.add_argument("--child", nargs=3, metavar=("SYSTEM", "TABLE", "LIMIT"))
    parser.add_argument("--trainyard-only", action="store_true", help="no peers: trainyard and its saved-model check")
    parser.add_argument("--peers", default=",".join(PEERS), help="the peers to run (hist_gb, flaml)")
    parser.add_argument("--loaded", action="store_true", help="trainyard beside a busy loop on one core")
    parser.add_argument(
        "--report",
        default=None,
        help="print a results JSON (several: merged, later wins) as Markdown and its summary, and exit",
    )
    args = parser.parse_args()
    if args.report:
        report(args.report.split(","))
        return
    RUN_PEERS[:] = args.peers.split(",")
    if args.child:
        system, name, limit = args.child
        peer_child(system, name, float(limit))
        return
    limit = args.time_limit or (30.0 if args.quick else 120.0)
    chosen = (
        [BY_NAME[n] for n in args.tables.split(",")]
        if args.tables
        else [t for t in TABLES if t.quick or not args.quick]
    )
    if any(t.needs_shared for t in chosen) and not (SHARED_DATA / "adult").exists():
        chosen = [t for t in chosen if not t.needs_shared]
        print(f"{SHARED_DATA} is absent: the tables from it are left out")
    FOLDER.mkdir(parents=True, exist_ok=True)
    rows = []
    label = args.label or ("suite-saved" if TRAINYARD_ONLY else "suite-quick" if args.quick else "suite")
    for table in chosen:
        rows.append(run_table(table, limit, args.code))
        print(json.dumps(rows[-1], default=str), flush=True)
        # written after every table, so a run cut short keeps what it measured ("complete" says which)
        path = write_result(
            label,
            {
                "time_limit": limit,
                "loaded": LOADED,
                "peers": RUN_PEERS,
                "complete": len(rows) == len(chosen),
                "rows": rows,
                "summary": summary(rows, limit),
            },
        )
    print_rows(rows, limit)
    print(json.dumps(summary(rows, limit), indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
