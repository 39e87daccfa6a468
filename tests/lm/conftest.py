"""A seeded, untrained checkpoint: offloading and pipelining are about moving weights, not their values."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from trainyard.lm import checkpoint
from trainyard.lm.model import CausalLM, LMConfig
from trainyard.lm.tokenizers import CharTokenizer

TEXT = "the boundary layer of a flat plate in supersonic flow; heat transfer at the wall. "


def seeded_checkpoint(path: Path, layers: int = 6, dim: int = 32, positions: str = "rope", seed: int = 0) -> Path:
    tokenizer = CharTokenizer.train(TEXT)
    torch.manual_seed(seed)
    model = CausalLM(
        LMConfig(vocab_size=tokenizer.vocab_size, context=64, layers=layers, heads=4, dim=dim, positions=positions)
    )
    checkpoint.save(path, model, tokenizer, checkpoint.State())
    return path


@pytest.fixture(scope="session")
def seeded_lm(tmp_path_factory) -> Path:
    return seeded_checkpoint(tmp_path_factory.mktemp("lm") / "seeded")
