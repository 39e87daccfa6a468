"""Serving over the suite: `trainyard serve --workers 2` under wrk for the default run of every suite table.

    python bench/serve.py                         # every run under bench/data/suite/runs (bench/suite.py made them)
    python bench/serve.py --tables wage,titanic --seconds 5
    python bench/serve.py --loaded                # beside a busy loop on one of the two cores

For each table, the run bench/suite.py saved (`trainyard train TABLE.csv --target T --time-limit L`, its
default choice of model) is served on loopback and driven by wrk 4.1 (Debian's package), a C load
generator that takes little of the two cores, for --seconds per line:

- `POST /predict` with an empty list at 8 connections: the floor set by HTTP, uvicorn and FastAPI;
- one row at 1 connection (p50 / p99) and at 8 connections (requests/s, against the floor's);
- 1,000 rows at 1 connection (p50).

Before wrk, the server's answers to the 1-row and the 1,000-row bodies (the table's test rows) are compared
with the pipelines' predictions (what `trainyard predict` runs): values, labels and class probabilities to a
relative 1e-5. Beside it, the run is exported to ONNX (`trainyard export`): one row through onnxruntime in
process (one thread, inputs built from the row), or the one line that says why it does not export.
Goals (issue #34): one-row p50 <= 5 ms and p99 <= 20 ms; 8-connection requests/s >= 70% of the floor's.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, busy, median_ms, write_result  # noqa: E402

RUNS = WORK / "suite" / "runs"
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body}", "rb")
wrk.body = f:read("*a")
f:close()
"""
GOALS = {"p50_ms": 5.0, "p99_ms": 20.0, "share_of_floor": 0.70}


def wrk(url: str, body: Path, connections: int, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(body=body))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def json_rows(frame: pd.DataFrame, schema) -> list[dict]:
    """Rows as a client sends them, typed by the run's Schema (a code read as a number is still a string)."""
    from trainyard.tabular.serve.rows import features, json_type

    rows: list[dict] = [{} for _ in range(len(frame))]
    for column in features(schema):
        kind = json_type(column)
        for row, value in zip(rows, frame[column.name].tolist()):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                row[column.name] = None
            elif kind == "number":
                row[column.name] = float(value)
            elif kind == "boolean":
                row[column.name] = str(value).strip().lower() in ("true", "1", "yes")
            else:
                row[column.name] = str(value)
    return rows


def same_answers(answer: dict, expected: pd.DataFrame) -> bool:
    """The server's answer against the pipelines': labels equal, numbers to a relative 1e-5."""
    got = answer["predictions"]
    want = expected["prediction"].tolist()
    if expected.columns.size == 1:  # regression
        return bool(np.allclose(np.array(got, dtype=float), np.array(want, dtype=float), rtol=1e-5, atol=1e-6))
    if [str(v) for v in got] != [str(v) for v in want]:
        return False
    for name, values in answer["probabilities"].items():
        if not np.allclose(values, expected[f"proba_{name}"].to_numpy(float), rtol=1e-5, atol=1e-6):
            return False
    return True


def serve(run_path: Path, port: int, workers: int) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("trainyard")), "serve", str(run_path), "--port", str(port),
         "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def wait_healthy(url: str, server: subprocess.Popen) -> dict:
    import httpx

    for _ in range(600):
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {server.stderr.read()[-400:]}")
        try:
            answer = httpx.get(f"{url}/health", timeout=1)
            if answer.status_code == 200:
                return answer.json()
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError("the server did not answer /health in 150 s")


def onnx_one_row(run, rows: pd.DataFrame, folder: Path) -> dict:
    """Export the run; one row through onnxruntime in process (median of 300), or why it does not export."""
    import onnxruntime as ort

    from trainyard.errors import TrainyardError
    from trainyard.tabular.export.onnx_export import export_onnx, onnx_feed

    try:
        done = export_onnx(run, folder / f"{run.path.name}.onnx", overwrite=True)
    except TrainyardError as err:
        return {"exported": False, "why": str(err).splitlines()[0][:200]}
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(done.path), options, providers=["CPUExecutionProvider"])
    from trainyard.tabular.runs.predict import check_rows, compiled_model

    row = rows.head(1)
    compiled, checked = compiled_model(run), check_rows(row, run.schema).rows
    return {
        "exported": True,
        "one_row_ms": _one_thread_ms(lambda: session.run(None, onnx_feed(row, session))),
        # the same row through the compiled model in process (what the server runs, without HTTP)
        "compiled_one_row_ms": _one_thread_ms(lambda: compiled.predict_output(checked)) if compiled else None,
        "max_relative_difference": done.max_relative_difference,
    }


