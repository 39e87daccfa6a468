"""Sequence models: a small decoder-only Transformer (causal self-attention) for text or series.

Work in progress (issue #8): the model with its key/value cache and the tokenizers are
here and tested; the trainer, checkpoints, CLI and benchmark are not built yet.
"""

from trainyard.lm.model import CausalLM, LMConfig

__all__ = ["CausalLM", "LMConfig"]
