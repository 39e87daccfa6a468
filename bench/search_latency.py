"""How long one query takes, per mode: in the library (warm), from the command line (a fresh process each
time), and through `trainyard search serve` (HTTP on loopback, and `search query` while it runs: the
command asks it), on a Cranfield index.

    python bench/search_latency.py [--runs 7] [--loaded]

The command line is measured twice: with the ONNX query encoder in trainyard's cache (what a user has after
`search index`) and with a cache that cannot be written (what every query cost before: sentence-transformers
and torch load per call). --loaded runs everything beside a busy loop on every core. Goal (issue 33): a dense or hybrid
query well under a second once the index is warm.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, busy, write_result  # noqa: E402

warnings.filterwarnings("ignore")
CLI = [sys.executable, "-c", "from trainyard.cli.app import main; main()"]
MODES = ("keyword", "dense", "hybrid")


def library(index_path: Path, queries: list[str]) -> dict:
    from trainyard.search.index import open_index

    out = {}
    with open_index(index_path) as index:
        index.search(queries[0], mode="hybrid", k=10)
        for mode in MODES:
            times = []
            for q in queries:
                start = time.perf_counter()
                index.search(q, mode=mode, k=10)
                times.append((time.perf_counter() - start) * 1000)
            out[mode] = statistics.median(times)
    return out


def command_line(index_path: Path, queries: list[str], runs: int, cache: str | None) -> dict:
    env = dict(os.environ, **({"TRAINYARD_CACHE": cache} if cache else {}))
    out = {}
    for mode in MODES:
        times = []
        for q in queries[:runs]:
            start = time.perf_counter()
            subprocess.run(
                [*CLI, "search", "query", str(index_path), q, "--mode", mode, "--json"],
                capture_output=True,
                check=True,
                env=env,
            )
            times.append((time.perf_counter() - start) * 1000)
        out[mode] = statistics.median(times)
    return out


def served(index_path: Path, queries: list[str], runs: int) -> tuple[dict, dict]:
    """Through HTTP, and through `search query` while the server runs (it asks the server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [*CLI, "search", "serve", str(index_path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)
        out = {}
        for mode in MODES:
            times = []
            for q in queries:
                url = f"http://127.0.0.1:{port}/search?" + urllib.parse.urlencode({"q": q, "mode": mode, "k": 10})
                start = time.perf_counter()
                json.loads(urllib.request.urlopen(url, timeout=30).read())
                times.append((time.perf_counter() - start) * 1000)
            out[mode] = statistics.median(times)
        return out, command_line(index_path, queries, runs, None)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    from trainyard.search.evaluate import read_queries
    from trainyard.search.index import build_index

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--loaded", action="store_true")
    args = parser.parse_args()
    queries = list(read_queries(SHARED_DATA / "cranfield" / "cran.qry").values())[:50]
    workdir = Path(tempfile.mkdtemp())
    build_index(SHARED_DATA / "cranfield" / "cran.all.1400", workdir / "cran-index").close()
    with busy((os.cpu_count() or 1) if args.loaded else 0):
        http, asked = served(workdir / "cran-index", queries, args.runs)
        result = {
            "library_p50_ms": library(workdir / "cran-index", queries),
            "served_p50_ms": http,
            "cli_with_server_p50_ms": asked,
            "cli_p50_ms": command_line(workdir / "cran-index", queries, args.runs, None),
            "cli_without_onnx_p50_ms": command_line(workdir / "cran-index", queries, args.runs, "/dev/null/no-cache"),
        }
    print(f"{'p50 ms':28} " + " ".join(f"{m:>9}" for m in MODES))
    for name, row in result.items():
        print(f"{name:28} " + " ".join(f"{row[m]:9.0f}" for m in MODES))
    result["loaded"] = args.loaded
    print(f"wrote {write_result('search_latency' + ('_loaded' if args.loaded else ''), result)}")


if __name__ == "__main__":
    main()
