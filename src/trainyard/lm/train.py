"""Training the sequence model: AdamW or SGD, warm-up then cosine decay, gradient clipping,
validation in log space (NLL, perplexity, bits per character), atomic checkpoints, resume."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from trainyard.errors import DataError, SchemaError
from trainyard.io import writer_lock
from trainyard.lm import checkpoint
from trainyard.lm.data import Batches, SeriesCodec, forecast_errors, read_series, read_text, validation_windows
from trainyard.lm.model import CausalLM, LMConfig
from trainyard.lm.tokenizers import BPETokenizer, CharTokenizer


@dataclass
class TrainSettings:
    """Every setting of `lm train`: tokenizer, model size, context, optimizer, schedule, budget and seed."""

    tokenizer: str = "char"  # char | bpe
    bpe_vocab: int = 1024
    layers: int = 4
    heads: int = 4
    dim: int = 256
    context: int = 256
    positions: str = "rope"
    batch: int = 16
    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 3e-3
    weight_decay: float = 0.1
    warmup: int = 50
    steps: int = 2000
    clip: float = 1.0
    eval_every: int = 100
    time_limit: float | None = None
    holdout: float = 0.1
    seed: int = 0
    column: str | None = None  # a numeric column of a table: train on that series instead of text
    bins: int = 64


def make_optimizer(model: CausalLM, settings: TrainSettings):
    """The optimizer the settings name (AdamW or SGD with momentum) over the model's parameters."""
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(
            model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, betas=(0.9, 0.95)
        )
    if settings.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=0.9)
    raise DataError(f"--optimizer {settings.optimizer!r}: use adamw or sgd")


def learning_rate(step: int, settings: TrainSettings, total: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < settings.warmup:
        return settings.lr * (step + 1) / settings.warmup
    progress = min(1.0, (step - settings.warmup) / max(1, total - settings.warmup))
    return settings.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.inference_mode()
def evaluate(model: CausalLM, windows, chars_per_token: float) -> dict[str, float]:
    """Mean NLL per token (nats), perplexity, and bits per character."""
    model.eval()
    total, count = 0.0, 0
    for x, y in windows:
        logits, _ = model(x)
        total += torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"
        ).item()
        count += y.numel()
    model.train()
    nll = total / max(count, 1)
    return {"nll": nll, "perplexity": math.exp(min(nll, 50)), "bits_per_char": nll / math.log(2) / chars_per_token}


def train_lm(
    source: Path | str,
    out: Path | str,
    settings: TrainSettings = TrainSettings(),
    *,
    resume: bool = False,
    overwrite: bool = False,
    until: int | None = None,
    progress: Callable[[dict], None] | None = None,
) -> checkpoint.State:
    """Train on ``source`` into checkpoint directory ``out``; ``until`` stops at that step (the
    schedule still spans ``settings.steps``), ``resume`` continues from the checkpoint exactly."""
    with writer_lock(out):
        return _train_lm(source, Path(out), settings, resume, overwrite, until, progress)


