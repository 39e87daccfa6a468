"""Training the sequence model: AdamW or SGD, warm-up then cosine decay, gradient clipping,
validation in log space (NLL, perplexity, bits per character), atomic checkpoints, resume."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainyard.errors import DataError, SchemaError, TrainyardWarning
from trainyard.io import writer_lock
from trainyard.lm import checkpoint
from trainyard.lm.data import (
    IGNORED,
    Batches,
    SeriesCodec,
    holdout_forecast,
    read_series,
    read_text,
    series_validation_windows,
    validation_windows,
)
from trainyard.lm.model import CausalLM, LMConfig
from trainyard.lm.series import choose_lag, detect_season, wants_log
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
    bins: int | None = None  # series: quantile bins; None: 64, fewer for a short series
    season: int | None = None  # series: None finds it (the time column, else the autocorrelation)
    dropout: float = 0.0

    @classmethod
    def for_series(cls, column: str, **given) -> TrainSettings:
        """Settings for a series: a small model that a few hundred values can train (``given`` overrides)."""
        return cls(**{**SERIES_DEFAULTS, "column": column, **given})


# A series has tens to thousands of values, not millions of characters: a small, regularised model, few steps,
# and a context that ``series_context`` fits to the series' length.
SERIES_DEFAULTS = {
    "layers": 2,
    "heads": 2,
    "dim": 32,
    "context": 0,
    "batch": 32,
    "steps": 300,
    "warmup": 20,
    "eval_every": 10,
    "dropout": 0.1,
}
MIN_SERIES_CONTEXT = 8
HOLDOUT_SAMPLES = 50  # paths for the held-out check at the end of training (a forecast draws 200)
OVERFIT_NATS = 1.0  # validation NLL this far above the training loss: the model memorised its training part


def series_context(settings: TrainSettings, train_tokens: int) -> int:
    """The context for a series: the setting, or (0) a third of the training tokens, between 8 and 64."""
    if settings.context:
        return settings.context
    return max(MIN_SERIES_CONTEXT, min(64, train_tokens // 3))


def series_bins(settings: TrainSettings, train_tokens: int) -> int:
    """The bins for a series: the setting, or 64, at most a quarter of the training tokens (at least 8)."""
    return settings.bins or max(8, min(64, train_tokens // 4))


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
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum", ignore_index=IGNORED
        ).item()
        count += int((y != IGNORED).sum())
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
    started: float | None = None,
) -> checkpoint.State:
    """Train on ``source`` into checkpoint directory ``out``; ``until`` stops at that step (the
    schedule still spans ``settings.steps``), ``resume`` continues from the checkpoint exactly.
    ``settings.time_limit`` counts from ``started`` (``time.monotonic()``; the command's start), else from
    now, and holds the last validation, checkpoint and forecast too."""
    deadline = None
    if settings.time_limit:
        deadline = (started if started is not None else time.monotonic()) + settings.time_limit
    threads = torch.get_num_threads()
    if settings.column:  # a series model is a few thousand weights: one thread is as fast, and a second one
        torch.set_num_threads(1)  # spinning for a busy core made single steps take seconds on a loaded machine
    try:
        with writer_lock(out):
            return _train_lm(source, Path(out), settings, resume, overwrite, until, progress, deadline)
    finally:
        torch.set_num_threads(threads)


def _train_lm(
    source: Path | str,
    out: Path,
    settings: TrainSettings,
    resume: bool,
    overwrite: bool,
    until: int | None,
    progress: Callable[[dict], None] | None,
    deadline: float | None,
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
        train_values, valid_values, time_season = read_series(source, settings.column, settings.holdout)
        train_text = valid_text = ""  # a series has values, not text
    else:
        train_text, valid_text = read_text(source, settings.holdout)
    if not resume:
        if settings.column:
            settings, tokenizer = _series_codec(settings, train_values, time_season)
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
            dropout=settings.dropout,
            positions=settings.positions,
        )
        model = CausalLM(config)
        state = checkpoint.State(settings={"train": asdict(settings)})
    if settings.column:
        train_tokens = tokenizer.encode(train_values)
        valid_tokens = tokenizer.encode(
            np.concatenate([train_values[len(train_values) - tokenizer.lag :], valid_values])
        )
        windows = series_validation_windows(train_tokens, valid_tokens, settings.context)
        chars_per_token = 1.0  # for a series "bits per character" reads as bits per value
    else:
        train_tokens, valid_tokens = tokenizer.encode(train_text), tokenizer.encode(valid_text)
        windows = validation_windows(valid_tokens, settings.context)
        chars_per_token = len(valid_text) / max(len(valid_tokens), 1)
    batches = Batches(train_tokens, settings.context, settings.batch, settings.seed)
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
    interval_start, interval_tokens, losses = time.perf_counter(), 0, []
    clock = Clock(deadline, sum(int(y.numel()) for _, y in windows), settings)
    if settings.column:  # the held-out forecast after the last step: per value one cached token per path, and
        # a pass over half a context every half context (each about a third of a training step), two for slack
        clock.reserve_steps(2 + len(valid_values) / max(settings.context // 2, 1) / 3)
    best: tuple[float, int, dict] | None = None  # a series keeps its best weights on the held-out values
    while state.step < min(total, until or total):
        if clock.out_of_time():
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(state.step, settings, total)
        x, y = batches.next()
        loss = model.loss(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
        optimizer.step()
        clock.stepped()
        state.step += 1
        state.tokens_seen += x.numel()
        interval_tokens += x.numel()
        losses.append(loss.item())
        if progress:
            elapsed = time.perf_counter() - interval_start
            progress(
                {
                    "step": state.step,
                    "total": total,
                    "loss": losses[-1],
                    "tokens_per_s": interval_tokens / elapsed if elapsed > 0 else 0.0,
                }
            )
        if state.step % settings.eval_every == 0 or state.step == total:
            with clock.finishing():
                _checkpoint(out, model, tokenizer, state, optimizer, batches, windows, chars_per_token, start, losses)
            losses = []
            best = _better(best, state, model) if settings.column else None
            interval_start, interval_tokens = time.perf_counter(), 0
    if state.step == 0:
        raise DataError(
            f"--time-limit {settings.time_limit:g} s left no time for one training step (validating and saving "
            "need some of it); give it more time"
        )
    if not state.history or state.history[-1]["step"] != state.step:
        _checkpoint(out, model, tokenizer, state, optimizer, batches, windows, chars_per_token, start, losses)
        best = _better(best, state, model) if settings.column else None
    if settings.column:
        if best is not None and best[1] != state.step:  # an earlier step forecast its held-out values better
            model.load_state_dict(best[2])
            state.history.append({**next(h for h in state.history if h["step"] == best[1]), "kept_from_step": best[1]})
        state.history[-1]["forecast"] = holdout_forecast(
            model, tokenizer, train_values, valid_values, settings.seed, HOLDOUT_SAMPLES
        )
        checkpoint.save(out, model, tokenizer, state, optimizer, {"batches": batches.generator})
        model.train()
    _warn_if_memorised(state)
    return state


def _series_codec(settings: TrainSettings, values: np.ndarray, time_season: int | None):
    """The series' season (the setting, the time column's, or the autocorrelation's), the lag it is learnt
    over, and the context and bins that fit its length."""
    season = settings.season or time_season or detect_season(values)
    lag = choose_lag(values, season)
    learnt = len(values) - lag
    bins = series_bins(settings, learnt)
    settings = replace(settings, season=season, context=series_context(settings, learnt), bins=bins)
    return settings, SeriesCodec.fit(values, bins, lag, season, wants_log(values, lag))


def _better(best, state: checkpoint.State, model: CausalLM):
    """The best (validation NLL, step, weights) so far, after the latest validation."""
    nll = state.history[-1]["nll"]
    if best is None or nll < best[0]:
        return nll, state.step, {k: v.detach().clone() for k, v in model.state_dict().items()}
    return best


def _warn_if_memorised(state: checkpoint.State) -> None:
    """Say so when the held-out NLL is far above the training loss: the model learnt its training part by heart."""
    last = state.history[-1]
    train_loss = last.get("train_loss")
    if train_loss is not None and last["nll"] - train_loss > OVERFIT_NATS:
        message = (
            f"validation NLL {last['nll']:.2f} is far above the training loss {train_loss:.2f}: the model "
            "memorised its training part; train a smaller model (--dim, --layers), fewer --steps, or on more data"
        )
        last["warning"] = message
        warnings.warn(message, TrainyardWarning, stacklevel=3)


class Clock:
    """The time limit, kept with room for what comes after the last step: a validation, a checkpoint and
    (for a series) its forecast, measured each time they run, estimated before."""

    def __init__(self, deadline: float | None, held_out_tokens: int, settings: TrainSettings) -> None:
        self.deadline = deadline
        self.step_s = 0.0  # a moving average of one step's seconds
        self.finish_s: float | None = None
        # one validation in training steps: a forward pass over the held-out tokens, a third of a step's work
        self.scale = held_out_tokens / max(settings.batch * settings.context, 1) / 3
        self.saves = 3 if settings.column else 2  # after the loop: the last checkpoint (and a series' best)
        self.reserved_steps = 0.0
        self.steps = 0
        self._last = time.monotonic()

    def reserve_steps(self, steps: float) -> None:
        """Keep the time of ``steps`` more training steps for the work after the last step."""
        self.reserved_steps += steps

    def stepped(self) -> None:
        now = time.monotonic()
        seconds, self._last = now - self._last, now
        self.steps += 1
        if self.steps > 1:  # the first step pays for allocations once: it says little of the next ones
            self.step_s = 0.9 * self.step_s + 0.1 * seconds if self.step_s else seconds

    @contextmanager
    def finishing(self) -> Iterator[None]:
        began = time.monotonic()
        yield
        self.finish_s = time.monotonic() - began
        self._last = time.monotonic()

    def out_of_time(self) -> bool:
        if self.deadline is None:
            return False
        finish = self.finish_s if self.finish_s is not None else self.step_s * max(self.scale, 1.0) + 0.5
        return time.monotonic() + self.step_s * (1 + self.reserved_steps) + self.saves * finish >= self.deadline


def _checkpoint(out, model, tokenizer, state, optimizer, batches, windows, chars_per_token, start, losses) -> None:
    scores = evaluate(model, windows, chars_per_token)
    trained = {"train_loss": sum(losses) / len(losses)} if losses else {}
    state.history.append(
        {
            "step": state.step,
            "seconds": time.perf_counter() - start,
            "tokens_seen": state.tokens_seen,
            **scores,
            **trained,
        }
    )
    checkpoint.save(out, model, tokenizer, state, optimizer, {"batches": batches.generator})
