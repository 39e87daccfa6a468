"""Sampling with the key/value cache, under ``torch.inference_mode()`` and eval mode."""

from __future__ import annotations

import torch

from trainyard.errors import DataError


@torch.inference_mode()
def generate(model, tokenizer, prompt: str, max_new_tokens: int = 200, temperature: float = 1.0,
             top_k: int | None = None, seed: int = 0, use_cache: bool = True) -> str:
    """Continue ``prompt``; ``use_cache=False`` recomputes the whole prefix every step (for comparison)."""
    model.eval()
    ids = tokenizer.encode(prompt) if prompt else [0]
    if len(ids) + max_new_tokens > model.config.context:
        raise DataError(f"the prompt ({len(ids)} tokens) and {max_new_tokens} new tokens exceed the model's "
                        f"context of {model.config.context}; shorten the prompt or ask for fewer tokens")
    if temperature < 0:
        raise DataError(f"--temperature {temperature}: use 0 (greedy) or more")
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.tensor([ids], dtype=torch.long)
    logits, cache = model(tokens)
    out: list[int] = []
    for _ in range(max_new_tokens):
        next_id = _sample(logits[0, -1], temperature, top_k, generator)
        out.append(next_id)
        step = torch.tensor([[next_id]], dtype=torch.long)
        if use_cache:
            logits, cache = model(step, cache=cache, start=tokens.shape[1] + len(out) - 1)
        else:
            logits, _ = model(torch.cat([tokens, torch.tensor([out], dtype=torch.long)], dim=1))
    return tokenizer.decode(out)


def _sample(logits: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator) -> int:
    if temperature == 0:
        return int(torch.argmax(logits))
    logits = logits / temperature
    if top_k:
        threshold = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = torch.where(logits < threshold, torch.full_like(logits, float("-inf")), logits)
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))
