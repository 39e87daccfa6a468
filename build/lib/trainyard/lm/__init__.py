"""Sequence models: a small decoder-only Transformer (causal self-attention) for text or series,
its trainer, checkpoints, cached generation and a memory probe. See docs/lm.md."""

from trainyard.extras import require

require("lm", "trainyard.lm")

from trainyard.lm.model import CausalLM, LMConfig  # noqa: E402

__all__ = ["CausalLM", "LMConfig"]
