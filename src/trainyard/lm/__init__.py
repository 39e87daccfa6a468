"""Sequence models: a small decoder-only Transformer (causal self-attention) for text or series,
its trainer, checkpoints, cached generation and a memory probe. See docs/lm.md."""

from trainyard.lm.model import CausalLM, LMConfig

__all__ = ["CausalLM", "LMConfig"]
