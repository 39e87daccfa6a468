"""Offloaded inference: the same logits as the model in memory, the plan's arithmetic, the budget's floor."""

from __future__ import annotations

import pytest
import torch

from trainyard.errors import DataError
from trainyard.lm import checkpoint
from trainyard.lm.generate import generate
from trainyard.lm.offload import OffloadedLM, format_size, parse_size, plan
from trainyard.lm.parts import CheckpointParts

from .conftest import seeded_checkpoint


def _budget(parts: CheckpointParts, tokens: int, blocks: int) -> int:
    return parts.ends_bytes() + parts.cache_bytes(tokens) + blocks * parts.block_bytes(0)


@pytest.mark.parametrize("positions", ["rope", "learned"])
@pytest.mark.parametrize("room", [1, 2, 5])  # one buffer of one block; two of one; two of two (3 groups)
def test_offloaded_logits_equal_the_model_in_memory(tmp_path, positions, room):
    ckpt = seeded_checkpoint(tmp_path / "lm", positions=positions)
    model, _, _ = checkpoint.load(ckpt)
    parts = CheckpointParts(ckpt)
    offload_plan = plan(parts, _budget(parts, 40, room), tokens=40, measure=False)
    assert offload_plan.streamed and offload_plan.peak_bytes <= offload_plan.budget
    offloaded = OffloadedLM(parts, offload_plan)
    tokens = torch.randint(0, model.config.vocab_size, (1, 12), generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        expected, expected_cache = model(tokens)
        got, cache = offloaded(tokens)
        assert torch.equal(got, expected)
        for start in range(12, 20):
            step = (tokens[:, :1] + start) % model.config.vocab_size
            expected, expected_cache = model(step, expected_cache, start)
            got, cache = offloaded(step, cache, start)
            assert torch.equal(got, expected)
    offloaded.close()
    # every pass streamed every block once; with prefetch the next pass's first group is already in
    prefetched = offload_plan.group if offload_plan.buffers == 2 else 0
    assert offloaded.bytes_read == (9 * parts.layers + prefetched) * parts.block_bytes(0)


def test_plan_groups_and_generated_text(seeded_lm):
    model, tokenizer, _ = checkpoint.load(seeded_lm)
    parts = CheckpointParts(seeded_lm)
    block = parts.block_bytes(0)
    offload_plan = plan(parts, _budget(parts, 30, 4) + block // 2, tokens=30)
    assert (offload_plan.group, offload_plan.buffers, offload_plan.groups) == (2, 2, 3)
    assert offload_plan.streamed_bytes_per_token == 6 * block
    assert offload_plan.expected_tokens_per_s > 0 and offload_plan.read_bytes_per_s > 0
    assert offload_plan.disk_bytes_per_s > 0 and offload_plan.file_cached  # a few hundred KB fits in memory
    assert offload_plan.expected_tokens_per_s == offload_plan.expected_cached_tokens_per_s
    assert "3 groups of up to 2 blocks" in " ".join(offload_plan.describe())
    offloaded = OffloadedLM(parts, offload_plan)
    timings: dict = {}
    text = generate(offloaded, tokenizer, "the ", 25, temperature=0.8, top_k=10, seed=5, timings=timings)
    assert text == generate(model, tokenizer, "the ", 25, temperature=0.8, top_k=10, seed=5)
    assert timings["decoded"] == 24 and timings["tokens_per_s"] > 0
    offloaded.close()


def test_everything_fitting_streams_nothing(seeded_lm):
    parts = CheckpointParts(seeded_lm)
    offload_plan = plan(parts, 10**9, tokens=30, measure=False)
    assert not offload_plan.streamed and offload_plan.streamed_bytes_per_token == 0
    offloaded = OffloadedLM(parts, offload_plan)
    loaded = offloaded.bytes_read
    with torch.inference_mode():
        offloaded(torch.zeros(1, 4, dtype=torch.long))
    assert offloaded.bytes_read == loaded == parts.layers * parts.block_bytes(0)
    offloaded.close()


def test_budget_below_one_block_names_the_smallest(seeded_lm):
    parts = CheckpointParts(seeded_lm)
    smallest = _budget(parts, 30, 1)
    with pytest.raises(DataError, match=f"smallest that works, {format_size(smallest)}"):
        plan(parts, smallest - 1, tokens=30)
    assert plan(parts, smallest, tokens=30, measure=False).group == 1


def test_parse_size():
    assert parse_size("400MB") == 400 * 10**6
    assert parse_size("1.5GB") == 1_500_000_000
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("12345") == 12345
    for bad in ("lots", "12 parsecs", "-1MB"):
        with pytest.raises(DataError, match="write a size such as 400MB"):
            parse_size(bad)
