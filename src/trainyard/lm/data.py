"""Sequences for the language model: text files (or SMART collections), and numeric series.

A numeric column becomes tokens by taking its differences over ``lag`` steps (``series.choose_lag``; 0
keeps the values), standardising them on the training part and cutting them into quantile bins; the model
then predicts the next bin, and a bin's centre is its value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
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
    """Values <-> tokens: differences over ``lag`` steps (none for lag 0), standardised, then quantile bins;
    the bin centre decodes a token. It is the tokenizer of a series model (``kind`` "series"), saved in its
    checkpoint with the season it was trained for."""

    mean: float
    std: float
    edges: list[float]  # inner edges in standardised units
    centres: list[float]
    lag: int = 0
    season: int | None = None
    log: bool = False  # the logarithm of the values is what is differenced (a multiplicative series)
    kind = "series"

    def to_json(self) -> str:
        import json

        return json.dumps({"kind": self.kind, **asdict(self)})

    @classmethod
    def from_dict(cls, data: dict) -> SeriesCodec:
        """The codec a checkpoint saved (one from before ``lag``, ``season`` and ``log`` takes their defaults)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    @classmethod
    def fit(
        cls, values: np.ndarray, bins: int = 64, lag: int = 0, season: int | None = None, log: bool = False
    ) -> SeriesCodec:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        changes = cls(0.0, 1.0, [], [], lag, season, log).changes(values)
        if len(changes) < bins:
            raise DataError(
                f"the series has {len(changes)} values to learn, fewer than the {bins} bins; use fewer bins"
            )
        mean, std = float(changes.mean()), float(changes.std() or 1.0)
        z = (changes - mean) / std
        edges = np.unique(np.quantile(z, np.linspace(0, 1, bins + 1)[1:-1]))
        token = np.searchsorted(edges, z, side="right")
        centres = [float(z[token == i].mean()) if np.any(token == i) else 0.0 for i in range(len(edges) + 1)]
        return cls(mean, std, edges.tolist(), centres, lag, season, log)

    @property
    def vocab_size(self) -> int:
        return len(self.centres)

    def changes(self, values: np.ndarray) -> np.ndarray:
        """What the model learns of ``values``: their differences over ``lag`` steps (one per value after the
        first ``lag``)."""
        values = self._scale(values)
        return values[self.lag :] - values[: -self.lag] if self.lag else values

    def _scale(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.log and np.any(values <= 0):
            raise DataError("this series model learnt the logarithm of positive values; the series has values <= 0")
        return np.log(values) if self.log else values

    def encode(self, values: np.ndarray) -> list[int]:
        z = (self.changes(values) - self.mean) / self.std
        return np.searchsorted(np.asarray(self.edges), z, side="right").tolist()

    def decode(self, tokens) -> np.ndarray:
        """Tokens -> changes (values, for lag 0)."""
        return np.asarray(self.centres)[np.asarray(tokens)] * self.std + self.mean

    def undo(self, history: np.ndarray, changes: np.ndarray) -> np.ndarray:
        """Values that continue ``history`` by ``changes`` (paths in rows): each adds its change to the value
        ``lag`` steps before it."""
        out = np.array(np.atleast_2d(changes), dtype=float)
        if self.lag:
            history = self._scale(history)
            for step in range(out.shape[1]):
                back = step - self.lag
                out[:, step] += out[:, back] if back >= 0 else history[len(history) + back]
        return np.exp(out) if self.log else out


def read_series(source: Path | str, column: str, holdout: float = 0.1) -> tuple[np.ndarray, np.ndarray, int | None]:
    """A numeric column of a table, in row order, split into the first and the last ``holdout`` share; and
    the season that the table's time column implies (``series.season_from_times``), if it has one."""
    import pandas as pd

    from trainyard.data.readers import read
    from trainyard.lm.series import season_from_times

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
    times = [frame[c] for c in frame.columns if c != column]
    season = next((s for s in map(season_from_times, times) if s), None)
    return values[:cut], values[cut:], season


def holdout_forecast(
    model, codec: SeriesCodec, history: np.ndarray, future: np.ndarray, seed: int = 0, samples: int = 200
) -> dict:
    """The held-out values forecast from the training values alone (every step ahead, as a user would
    forecast): the model's MAE, MASE and 80% band coverage beside the naive and seasonal-naive forecasts'."""
    from trainyard.lm.series import forecast, mase, seasonal_naive

    predicted = forecast(model, codec, history, len(future), samples=samples, seed=seed)
    season = codec.season or 1
    snaive = seasonal_naive(history, season, len(future))
    naive = seasonal_naive(history, 1, len(future))
    inside = (future >= predicted["q10"]) & (future <= predicted["q90"])
    return {
        "points": int(len(future)),
        "season": season,
        "mae": float(np.mean(np.abs(predicted["mean"] - future))),
        "naive_mae": float(np.mean(np.abs(naive - future))),
        "seasonal_naive_mae": float(np.mean(np.abs(snaive - future))),
        "mase": mase(future, predicted["mean"], history, season),
        "seasonal_naive_mase": mase(future, snaive, history, season),
        "coverage_80": float(np.mean(inside)),
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


IGNORED = -100  # cross_entropy's ignore_index: targets that are context, not scored


def series_validation_windows(
    train: list[int], held_out: list[int], context: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Windows that score every held-out token once, each seen after the ``context`` tokens before it (the
    end of the training part included): a short series has too few held-out tokens for windows of its own."""
    data = torch.tensor(train + held_out, dtype=torch.long)
    first = len(train)
    out = []
    for end in range(first, len(data), context):  # score targets end..end+context-1
        stop = min(end + context, len(data))
        start = max(0, stop - context - 1)
        window = data[start:stop]
        targets = window[1:].clone()
        targets[: end - start - 1] = IGNORED
        out.append((window[None, :-1], targets[None]))
    return out
