"""Sampling with the key/value cache, under ``torch.inference_mode()`` and eval mode."""

from __future__ import annotations

import time

import torch

from trainyard.errors import DataError


def generate(
    model,
    tokenizer,
    prompt: str,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    use_cache: bool = True,
    timings: dict | None = None,
) -> str:
    """Continue ``prompt``; ``use_cache=False`` recomputes the whole prefix every step (for comparison).

    ``model`` is a ``CausalLM`` or anything called the same way (offloaded, pipelined).
    """
    ids = tokenizer.encode(prompt) if prompt else [0]
    return tokenizer.decode(generate_ids(model, ids, max_new_tokens, temperature, top_k, seed, use_cache, timings))


@torch.inference_mode()
def generate_ids(
    model,
    ids: list[int],
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    use_cache: bool = True,
    timings: dict | None = None,
) -> list[int]:
    """New token ids after ``ids``; ``timings`` (if given) receives the prompt's and the decoding's seconds."""
    model.eval()
    if len(ids) + max_new_tokens > model.config.context:
        raise DataError(
            f"the prompt ({len(ids)} tokens) and {max_new_tokens} new tokens exceed the model's "
            f"context of {model.config.context}; shorten the prompt or ask for fewer tokens"
        )
    if temperature < 0:
        raise DataError(f"--temperature {temperature}: use 0 (greedy) or more")
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.tensor([ids], dtype=torch.long)
    started = time.perf_counter()
    logits, cache = model(tokens)
    prompt_done = time.perf_counter()
    out: list[int] = []
    for _ in range(max_new_tokens):
        next_id = _sample(logits[0, -1], temperature, top_k, generator)
        out.append(next_id)
        if len(out) == max_new_tokens:
            break  # the last token's logits would never be used
        step = torch.tensor([[next_id]], dtype=torch.long)
        if use_cache:
            logits, cache = model(step, cache=cache, start=tokens.shape[1] + len(out) - 1)
        else:
            logits, _ = model(torch.cat([tokens, torch.tensor([out], dtype=torch.long)], dim=1))
    if timings is not None:
        decode_s = time.perf_counter() - prompt_done
        timings.update(
            prompt_s=prompt_done - started,
            decode_s=decode_s,
            decoded=max(0, len(out) - 1),
            tokens_per_s=(len(out) - 1) / decode_s if len(out) > 1 and decode_s > 0 else None,
        )
    return out


def _sample(logits: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator) -> int:
    if temperature == 0:
        return int(torch.argmax(logits))
    logits = logits / temperature
    if top_k:
        threshold = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = torch.where(logits < threshold, torch.full_like(logits, float("-inf")), logits)
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))
