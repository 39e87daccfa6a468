"""Pipelined inference: real stage processes on loopback, the same text as one process, bounded failures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from trainyard.lm import checkpoint
from trainyard.lm.generate import generate
from trainyard.lm.parts import CheckpointParts
from trainyard.lm.pipeline import PipelineLM, StageError, parse_address, parse_blocks

from .conftest import seeded_checkpoint

pytestmark = pytest.mark.slow  # stage processes

TRAINYARD = str(Path(sys.executable).with_name("trainyard"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def stages(ckpt: Path, ranges: list[str]):
    """Start one `trainyard lm serve-stage` process per range; yield their addresses and processes."""
    procs, addresses = [], []
    try:
        for blocks in ranges:
            address = f"127.0.0.1:{free_port()}"
            proc = subprocess.Popen(
                [TRAINYARD, "lm", "serve-stage", str(ckpt), "--blocks", blocks, "--listen", address],
                stderr=subprocess.PIPE,
                text=True,
            )
            procs.append(proc)
            addresses.append(address)
        for proc in procs:
            line = proc.stderr.readline()  # "serving blocks ..." once it listens
            assert "serving blocks" in line, line + proc.stderr.read()
            # keep reading what it says later, so a full pipe can never stall the stage
            threading.Thread(target=proc.stderr.read, daemon=True).start()
        yield addresses, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def lm(tmp_path_factory) -> Path:
    return seeded_checkpoint(tmp_path_factory.mktemp("pipe") / "lm", layers=6)


def test_three_stages_generate_the_single_process_text(lm):
    model, tokenizer, _ = checkpoint.load(lm)
    expected = generate(model, tokenizer, "the ", 30, temperature=0.8, top_k=10, seed=11)
    with stages(lm, ["0:2", "2:5", "5:6"]) as (addresses, _):
        pipeline = PipelineLM(CheckpointParts(lm), addresses, timeout=10)
        assert generate(pipeline, tokenizer, "the ", 30, temperature=0.8, top_k=10, seed=11) == expected
        # the second sequence starts clean on every stage (their caches are reset)
        assert generate(pipeline, tokenizer, "the ", 30, temperature=0.8, top_k=10, seed=11) == expected
        dim = model.config.dim
        # 2 sequences x (a 4-token prompt + 29 steps) x 3 stages, float32 each way
        assert pipeline.bytes_received == 2 * (4 + 29) * 3 * dim * 4
        pipeline.close()
        # a new client after the first one left is served too
        again = PipelineLM(CheckpointParts(lm), addresses, timeout=10)
        assert generate(again, tokenizer, "the ", 5, temperature=0, seed=0) == generate(
            model, tokenizer, "the ", 5, temperature=0, seed=0
        )
        again.close()


def test_a_stage_that_dies_or_hangs_is_named_within_the_timeout(lm):
    with stages(lm, ["0:3", "3:6"]) as (addresses, procs):
        pipeline = PipelineLM(CheckpointParts(lm), addresses, timeout=3)
        with torch.inference_mode():
            pipeline(torch.zeros(1, 4, dtype=torch.long))
            procs[1].kill()
            procs[1].wait()
            with pytest.raises(StageError, match=rf"stage {addresses[1]} \(blocks 3:6\) closed the connection"):
                pipeline(torch.zeros(1, 1, dtype=torch.long), "on the stages", 4)
    with stages(lm, ["0:3", "3:6"]) as (addresses, procs):
        pipeline = PipelineLM(CheckpointParts(lm), addresses, timeout=2)
        os.kill(procs[0].pid, signal.SIGSTOP)  # alive but silent
        with pytest.raises(StageError, match=rf"stage {addresses[0]} \(blocks 0:3\) gave no answer within 2 s"):
            with torch.inference_mode():
                pipeline(torch.zeros(1, 4, dtype=torch.long))


def test_stage_lists_that_do_not_cover_the_model(lm):
    with stages(lm, ["0:2", "3:6", "2:4"]) as (addresses, _):
        parts = CheckpointParts(lm)
        with pytest.raises(StageError, match="no stage serves blocks 2:3"):
            PipelineLM(parts, addresses[:2], timeout=5)
        with pytest.raises(StageError, match=r"blocks 3:6\) overlaps the stage before it at block 3"):
            PipelineLM(parts, [addresses[0], addresses[2], addresses[1]], timeout=5)
        with pytest.raises(StageError, match="no stage serves blocks 2:6"):
            PipelineLM(parts, addresses[:1], timeout=5)
    other = seeded_checkpoint(lm.parent / "other", layers=6, dim=64)
    with stages(other, ["0:6"]) as (addresses, _):
        with pytest.raises(StageError, match="serves a different model"):
            PipelineLM(CheckpointParts(lm), addresses, timeout=5)


def test_unreachable_stage_and_bad_arguments(lm):
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(StageError, match=f"stage {address} cannot be reached \\(waited 1 s\\)"):
        PipelineLM(CheckpointParts(lm), [address], timeout=1)
    assert parse_blocks("2:5", 6) == (2, 5)
    for bad in ("5:2", "0:7", "x"):
        with pytest.raises(StageError, match="--blocks"):
            parse_blocks(bad, 6)
    assert parse_address("localhost:29600") == ("localhost", 29600)
    with pytest.raises(StageError, match="HOST:PORT"):
        parse_address("localhost")
