"""``trainyard lm``: train, resume, generate and memory through the CLI, and its one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from trainyard.cli.app import app

pytestmark = pytest.mark.slow  # LM training and stage processes

runner = CliRunner(env={"COLUMNS": "200"})
SMALL = ["--layers", "2", "--heads", "2", "--dim", "32", "--context", "32", "--batch", "8", "--eval-every", "10"]


def test_train_generate_memory(cran_slice, tmp_path):
    ckpt = tmp_path / "lm"
    result = runner.invoke(app, ["lm", "train", str(cran_slice), "-o", str(ckpt), "--steps", "20", *SMALL])
    assert result.exit_code == 0, result.output
    assert "bits per character" in result.stderr
    result = runner.invoke(app, ["lm", "train", str(cran_slice), "-o", str(ckpt), "--steps", "20", "--resume", *SMALL])
    assert result.exit_code == 0 and json.loads((ckpt / "config.json").read_text())["step"] == 20
    result = runner.invoke(app, ["lm", "generate", str(ckpt), "--prompt", "the ", "--max-new-tokens", "10"])
    assert result.exit_code == 0 and result.stdout.startswith("the ") and len(result.stdout.rstrip("\n")) == 14
    result = runner.invoke(app, ["lm", "memory", str(ckpt), "--batch", "4"])
    assert result.exit_code == 0, result.output
    assert "training step" in result.stdout and "ratio" in result.stdout
    result = runner.invoke(app, ["lm", "memory", str(ckpt), "--context", "64"])
    assert result.exit_code == 2 and "longer than the model's context of 32" in result.stderr


def test_errors_are_one_line(tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("short", encoding="utf-8")
    for args, message in [
        (["lm", "train", str(tiny), "-o", str(tmp_path / "x"), *SMALL], "not more than one context window"),
        (["lm", "generate", str(tmp_path), "--prompt", "x"], "not a trainyard lm checkpoint"),
        (["lm", "train", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "y")], "no such file"),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


def test_offloaded_and_pipelined_generation(tmp_path):
    from tests.lm.conftest import seeded_checkpoint
    from tests.lm.test_pipeline import free_port, stages

    ckpt = seeded_checkpoint(tmp_path / "lm", layers=4)
    args = ["lm", "generate", str(ckpt), "--prompt", "the ", "--max-new-tokens", "12", "--seed", "3"]
    in_memory = runner.invoke(app, args)
    assert in_memory.exit_code == 0, in_memory.output
    result = runner.invoke(app, ["lm", "plan", str(ckpt), "--memory-budget", "150KB", "--tokens", "16", "--json"])
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert planned["streamed_bytes_per_token"] > 0 and planned["expected_tokens_per_s"] > 0
    offloaded = runner.invoke(app, [*args, "--memory-budget", "150KB"])
    assert offloaded.exit_code == 0, offloaded.output
    assert offloaded.stdout == in_memory.stdout
    assert "groups of up to" in offloaded.stderr and "measured" in offloaded.stderr and "planned" in offloaded.stderr
    with stages(ckpt, ["0:1", "1:4"]) as (addresses, _):
        piped = runner.invoke(app, [*args, "--stages", ",".join(addresses)])
        assert piped.exit_code == 0, piped.output
        assert piped.stdout == in_memory.stdout and "pipeline of 2 stages" in piped.stderr
    for extra, message in [
        (["--memory-budget", "1KB"], "is below the smallest that works"),
        (["--memory-budget", "lots"], "write a size such as 400MB"),
        (["--stages", f"127.0.0.1:{free_port()}", "--stage-timeout", "1"], "cannot be reached (waited 1 s)"),
        (["--stages", "nowhere"], "write HOST:PORT"),
        (["--stages", "127.0.0.1:1", "--memory-budget", "1GB"], "choose one"),
    ]:
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    result = runner.invoke(app, ["lm", "serve-stage", str(ckpt), "--blocks", "3:9"])
    assert result.exit_code == 2 and "the model has blocks 0 to 3" in result.stderr
