"""Helpers shared by the benchmarks: where the data is, fresh-process timing, result files."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
WORK = ROOT / "bench" / "data"  # generated inputs, git-ignored
RESULTS = ROOT / "bench" / "results"

# Runs inside a fresh interpreter: imports first, then the peak-RSS counter is reset,
# so each number is the memory and time of the read alone.
_PROBE = """
import json, sys, time
{imports}
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
before = rss("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")
start = time.perf_counter()
result = {call}
seconds = time.perf_counter() - start
peak = rss("VmHWM:")
print(json.dumps({{"seconds": seconds, "peak_bytes": peak - before, "rows": len(result)}}))
"""


def median_ms(call, repeats: int) -> float:
    """The median milliseconds of ``call`` over ``repeats`` calls, after one to warm it."""
    import statistics
    import time

    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(imports: str, call: str) -> dict:
    """Time one call in a fresh Python process and report its peak extra memory."""
    code = _PROBE.format(imports=imports, call=call)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def status_bytes(field: str, pid: str = "self") -> int:
    """A memory figure of /proc/PID/status in bytes: "VmRSS:", "VmHWM:" (peak), "RssAnon:"."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": {"python": platform.python_version(), "cpus": _cpus()}, **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


@contextmanager
def busy(loops: int) -> Iterator[None]:
    """``loops`` processes spinning beside the work, as other jobs on a shared machine would (none for 0)."""
    spinning = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(loops)]
    try:
        yield
    finally:
        for process in spinning:
            process.kill()
