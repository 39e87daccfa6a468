"""Sequences for the language model: text files (or SMART collections), and numeric series.

A numeric column becomes tokens by standardising it on the training part and cutting it
into quantile bins; the model then predicts the next bin, and a bin's centre is its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trainyard.errors import DataError
from trainyard.search.documents import is_smart


def read_text(source: Path | str, holdout: float = 0.1) -> tuple[str, str]:
    """Training and validation text. SMART files and folders split by document (the last
    ``holdout`` share of documents is validation); a plain text file splits by characters."""
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder; give a text file, a folder of .txt/.md or a SMART file")
    if path.is_file() and path.suffix.lower() in {".txt", ".md", ".text", ""} and not is_smart(path):
        text = path.read_text(encoding="utf-8", errors="replace")
        cut = int(len(text) * (1 - holdout))
        return text[:cut], text[cut:]
    from trainyard.search.documents import load

    docs = [d.full_text() for d in load(path) if d.full_text().strip()]
    cut = max(1, int(round(len(docs) * (1 - holdout))))
    return "\n\n".join(docs[:cut]) + "\n\n", "\n\n".join(docs[cut:]) + "\n\n"


@dataclass
class SeriesCodec:
    """Values <-> tokens: standardise, then quantile bins; the bin centre decodes a token.
    It is the tokenizer of a series model (``kind`` "series"), saved in its checkpoint."""

    mean: float
    std: float
    edges: list[float]  # inner edges in standardised units
    centres: list[float]
    kind = "series"

    def to_json(self) -> str:
        import json

        return json.dumps(
            {"kind": self.kind, "mean": self.mean, "std": self.std, "edges": self.edges, "centres": self.centres}
        )

    @classmethod
    def fit(cls, values: np.ndarray, bins: int = 64) -> SeriesCodec:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if len(values) < bins:
            raise DataError(f"the series has {len(values)} values, fewer than the {bins} bins; use fewer bins")
        mean, std = float(values.mean()), float(values.std() or 1.0)
        z = (values - mean) / std
        edges = np.unique(np.quantile(z, np.linspace(0, 1, bins + 1)[1:-1]))
        token = np.searchsorted(edges, z, side="right")
        centres = [float(z[token == i].mean()) if np.any(token == i) else 0.0 for i in range(len(edges) + 1)]
        return cls(mean, std, edges.tolist(), centres)

    @property
    def vocab_size(self) -> int:
        return len(self.centres)

    def encode(self, values: np.ndarray) -> list[int]:
        z = (np.asarray(values, dtype=float) - self.mean) / self.std
        return np.searchsorted(np.asarray(self.edges), z, side="right").tolist()

    def decode(self, tokens) -> np.ndarray:
        return np.asarray(self.centres)[np.asarray(tokens)] * self.std + self.mean


def read_series(source: Path | str, column: str, holdout: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column of a table, in row order, split into the first and the last ``holdout`` share."""
    import pandas as pd

    from trainyard.data.readers import read

    frame = read(source)
    if column not in frame.columns:
        raise DataError(f"{source}: no column {column!r}; the columns are {', '.join(map(str, frame.columns))}")
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = int(np.sum(~np.isfinite(values)))
    if bad == len(values):
        raise DataError(f"{source}: column {column!r} holds no numbers")
    if bad:
        values = pd.Series(values).ffill().bfill().to_numpy()  # gaps take the last value seen
    cut = int(len(values) * (1 - holdout))
    return values[:cut], values[cut:]


def forecast_errors(model, codec: SeriesCodec, history: np.ndarray, future: np.ndarray) -> dict[str, float]:
    """One-step-ahead forecasts over ``future`` (each with at least half a context of past values):
    the model's expected value against the naive forecast, the last value seen."""
    context = model.config.context
    half = context // 2
    series = np.concatenate([history[-half:], future])
    tokens = torch.tensor(codec.encode(series), dtype=torch.long)
    centres = torch.tensor(codec.centres, dtype=torch.float64) * codec.std + codec.mean
    predictions = []
    model.eval()
    with torch.inference_mode():
        for start in range(half, len(series), half):
            window = tokens[start - half : min(start + half, len(series)) - 1]
            logits, _ = model(window[None])
            probs = torch.softmax(logits[0, half - 1 :].double(), dim=-1)
            predictions.append((probs @ centres).numpy())
    predicted = np.concatenate(predictions)[: len(future)]
    naive = series[half - 1 : -1][: len(future)]
    truth = future[: len(predicted)]
    return {
        "mae": float(np.mean(np.abs(predicted - truth))),
        "naive_mae": float(np.mean(np.abs(naive[: len(truth)] - truth))),
        "points": int(len(truth)),
    }


class Batches:
    """Random windows of ``context + 1`` tokens from the training stream, from one seeded generator."""

    def __init__(self, tokens: list[int], context: int, batch: int, seed: int) -> None:
        if len(tokens) <= context + 1:
            raise DataError(
                f"the corpus has {len(tokens)} tokens, not more than one context window "
                f"({context + 1}); give more text or a smaller --context"
            )
        self.data = torch.tensor(tokens, dtype=torch.long)
        self.context, self.batch = context, batch
        self.generator = torch.Generator().manual_seed(seed)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(0, len(self.data) - self.context - 1, (self.batch,), generator=self.generator)
        windows = torch.stack([self.data[s : s + self.context + 1] for s in starts.tolist()])
        return windows[:, :-1], windows[:, 1:]


def validation_windows(tokens: list[int], context: int, limit: int = 64) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive, non-overlapping windows of the held-out stream (at most ``limit``)."""
    data = torch.tensor(tokens, dtype=torch.long)
    out = []
    for start in range(0, len(data) - context - 1, context):
        window = data[start : start + context + 1]
        out.append((window[None, :-1], window[None, 1:]))
        if len(out) == limit:
            break
    return out
