"""The Transformer's contracts: causal masking, the cache equals a recompute, learning, determinism."""

from __future__ import annotations

import pytest
import torch

from trainyard.lm.model import CausalLM, LMConfig

TINY = dict(vocab_size=17, context=32, layers=2, heads=2, dim=16)


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_masking_is_causal(positions):
    torch.manual_seed(0)
    model = CausalLM(LMConfig(**TINY, positions=positions)).eval()
    tokens = torch.randint(0, 17, (2, 20))
    changed = tokens.clone()
    changed[:, 12:] = (changed[:, 12:] + 5) % 17
    with torch.inference_mode():
        before, _ = model(tokens)
        after, _ = model(changed)
    torch.testing.assert_close(before[:, :12], after[:, :12])
    assert not torch.allclose(before[:, 12:], after[:, 12:])


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_cache_gives_the_logits_of_a_full_recompute(positions):
    torch.manual_seed(1)
    model = CausalLM(LMConfig(**TINY, positions=positions)).eval()
    tokens = torch.randint(0, 17, (3, 24))
    with torch.inference_mode():
        full, _ = model(tokens)
        logits, cache = model(tokens[:, :10])  # prefill
        steps = [logits]
        for t in range(10, 24, 1):
            step, cache = model(tokens[:, t : t + 1], cache=cache, start=t)
            steps.append(step)
        chunked, _ = model(tokens[:, 20:24], cache=[(k[:, :, :20], v[:, :, :20]) for k, v in cache], start=20)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(chunked, full[:, 20:24], rtol=1e-4, atol=1e-5)


def test_tied_weights_and_context_limit():
    model = CausalLM(LMConfig(**TINY))
    assert model.head.weight is model.embed.weight
    with pytest.raises(ValueError, match="exceed the model's context of 32"):
        model(torch.zeros(1, 33, dtype=torch.long))


def test_a_tiny_model_overfits_a_tiny_corpus():
    torch.manual_seed(0)
    text = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8] * 4])
    model = CausalLM(LMConfig(**TINY))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        loss = model.loss(text[:, :-1], text[:, 1:])
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert first > 2.5 and loss.item() < 0.05


def test_same_seed_same_weights_after_steps():
    def run() -> torch.Tensor:
        torch.manual_seed(42)
        model = CausalLM(LMConfig(**TINY))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        data = torch.randint(0, 17, (4, 17))
        for _ in range(5):
            loss = model.loss(data[:, :-1], data[:, 1:])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    torch.testing.assert_close(run(), run(), rtol=0, atol=0)


def test_bad_configs():
    with pytest.raises(ValueError, match="divisible"):
        LMConfig(vocab_size=5, dim=10, heads=3)
    with pytest.raises(ValueError, match="positions"):
        LMConfig(vocab_size=5, positions="alibi")
