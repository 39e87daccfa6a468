"""kill -9 at a moment drawn from a seed: nothing committed is lost, nothing blocks the rerun.

Each test runs a writing command in a real process, kills it, then asserts that the artifact there before is
byte-identical (or, when the kill came after the final rename, that the new one is whole), that a rerun or
resume finishes, and that nothing is left beside the target. The three seeds kill in the first, middle and last
third of the command's own measured duration (a module fixture runs it once and keeps its output), so every
moment falls inside the work whatever the machine's speed. These are the slow tier: each starts several
Python processes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
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


def _timed(args: list[str]) -> float:
    """Run the command to the end; its duration in seconds."""
    start = time.monotonic()
    _run(args)
    return time.monotonic() - start


def _kill_at(args: list[str], seed: int, duration: float) -> float:
    """Start the command, kill -9 it in the seed's third of ``duration``; returns the moment (s)."""
    third = duration / len(SEEDS)
    moment = random.Random(seed).uniform(seed * third, (seed + 1) * third)
    process = subprocess.Popen(CLI + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=moment)  # it may finish first: then the "after the rename" branch is checked
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    return moment


@pytest.fixture(scope="module")
def built_index(tmp_path_factory) -> tuple[Path, float]:
    """An index of 20 documents, built once by the CLI; the build's duration."""
    root = tmp_path_factory.mktemp("index")
    docs = _docs(root / "docs", 20)
    return root, _timed(["search", "index", str(docs), "-o", str(root / "idx")])


def _copy_index(built: Path, to: Path) -> tuple[Path, Path]:
    shutil.copytree(built / "docs", to / "docs")
    shutil.copytree(built / "idx", to / "idx")
    return to / "docs", to / "idx"


@pytest.mark.parametrize("seed", SEEDS)
def test_search_index(tmp_path: Path, seed: int, built_index: tuple[Path, float]) -> None:
    docs, index = _copy_index(built_index[0], tmp_path)
    before = _digest(index)
    (docs / "late.txt").write_text("laminar flow over a flat plate\n")
    args = ["search", "index", str(docs), "-o", str(index), "--overwrite"]
    _kill_at(args, seed, built_index[1])
    assert _digest(index) == before or "late" in (index / "documents.jsonl").read_text()
    _run(args)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "idx"]
    assert "late" in (index / "documents.jsonl").read_text()


@pytest.mark.parametrize("seed", SEEDS)
def test_search_add(tmp_path: Path, seed: int, built_index: tuple[Path, float]) -> None:
    _, index = _copy_index(built_index[0], tmp_path)
    before = _digest(index)
    more = _docs(tmp_path / "more", 10, start=100)
    _kill_at(["search", "add", str(index), str(more)], seed, built_index[1])
    if _digest(index) == before:  # killed before the swap: the old index, byte for byte; the add runs again
        _run(["search", "add", str(index), str(more)])
    ids = [json.loads(line)["id"] for line in (index / "documents.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(f"d{i}.txt" for i in [*range(20), *range(100, 110)])  # each once: no update lost
    query = ["search", "query", str(index), "boundary layer number 105", "-k", "3", "--json", "--mode", "keyword"]
    assert "d105" in _run(query).stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "idx", "more"]


TRAIN = ["--target", "price", "--models", "dummy,ridge,lightgbm", "--no-tune", "--no-report"]
TRAIN += ["--seed", "3", "--folds", "3"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, market: pd.DataFrame) -> tuple[Path, Path, float]:
    """600 rows and a run of them trained once ("before"); the training's duration."""
    root = tmp_path_factory.mktemp("train")
    market.head(600).to_csv(root / "cars.csv", index=False)
    runs = root / "runs"
    seconds = _timed(["train", str(root / "cars.csv"), *TRAIN, "--runs", str(runs), "--name", "before"])
    return root / "cars.csv", runs, seconds


@pytest.mark.parametrize("seed", SEEDS)
def test_train_resume(tmp_path: Path, seed: int, trained: tuple[Path, Path, float]) -> None:
    from trainyard import load_run

    table, built, seconds = trained
    runs = shutil.copytree(built, tmp_path / "runs")
    before = _digest(runs / "before")
    args = ["train", str(table), *TRAIN, "--runs", str(runs), "--name", "cars"]
    _kill_at(args, seed, seconds)
    assert _digest(runs / "before") == before
    if (runs / ".cars.partial").exists():  # killed after a model finished: resume takes it
        _run(args + ["--resume"])
    elif not (runs / "cars").exists():  # killed before any model finished: nothing to resume, so run again
        _run(args)
    assert sorted(p.name for p in runs.iterdir()) == ["before", "cars"]  # no partial, temporary or lock file left
    rows = pd.read_csv(table).head(20).drop(columns=["price"])
    assert len(load_run(runs / "cars").predict(rows)) == 20  # the committed run loads and predicts


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
    _kill_at(args, seed, 14.0)
    if (out / "config.json").exists():  # a checkpoint was saved before the kill: it is whole, and resumes
        checkpoint.check(out)
        if checkpoint.previous(out).exists():
            checkpoint.check(checkpoint.previous(out))
        _run(args + ["--resume"])
    else:
        _run(args)
    assert json.loads((out / "config.json").read_text())["step"] == 60
    assert {p.name for p in tmp_path.iterdir()} <= {"lm", "lm.previous"}  # no temporary or lock file left