def _one_thread_ms(call) -> float:
    """The median of 300 calls on one thread, as the server predicts a few rows."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return median_ms(call, 300)


def measure(name: str, args, folder: Path) -> dict:
    import httpx

    from trainyard.data.readers import read
    from trainyard.tabular.runs.predict import predict_with_notes
    from trainyard.tabular.runs.store import load_run

    run_path = RUNS / name
    run = load_run(run_path)
    test = read(WORK / "suite" / f"{name}.test.csv")
    rows = test.drop(columns=[run.schema.target], errors="ignore")
    rows = pd.concat([rows] * math.ceil(1000 / len(rows)), ignore_index=True).head(1000)
    bodies, expected = {}, {}
    for n in (0, 1, 1000):
        payload = json_rows(rows.head(n), run.schema)
        bodies[n] = folder / f"{name}-{n}.json"
        bodies[n].write_text(json.dumps(payload))
        if n:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected[n] = predict_with_notes(run, pd.DataFrame(payload))[0]
    url = f"http://127.0.0.1:{args.port}"
    started = time.monotonic()
    server = serve(run_path, args.port, args.workers)
    try:
        health = wait_healthy(url, server)
        start_s = time.monotonic() - started
        same = all(
            same_answers(httpx.post(f"{url}/predict", content=bodies[n].read_bytes(), timeout=60).json(), expected[n])
            for n in (1, 1000)
        )
        lines = {
            "empty_8": wrk(f"{url}/predict", bodies[0], 8, args.seconds),
            "one_1": wrk(f"{url}/predict", bodies[1], 1, args.seconds),
            "one_8": wrk(f"{url}/predict", bodies[1], 8, args.seconds),
            "thousand_1": wrk(f"{url}/predict", bodies[1000], 1, args.seconds),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    members = getattr(run.estimator, "members", None) or [run.estimator]
    return {
        "table": name,
        "model": run.manifest.get("best"),
        "members": len(members),
        "compiled": bool(health.get("compiled")),
        "compiled_note": health.get("compiled_note", ""),
        "start_s": start_s,
        "same_as_predict": same,
        **{f"{key}_{metric}": value for key, line in lines.items() for metric, value in line.items()},
        "share_of_floor": lines["one_8"]["requests_per_s"] / lines["empty_8"]["requests_per_s"],
        "onnx": onnx_one_row(run, rows, folder),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", default="")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--loaded", action="store_true")
    parser.add_argument("--out", default="serve")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    names = args.tables.split(",") if args.tables else sorted(p.name for p in RUNS.iterdir() if p.is_dir())
    folder = Path(tempfile.mkdtemp())
    results = []
    with busy(args.loaded):
        for name in names:
            try:
                results.append(measure(name, args, folder))
            except Exception as err:  # one table's failure is a row of the report, not the end of the run
                results.append({"table": name, "error": f"{type(err).__name__}: {str(err)[:300]}"})
            print(_line(results[-1]), flush=True)
    ok = [r for r in results if "error" not in r]
    summary = {
        "tables": len(results),
        "p50_met": sum(r["one_1_p50_ms"] <= GOALS["p50_ms"] for r in ok),
        "p99_met": sum(r["one_1_p99_ms"] <= GOALS["p99_ms"] for r in ok),
        "floor_share_met": sum(r["share_of_floor"] >= GOALS["share_of_floor"] for r in ok),
        "same_as_predict": sum(r["same_as_predict"] for r in ok),
        "exported": sum(r["onnx"]["exported"] for r in ok),
        "errors": [r for r in results if "error" in r],
        "one_row_p50_median_ms": statistics.median(r["one_1_p50_ms"] for r in ok) if ok else None,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "errors"}))
    path = write_result(args.out, {"seconds": args.seconds, "workers": args.workers, "loaded": args.loaded,
                                   "goals": GOALS, "summary": summary, "results": results})  # fmt: skip
    print(f"wrote {path}")


def _line(r: dict) -> str:
    if "error" in r:
        return f"{r['table']:17} error: {r['error'][:60]}"
    onnx = (
        f"{r['onnx']['one_row_ms']:5.2f}/{r['onnx']['compiled_one_row_ms'] or 0:5.2f}"
        if r["onnx"]["exported"]
        else "  -  "
    )
    return (
        f"{r['table']:17} p50 {r['one_1_p50_ms']:5.2f} p99 {r['one_1_p99_ms']:5.2f} "
        f"rps {r['one_8_requests_per_s']:5.0f}/{r['empty_8_requests_per_s']:5.0f} "
        f"1k {r['thousand_1_p50_ms']:6.1f} onnx {onnx} same {r['same_as_predict']}"
    )


if __name__ == "__main__":
    main()
