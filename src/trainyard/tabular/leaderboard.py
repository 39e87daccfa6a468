"""The leaderboard: models ranked by their cross-validation score, with the honest flags.

A model no better than the dummy baseline is flagged (the notes report a linear
regression at R² = 3.0e-19: a broken model, and the product says so), and the
simplest model within one standard error of the best is pointed out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trainyard.tabular.metrics import Metric


@dataclass
class Entry:
    """One model's line on the leaderboard: status, CV / test / fresh scores, timings, size and flags; a view of
    the trainer's ``ModelResult`` (``training/results.py``), with the ranking's flags."""

    name: str
    status: str  # ok | stopped | failed
    message: str = ""
    cv_mean: float = math.nan
    cv_std: float = math.nan
    cv_scores: list[float] = field(default_factory=list)
    test: dict[str, float] = field(default_factory=dict)
    fresh: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = math.nan
    predict_ms_per_1000: float = math.nan
    predict_ms_one_row: float = math.nan  # one request of one row: what --max-predict-ms bounds
    size_bytes: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    cost: int = 5
    rows_share: float = 1.0  # the fidelity it was scored at: the share of training rows its fits learned from
    work_share: float = 1.0  # and of its trees or epochs (training/fidelity.py)
    rank: int = 0
    below_dummy: bool = False
    simplest: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rank(entries: list[Entry], metric: Metric) -> list[Entry]:
    """Sort by CV mean (finished models first), number the ranks, set the flags.

    A model cut short (scored on fewer folds than the others) ranks after every fully cross-validated one: a
    score on one fold has no spread to compare, and one lucky fold must not pick the model that is saved.
    """
    finished = [e for e in entries if e.status == "ok"]
    others = [e for e in entries if e.status != "ok"]
    folds = full_folds(entries)
    finished.sort(key=lambda e: (len(e.cv_scores) < folds, -e.cv_mean if metric.greater_is_better else e.cv_mean))
    for i, entry in enumerate(finished, 1):
        entry.rank = i
    dummy = next((e for e in finished if e.name == "dummy"), None)
    for entry in finished:
        entry.below_dummy = dummy is not None and entry is not dummy and not _beats(metric, entry, dummy)
        entry.simplest = False
    if finished:
        best = finished[0]
        standard_error = best.cv_std / math.sqrt(max(len(best.cv_scores), 1))
        close = [
            e
            for e in finished
            if abs(e.cv_mean - best.cv_mean) <= standard_error and not e.below_dummy and e.name != "dummy"
        ]
        if close:
            min(close, key=lambda e: (e.cost, -e.rank)).simplest = True
    return finished + others


def full_folds(entries: list[Entry]) -> int:
    """The folds of a fully cross-validated model: the most any finished model was scored on."""
    return max((len(e.cv_scores) for e in entries if e.status == "ok"), default=0)


def baseline_warnings(entries: list[Entry], best: Entry, metric: Metric) -> list[str]:
    """A line for each held-out set (test, fresh) where the chosen model scores worse than the baseline (dummy):
    its cross-validation looked better, so something in the data or the model does not carry over."""
    dummy = next((e for e in entries if e.name == "dummy" and e.status == "ok"), None)
    if dummy is None or best is dummy:
        return []
    lines = []
    for where in ("test", "fresh"):
        mine, base = getattr(best, where).get(metric.name), getattr(dummy, where).get(metric.name)
        if mine is None or base is None or not np.isfinite([mine, base]).all():
            continue
        if (mine < base) if metric.greater_is_better else (mine > base):
            lines.append(
                f"the chosen model ({best.name}) scores worse than the baseline on the {where} rows "
                f"({metric.name} {mine:.4f} against dummy's {base:.4f}): it would serve worse than a constant answer"
            )
    return lines


def _beats(metric: Metric, entry: Entry, dummy: Entry) -> bool:
    margin = 1e-3 * max(abs(dummy.cv_mean), 1.0)
    if metric.greater_is_better:
        return entry.cv_mean > dummy.cv_mean + margin
    return entry.cv_mean < dummy.cv_mean - margin


def to_frame(entries: list[Entry], metric: Metric) -> pd.DataFrame:
    """The leaderboard as a DataFrame, one row per model, ranked, with its flags in words."""
    rows = []
    folds = full_folds(entries)
    for e in entries:
        flags = ", ".join(
            f for f, on in (("no better than dummy", e.below_dummy), ("simplest within 1 SE", e.simplest)) if on
        )
        rows.append(
            {
                "rank": e.rank or None,
                "model": e.name,
                # a model cut short says so where every width shows it
                "status": f"{len(e.cv_scores)}/{folds} folds"
                if e.status == "ok" and len(e.cv_scores) < folds
                else e.status,
                f"cv_{metric.name}": e.cv_mean,
                "cv_std": e.cv_std,
                f"test_{metric.name}": e.test.get(metric.name, math.nan),
                f"fresh_{metric.name}": e.fresh.get(metric.name, math.nan),
                "fit_seconds": e.fit_seconds,
                "predict_ms_per_1000": e.predict_ms_per_1000,
                "size_kb": e.size_bytes / 1024 if e.size_bytes else math.nan,
                "flags": flags or e.message,
            }
        )
    return pd.DataFrame(rows)


def leaderboard_html(entries, metric, title: str, note: str = "") -> str:
    """The leaderboard as a notebook table."""
    from trainyard.notebook import table

    frame = to_frame(entries, metric)
    rows = [
        [
            int(v) if c == "rank" and isinstance(v, (int, float)) and v == v else v  # a rank; NaN shows blank
            for c, v in zip(frame.columns, row)
        ]
        for row in frame.itertuples(index=False)
    ]
    return table(title, list(frame.columns), rows, note)


def result_html(result) -> str:
    """A train result in a notebook: its leaderboard, the split and the time."""
    from trainyard.tabular.metrics import primary_metric

    metric = primary_metric(result.schema.task)
    split = result.split
    note = (
        f"best: {result.best.name}; train {len(split.train):,} / test {len(split.test):,} / fresh "
        f"{len(split.fresh):,} rows; {result.seconds:.0f} s"
    )
    return leaderboard_html(
        result.entries,
        metric,
        f"leaderboard: {result.schema.target} ({result.schema.task}, ranked by CV {metric.name})",
        note,
    )
