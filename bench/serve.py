"""Serving load test: `trainyard serve` under wrk, single rows and batches of 1,000.

    python bench/serve.py [--run RUN] [--seconds 15] [--workers 2]

Without --run it first trains the best model of a `uk_used_cars` run (all nine files, 80/20
stratified by make, seed 0, `--time-limit 120`, as bench/tabular.py) into bench/data/serve-run.
Then it starts `trainyard serve` on loopback and drives it with wrk (Debian's package: `apt-get
install wrk`), a C load generator that takes little of the two cores: one row per request over
1 connection (latency) and over 8 (throughput), then 1,000 rows per request over 1,
each for --seconds. It checks the
answers against `trainyard predict` first, and counts non-2xx responses and socket errors.
Goals (issue): single-row p50 < 10 ms and >= 200 requests/s; 1,000-row p50 < 100 ms; no errors.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, write_result  # noqa: E402

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body}", "rb")
wrk.body = f:read("*a")
f:close()
"""


def train_run(path: Path) -> None:
    from tabular import load

    from trainyard.tabular.runs.store import save_run
    from trainyard.tabular.training.trainer import train

    train_rows, test_rows = load("uk_used_cars")
    result = train(train_rows, "price", test_data=test_rows, time_limit=120, seed=0)
    save_run(result, path, overwrite=True)


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
    requests = re.search(r"(\d+) requests in", out)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(latency["50"]),
        "p90_ms": _ms(latency["90"]),
        "p99_ms": _ms(latency["99"]),
        "requests": int(requests.group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
        "raw": out,
    }


def measure(run_path: Path, args, bodies: dict[int, Path], expected: dict, flags: list[str]) -> tuple[dict, bool]:
    """Start `trainyard serve` with ``flags``, check its answers against `trainyard predict`, run wrk."""
    import httpx
    import numpy as np

    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("trainyard")),
            "serve",
            str(run_path),
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
            *flags,
        ]
    )
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        same = True
        for n, body in bodies.items():
            answer = httpx.post(
                f"{url}/predict", content=body.read_bytes(), headers={"content-type": "application/json"}, timeout=60
            ).json()
            # the compiled trees sum in float32 in another order: equal to a few units of float32 rounding
            same &= bool(np.allclose(answer["predictions"], expected[n], rtol=1e-5, atol=1e-6))
        results = {}
        # one connection measures latency; eight measure throughput (keep-alive connections stick to the
        # worker process the kernel gave them to, so a few connections can all land on one worker)
        for key, n, connections in (("1_rows", 1, 1), ("1_rows_8_connections", 1, 8), ("1000_rows", 1000, 1)):
            results[key] = wrk(f"{url}/predict", bodies[n], connections, args.seconds)
            r = results[key]
            print(
                f"{n:>5} rows/request, {connections} connection(s): {r['requests_per_s']:8.1f} requests/s, "
                f"p50 {r['p50_ms']:.2f} ms, "
                f"p99 {r['p99_ms']:.2f} ms, {r['requests']} requests, {r['non_2xx']} non-2xx, "
                f"{r['socket_errors']} socket errors",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results, same


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def main() -> None:
    import pandas as pd

    from trainyard.tabular.runs.predict import predict_with_notes as predict
    from trainyard.tabular.runs.store import load_run

    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=Path)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    run_path = args.run or WORK / "serve-run"
    if args.run is None:
        started = time.monotonic()
        train_run(run_path)
        print(f"trained {run_path} in {time.monotonic() - started:.0f} s", flush=True)
    run = load_run(run_path)
    from tabular import load

    _, test_rows = load("uk_used_cars")
    rows = test_rows.drop(columns="price")
    bodies = {}
    for n in (1, 1000):
        path = WORK / f"serve-body-{n}.json"
        path.write_text(rows.head(n).to_json(orient="records"))
        bodies[n] = path

    expected = {
        n: predict(run, pd.DataFrame(json.loads(body.read_text())))[0]["prediction"].to_numpy()
        for n, body in bodies.items()
    }
    modes = {"compiled": ["--compiled"], "pipelines": ["--no-compiled"]}
    results, same = {}, {}
    for mode, flags in modes.items():
        print(f"-- {mode}", flush=True)
        results[mode], same[mode] = measure(run_path, args, bodies, expected, flags)
    ours = results["compiled"]
    goals = {
        "single p50 < 10 ms": ours["1_rows"]["p50_ms"] < 10,
        "single >= 200 requests/s": ours["1_rows_8_connections"]["requests_per_s"] >= 200,
        "1000-row p50 < 100 ms": ours["1000_rows"]["p50_ms"] < 100,
        "no errors": all(
            r["non_2xx"] == 0 and r["socket_errors"] == 0 for mode in results.values() for r in mode.values()
        ),
    }
    ratios = {
        key: {
            "p50": results["pipelines"][key]["p50_ms"] / ours[key]["p50_ms"],
            "requests_per_s": ours[key]["requests_per_s"] / results["pipelines"][key]["requests_per_s"],
        }
        for key in ours
    }
    for key, ratio in ratios.items():
        print(f"{key}: compiled p50 {ratio['p50']:.2f}x faster, {ratio['requests_per_s']:.2f}x the requests/s")
    print(f"best model {run.manifest['best']}; answers equal trainyard predict: {same}; goals: {goals}")
    path = write_result(
        "serve",
        {
            "run": {"best": run.manifest["best"], "data": "uk_used_cars"},
            "workers": args.workers,
            "seconds": args.seconds,
            "same_as_predict": same,
            "results": {
                m: {k: {x: y for x, y in v.items() if x != "raw"} for k, v in r.items()} for m, r in results.items()
            },
            "ratios_compiled_over_pipelines": ratios,
            "goals": goals,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