def _train_lm(
    source: Path | str,
    out: Path,
    settings: TrainSettings,
    resume: bool,
    overwrite: bool,
    until: int | None,
    progress: Callable[[dict], None] | None,
) -> checkpoint.State:
    if settings.dim % settings.heads:
        raise SchemaError(
            f"dim={settings.dim} is not divisible by heads={settings.heads}: each head takes dim/heads "
            f"of the width; try dim={settings.heads * max(1, round(settings.dim / settings.heads))}"
        )
    if not resume and (out / "config.json").exists() and not overwrite:
        raise DataError(
            f"{out}: a trained checkpoint is there; pass --resume to continue it, --overwrite to "
            "replace it, or choose another --out"
        )
    torch.manual_seed(settings.seed)
    tokenizer: Any  # characters, BPE, or a series' bins
    if resume:
        if not (out / "config.json").exists():
            raise DataError(f"{out}: nothing to resume (no checkpoint there); drop --resume to start")
        model, tokenizer, saved = checkpoint.load(out)
        settings = TrainSettings(**{**saved["settings"]["train"], "time_limit": settings.time_limit})
        state = checkpoint.State(saved["step"], saved["tokens_seen"], saved["settings"], saved["history"])
    if settings.column:
        train_values, valid_values = read_series(source, settings.column, settings.holdout)
        train_text = valid_text = ""  # a series has values, not text
    else:
        train_text, valid_text = read_text(source, settings.holdout)
    if not resume:
        if settings.column:
            tokenizer = SeriesCodec.fit(train_values, settings.bins)
        elif settings.tokenizer == "char":
            tokenizer = CharTokenizer.train(train_text + valid_text)  # the alphabet only, no statistics
        elif settings.tokenizer == "bpe":
            tokenizer = BPETokenizer.train(train_text, settings.bpe_vocab)
        else:
            raise DataError(f"--tokenizer {settings.tokenizer!r}: use char or bpe")
        config = LMConfig(
            vocab_size=tokenizer.vocab_size,
            context=settings.context,
            layers=settings.layers,
            heads=settings.heads,
            dim=settings.dim,
            positions=settings.positions,
        )
        model = CausalLM(config)
        state = checkpoint.State(settings={"train": asdict(settings)})
    if settings.column:
        train_tokens, valid_tokens = tokenizer.encode(train_values), tokenizer.encode(valid_values)
        chars_per_token = 1.0  # for a series "bits per character" reads as bits per value
    else:
        train_tokens, valid_tokens = tokenizer.encode(train_text), tokenizer.encode(valid_text)
        chars_per_token = len(valid_text) / max(len(valid_tokens), 1)
    batches = Batches(train_tokens, settings.context, settings.batch, settings.seed)
    windows = validation_windows(valid_tokens, settings.context)
    if not windows:
        raise DataError(
            f"the held-out text has {len(valid_tokens)} tokens, less than one context window; "
            "give more text or a smaller --context"
        )
    model.train()
    optimizer = make_optimizer(model, settings)
    if resume:
        checkpoint.load_training(out, optimizer, {"batches": batches.generator})
    total = settings.steps
    run_start = time.perf_counter()
    start = run_start - (state.history[-1]["seconds"] if state.history else 0.0)  # seconds across resumes
    interval_start, interval_tokens = time.perf_counter(), 0
    while state.step < min(total, until or total):
        if settings.time_limit and time.perf_counter() - run_start >= settings.time_limit:
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(state.step, settings, total)
        x, y = batches.next()
        loss = model.loss(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
        optimizer.step()
        state.step += 1
        state.tokens_seen += x.numel()
        interval_tokens += x.numel()
        if progress:
            elapsed = time.perf_counter() - interval_start
            progress(
                {
                    "step": state.step,
                    "total": total,
                    "loss": loss.item(),
                    "tokens_per_s": interval_tokens / elapsed if elapsed > 0 else 0.0,
                }
            )
        if state.step % settings.eval_every == 0 or state.step == total:
            _checkpoint(out, model, tokenizer, state, optimizer, batches, windows, chars_per_token, start)
            interval_start, interval_tokens = time.perf_counter(), 0
    if not state.history or state.history[-1]["step"] != state.step:
        _checkpoint(out, model, tokenizer, state, optimizer, batches, windows, chars_per_token, start)
    if settings.column:  # the forecast against the naive last value, on the held-out values
        state.history[-1]["forecast"] = forecast_errors(model, tokenizer, train_values, valid_values)
        checkpoint.save(out, model, tokenizer, state, optimizer, {"batches": batches.generator})
        model.train()
    return state


def _checkpoint(out, model, tokenizer, state, optimizer, batches, windows, chars_per_token, start) -> None:
    scores = evaluate(model, windows, chars_per_token)
    state.history.append(
        {"step": state.step, "seconds": time.perf_counter() - start, "tokens_seen": state.tokens_seen, **scores}
    )
    checkpoint.save(out, model, tokenizer, state, optimizer, {"batches": batches.generator})
