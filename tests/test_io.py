"""A full disk: every command that writes says so in one line, keeps what was there and leaves nothing.

The disk is a real one: a 3 MB tmpfs, filled but for a few kilobytes. Mounting needs root; without it
the tests skip and say why.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trainyard.cli.app import app

runner = CliRunner(env={"COLUMNS": "200"})


def _mount(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def tiny_disk(tmp_path: Path):
    disk = tmp_path / "disk"
    if not _mount(disk):
        pytest.skip("mounting a 3 MB tmpfs needs root: the full-disk tests need a disk that fills")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _fill(disk: Path, leave_kb: int) -> None:
    """Fill the disk until only about ``leave_kb`` kilobytes are free."""
    import shutil

    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave_kb * 1024))


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _one_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "no space left on the disk at" in lines[0], result.stderr
    return lines[0]


def test_train_and_predict_on_a_full_disk(tiny_disk: Path, tmp_path: Path, market: pd.DataFrame) -> None:
    table = tmp_path / "cars.csv"
    market.head(600).to_csv(table, index=False)
    runs = tiny_disk / "runs"
    done = runner.invoke(
        app,
        [
            "train",
            str(table),
            "--target",
            "price",
            "--models",
            "dummy,ridge",
            "--no-report",
            "--runs",
            str(runs),
            "--no-tune",
            "--no-ensemble",
        ],
    )
    assert done.exit_code == 0, done.output
    before = _digest(runs / "cars")
    _fill(tiny_disk, leave_kb=8)
    line = _one_line(
        runner.invoke(
            app,
            [
                "train",
                str(table),
                "--target",
                "price",
                "--models",
                "dummy,ridge",
                "--runs",
                str(runs),
                "--overwrite",
                "--no-tune",
                "--no-ensemble",
            ],
        )
    )
    assert str(runs) in line
    assert _digest(runs / "cars") == before  # the finished run is untouched
    assert sorted(p.name for p in runs.iterdir()) == ["cars"]  # no partial or temporary folder left
    rows = tmp_path / "rows.csv"
    market.iloc[700:2700].drop(columns="price").to_csv(rows, index=False)
    line = _one_line(runner.invoke(app, ["predict", str(runs / "cars"), str(rows), "-o", str(tiny_disk / "p.csv")]))
    assert "p.csv" in line
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler", "runs"]


def test_search_index_and_add_on_a_full_disk(tiny_disk: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"d{i}.txt").write_text(f"boundary layer number {i}: heat transfer in supersonic flow\n")
    index = tiny_disk / "idx"
    assert runner.invoke(app, ["search", "index", str(docs), "-o", str(index)]).exit_code == 0
    before = _digest(index)
    more = tmp_path / "more"
    more.mkdir()
    (more / "e.txt").write_text("laminar flow over a flat plate " * 200)
    _fill(tiny_disk, leave_kb=8)
    _one_line(runner.invoke(app, ["search", "add", str(index), str(more)]))
    assert _digest(index) == before
    _one_line(runner.invoke(app, ["search", "index", str(docs), "-o", str(tiny_disk / "second")]))
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler", "idx"]


# --- one writer at a time, and what a killed writer leaves ---------------------------------


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _docs(folder: Path, n: int = 3, start: int = 0) -> Path:
    folder.mkdir(exist_ok=True)
    for i in range(start, start + n):
        (folder / f"d{i}.txt").write_text(f"boundary layer number {i}: heat transfer in supersonic flow\n")
    return folder


def test_a_second_writer_is_refused_and_a_dead_ones_temporaries_are_removed(tmp_path: Path) -> None:
    from trainyard.io import writer_lock

    index = tmp_path / "idx"
    assert runner.invoke(app, ["search", "index", str(_docs(tmp_path / "docs")), "-o", str(index)]).exit_code == 0
    with writer_lock(index):  # another command is writing the index
        result = runner.invoke(app, ["search", "add", str(index), str(_docs(tmp_path / "more", 1, 10))])
        assert result.exit_code == 2 and "another trainyard process (process " in result.stderr
        assert "is writing it now; wait for it to finish" in result.stderr
    stale = tmp_path / f".idx.{_dead_pid()}-abc.tmp"
    stale.mkdir()
    (stale / "half-written").write_text("x")
    result = runner.invoke(app, ["search", "add", str(index), str(tmp_path / "more")])
    assert result.exit_code == 0, result.output
    assert "removed 1 temporary file(s) left beside" in result.stderr and not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "idx", "more"]  # no lock file either


def test_a_second_resume_is_refused_while_one_runs(tmp_path: Path, market: pd.DataFrame, cran_slice: Path) -> None:
    from trainyard.io import writer_lock

    table = tmp_path / "cars.csv"
    market.head(300).to_csv(table, index=False)
    runs = tmp_path / "runs"
    for path, args in [
        (runs / "cars", ["train", str(table), "--target", "price", "--runs", str(runs), "--resume"]),
        (tmp_path / "lm", ["lm", "train", str(cran_slice), "-o", str(tmp_path / "lm"), "--resume"]),
    ]:
        with writer_lock(path):  # the first resume holds the run
            result = runner.invoke(app, args)
        assert result.exit_code == 2 and "is writing it now; wait for it to finish" in result.stderr, result.output
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_killed_train_resumes_and_leaves_nothing(tmp_path: Path, market: pd.DataFrame) -> None:
    import os
    import signal
    import sys
    import time

    table = tmp_path / "cars.csv"
    market.head(600).to_csv(table, index=False)
    runs = tmp_path / "runs"
    command = [
        sys.executable,
        "-c",
        "from trainyard.cli.app import main; main()",
        "train",
        str(table),
        "--target",
        "price",
        "--models",
        "dummy,ridge,lightgbm",  # the kill comes once ridge is in; lightgbm is what the resume trains
        "--folds",
        "3",
        "--no-tune",
        "--no-report",
        "--runs",
        str(runs),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    board = runs / ".cars.partial" / "leaderboard.json"
    while process.poll() is None:  # kill it outright once a model beyond the baseline has finished
        if board.exists() and "ridge" in board.read_text():
            time.sleep(0.3)
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait()
    assert process.returncode == -signal.SIGKILL and (runs / ".cars.partial").is_dir() and not (runs / "cars").exists()
    done = subprocess.run(command + ["--resume"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ridge: taken from the interrupted run" in " ".join(done.stdout.split())  # it names what it took
    assert sorted(p.name for p in runs.iterdir()) == ["cars"]  # no partial, temporary or lock file left
