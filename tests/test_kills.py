"""kill -9 at a random moment (three seeds per command): nothing committed is lost, nothing blocks the rerun.

Each test runs a writing command in a real process, kills it at a moment drawn from its seed, then asserts
that the artifact there before is byte-identical (or, when the kill came after the final rename, that the
new one is whole), that a rerun or resume finishes, and that nothing is left beside the target. These are
the slow tier: each starts several Python processes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.test_io import _digest, _docs

pytestmark = pytest.mark.slow
SEEDS = [0, 1, 2]
CLI = [sys.executable, "-c", "from trainyard.cli.app import main; main()"]


def _run(args: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(CLI + args, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def _kill_at(args: list[str], seed: int, earliest: float, latest: float) -> float:
    """Start the command, kill -9 it at a moment drawn from ``seed``; returns the moment (s)."""
    moment = random.Random(seed).uniform(earliest, latest)
    process = subprocess.Popen(CLI + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=moment)  # it may finish first: then the "after the rename" branch is checked
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    return moment


@pytest.mark.parametrize("seed", SEEDS)
def test_search_index(tmp_path: Path, seed: int) -> None:
    docs = _docs(tmp_path / "docs", 40)
    index = tmp_path / "idx"
    args = ["search", "index", str(docs), "-o", str(index), "--overwrite"]
    _run(args)
    before = _digest(index)
    (docs / "late.txt").write_text("laminar flow over a flat plate\n")
    _kill_at(args, seed, 0.5, 8.0)
    assert _digest(index) == before or "late" in (index / "documents.jsonl").read_text()
    _run(args)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "idx"]
    assert "late" in (index / "documents.jsonl").read_text()


@pytest.mark.parametrize("seed", SEEDS)
def test_search_add(tmp_path: Path, seed: int) -> None:
    index = tmp_path / "idx"
    _run(["search", "index", str(_docs(tmp_path / "docs", 20)), "-o", str(index)])
    before = _digest(index)
    more = _docs(tmp_path / "more", 10, start=100)
    _kill_at(["search", "add", str(index), str(more)], seed, 0.5, 8.0)
    if _digest(index) == before:  # killed before the swap: the old index, byte for byte; the add runs again
        _run(["search", "add", str(index), str(more)])
    ids = [json.loads(line)["id"] for line in (index / "documents.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(f"d{i}.txt" for i in [*range(20), *range(100, 110)])  # each once: no update lost
    found = _run(["search", "query", str(index), "boundary layer number 105", "-k", "3", "--json"]).stdout
    assert "d105" in found
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "idx", "more"]


@pytest.mark.parametrize("seed", SEEDS)
def test_train_resume(tmp_path: Path, seed: int, market: pd.DataFrame) -> None:
    table = tmp_path / "cars.csv"
    market.head(1000).to_csv(table, index=False)
    runs = tmp_path / "runs"
    args = [
        "train",
        str(table),
        "--target",
        "price",
        "--models",
        "dummy,ridge,lightgbm,random_forest",
        "--no-tune",
        "--no-report",
        "--runs",
        str(runs),
        "--seed",
        "3",
        "--folds",
        "3",
    ]
    _run(args + ["--name", "before"])
    before = _digest(runs / "before")
    _kill_at(args + ["--name", "cars"], seed, 1.0, 20.0)
    assert _digest(runs / "before") == before
    if (runs / ".cars.partial").exists():  # killed after a model finished: resume takes it
        _run(args + ["--name", "cars", "--resume"])
    elif not (runs / "cars").exists():  # killed before any model finished: nothing to resume, so run again
        _run(args + ["--name", "cars"])
    assert sorted(p.name for p in runs.iterdir()) == ["before", "cars"]  # no partial, temporary or lock file left
    assert _run(["predict", str(runs / "cars"), str(table), "-o", str(tmp_path / "p.csv")]).returncode == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_lm_train_resume(tmp_path: Path, seed: int, cran_slice: Path) -> None:
    from trainyard.lm import checkpoint

    out = tmp_path / "lm"
    args = [
        "lm",
        "train",
        str(cran_slice),
        "-o",
        str(out),
        "--steps",
        "60",
        "--layers",
        "2",
        "--heads",
        "2",
        "--dim",
        "32",
        "--context",
        "32",
        "--batch",
        "8",
        "--eval-every",
        "5",
    ]
    _kill_at(args, seed, 2.0, 12.0)
    if (out / "config.json").exists():  # a checkpoint was saved before the kill: it is whole, and resumes
        checkpoint.check(out)
        if checkpoint.previous(out).exists():
            checkpoint.check(checkpoint.previous(out))
        _run(args + ["--resume"])
    else:
        _run(args)
    assert json.loads((out / "config.json").read_text())["step"] == 60
    assert {p.name for p in tmp_path.iterdir()} <= {"lm", "lm.previous"}  # no temporary or lock file left
