"""A checkpoint taken apart: its config, its weights file mapped, the model's two ends (embeddings,
final norm, tied head) and any of its blocks, each loaded alone.

Offloading (lm/offload.py) and pipelining (lm/pipeline.py) both run a model they never hold
whole; this is what they share.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from torch import nn

from trainyard.lm.checkpoint import read_config
from trainyard.lm.model import Block, CausalLM, LMConfig, rotary_tables
from trainyard.lm.weights import MappedWeights, empty


class CheckpointParts:
    """The config and the mapped weights of a checkpoint directory; nothing is loaded yet."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.config = LMConfig.from_dict(read_config(self.path)["model"])
        self.weights = MappedWeights(self.path / "model.safetensors")

    @property
    def layers(self) -> int:
        return self.config.layers

    def block_bytes(self, index: int) -> int:
        return self.weights.nbytes(f"blocks.{index}.")

    def ends_bytes(self) -> int:
        """Everything but the blocks: embeddings, learned positions, the final norm (the head is tied)."""
        return self.weights.nbytes() - sum(self.block_bytes(i) for i in range(self.layers))

    def cache_bytes(self, tokens: int) -> int:
        """The key/value cache of ``tokens`` positions for every block, float32."""
        return 2 * self.layers * tokens * self.config.dim * 4

    def load_ends(self) -> CausalLM:
        """The model without its blocks: ``begin`` and ``finish`` work, the blocks are run elsewhere."""
        shell = empty(lambda: CausalLM(dataclasses.replace(self.config, layers=0)))
        shell.head.weight = shell.embed.weight  # to_empty may untie; the file holds the embedding only
        self.weights.copy_into(shell, "", skip=lambda name: name == "head.weight")
        if self.config.positions == "rope":
            shell.rope_cos, shell.rope_sin = rotary_tables(self.config)
        return shell

    def empty_block(self) -> Block:
        return empty(lambda: Block(self.config))

    def load_block(self, index: int, into: nn.Module | None = None) -> tuple[Block, int]:
        """Block ``index`` copied into ``into`` (or a new module); the module and the bytes copied."""
        block = into if into is not None else self.empty_block()
        return block, self.weights.copy_into(block, f"blocks.{index}.")  # type: ignore[return-value]

    def fingerprint(self) -> str:
        """Same model, same shapes: the config and the weight file's header (not its values)."""
        return f"{json.dumps(self.config.to_dict(), sort_keys=True)}|{self.weights.digest}"

    def close(self) -> None:
        self.weights.close()
