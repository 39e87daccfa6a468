"""A decoder-only Transformer: token embeddings, rotary or learned positions, pre-norm blocks of
causal multi-head self-attention (``scaled_dot_product_attention``) and an MLP, tied output weights.

Generation keeps a key/value cache per block, so each new token attends to the cached keys
and values instead of recomputing the whole prefix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

KVCache = list[tuple[torch.Tensor, torch.Tensor]]  # per block: keys and values (B, heads, T, head_dim)


@dataclass(frozen=True)
class LMConfig:
    """Everything that decides the model's shape; saved beside its weights."""

    vocab_size: int
    context: int = 256
    layers: int = 4
    heads: int = 4
    dim: int = 256
    mlp_ratio: int = 4
    dropout: float = 0.0
    positions: str = "rope"  # "rope" (rotary) or "learned"

    def __post_init__(self) -> None:
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if self.positions not in ("rope", "learned"):
            raise ValueError(f"positions {self.positions!r}: use rope or learned")
        if self.positions == "rope" and (self.dim // self.heads) % 2:
            raise ValueError("rotary positions need an even head dimension")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> LMConfig:
        return cls(**values)


def rotary_tables(config: LMConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotation angles, (context, head_dim / 2)."""
    half = config.dim // config.heads // 2
    freqs = 1.0 / (10000 ** (torch.arange(half, dtype=torch.float32) / half))
    angles = torch.outer(torch.arange(config.context, dtype=torch.float32), freqs)
    return angles.cos(), angles.sin()


def rotary_slice(
    tables: tuple[torch.Tensor, torch.Tensor], start: int, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows of ``rotary_tables`` for positions start..start+steps."""
    cos, sin = tables
    return cos[start : start + steps], sin[start : start + steps]


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs of channels of ``x`` (B, heads, T, head_dim) by the positions' angles."""
    first, second = x[..., ::2], x[..., 1::2]
    rotated = torch.stack((first * cos - second * sin, first * sin + second * cos), dim=-1)
    return rotated.flatten(-2)


class Attention(nn.Module):
    """Causal multi-head self-attention (PyTorch's scaled dot-product kernel)."""

    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        self.heads, self.dropout = config.heads, config.dropout
        self.qkv = nn.Linear(config.dim, 3 * config.dim, bias=False)
        self.out = nn.Linear(config.dim, config.dim, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor] | None,
        cache: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> tuple[torch.Tensor, tuple]:
        batch, steps, dim = x.shape
        q, k, v = self.qkv(x).view(batch, steps, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        if rope is not None:
            q, k = rotate(q, *rope), rotate(k, *rope)
        if cache is not None:
            k, v = torch.cat((cache[0], k), dim=2), torch.cat((cache[1], v), dim=2)
        # A prefix in the cache is all in the past: only new tokens among themselves need the mask.
        if cache is None or steps > 1:
            past = k.shape[2] - steps
            mask = None if past == 0 else torch.ones(steps, k.shape[2], dtype=torch.bool, device=x.device).tril(past)
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, is_causal=mask is None, dropout_p=self.dropout if self.training else 0.0
            )
        else:
            y = F.scaled_dot_product_attention(q, k, v)
        return self.out(y.transpose(1, 2).reshape(batch, steps, dim)), (k, v)


class Block(nn.Module):
    """A pre-norm Transformer block: attention and a feed-forward layer, each with a residual."""

    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(config.dim), nn.LayerNorm(config.dim)
        self.attention = Attention(config)
        hidden = config.mlp_ratio * config.dim
        self.mlp = nn.Sequential(
            nn.Linear(config.dim, hidden), nn.GELU(), nn.Linear(hidden, config.dim), nn.Dropout(config.dropout)
        )

    def forward(self, x, rope, cache):
        attended, cache = self.attention(self.norm1(x), rope, cache)
        x = x + attended
        return x + self.mlp(self.norm2(x)), cache


def run_blocks(blocks, x: torch.Tensor, rope, cache: KVCache | None) -> tuple[torch.Tensor, KVCache]:
    """``x`` through consecutive blocks; each block's cache in, its grown cache out."""
    new_cache: KVCache = []
    for i, block in enumerate(blocks):
        x, block_cache = block(x, rope, cache[i] if cache is not None else None)
        new_cache.append(block_cache)
    return x, new_cache


class CausalLM(nn.Module):
    """Next-token logits for every position; ``forward(tokens, cache, start)`` for generation."""

    rope_cos: torch.Tensor  # buffers, with rotary positions
    rope_sin: torch.Tensor

    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.dim)
        self.position = nn.Embedding(config.context, config.dim) if config.positions == "learned" else None
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, config.vocab_size, bias=False)
        self.head.weight = self.embed.weight  # tied: the output projection is the embedding table
        if config.positions == "rope":
            cos, sin = rotary_tables(config)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(
        self, tokens: torch.Tensor, cache: KVCache | None = None, start: int = 0
    ) -> tuple[torch.Tensor, KVCache]:
        x, rope = self.begin(tokens, start)
        x, new_cache = run_blocks(self.blocks, x, rope, cache)
        return self.finish(x), new_cache

    # The two ends of a forward pass, apart from the blocks: offloaded and pipelined inference
    # (lm/offload.py, lm/pipeline.py) run the blocks elsewhere and call these around them.
    def begin(self, tokens: torch.Tensor, start: int = 0) -> tuple[torch.Tensor, tuple | None]:
        """Token (and learned position) embeddings, and the rotary angles of positions start..start+T."""
        steps = tokens.shape[1]
        if start + steps > self.config.context:
            raise ValueError(f"{start + steps} positions exceed the model's context of {self.config.context}")
        x = self.embed(tokens)
        if self.position is not None:
            return x + self.position(torch.arange(start, start + steps, device=tokens.device)), None
        return x, rotary_slice((self.rope_cos, self.rope_sin), start, steps)

    def finish(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(x))

    def loss(self, tokens: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood (natural log) of ``targets`` given ``tokens``."""
        logits, _ = self(tokens)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def parameters_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
