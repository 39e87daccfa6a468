"""ModelResult, what one model's fit produced, and the Ledger of them that one training call keeps.

Every part of training speaks this one type: the worker returns it (``job.run_job``), the Dask engine
assembles the same, tuning reads the ledger, blending makes the ensemble one, ``--resume`` stores and
restores it (``runs/store.PartialRun``), the lazy path lists its models as them, and the leaderboard's
``Entry`` is a view of it (``entry()``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from trainyard.tabular.leaderboard import Entry
from trainyard.tabular.training.fidelity import Fidelity

ARRAYS = ("oof", "test_output", "fresh_output")  # stored apart from the record (npz) by a checkpoint
OLD_ARRAY_NAMES = {"test": "test_output", "fresh": "fresh_output"}  # a checkpoint written before ModelResult


@dataclass
class ModelResult:
    """One model's scores, outputs, fitted pipeline and costs; status ``ok``, ``stopped`` or ``failed``."""

    name: str  # its line on the leaderboard: a catalog name, "<name>_tuned" or "ensemble"
    model: str = ""  # the catalog entry it was fitted from ("" for the ensemble)
    status: str = "ok"
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    cv_scores: list[float] = field(default_factory=list)  # the primary metric per fold
    fold_trees: list[int | None] = field(default_factory=list)  # a booster's trees per fold
    oof: np.ndarray | None = None  # out-of-fold outputs on the training rows (NaN where no fold ran)
    test_output: np.ndarray | None = None  # values, or probabilities per class code
    fresh_output: np.ndarray | None = None
    test: dict[str, float] = field(default_factory=dict)  # every metric of the task on the test rows
    fresh: dict[str, float | None] = field(default_factory=dict)  # and on the fresh rows, with <primary>_se
    fitted: bytes | None = None  # the fitted pipeline, pickled by our own worker
    trees: int | None = None  # the refit's tree count (boosters)
    rows_share: float = 1.0  # the share of the training rows its fits learned from (training/fidelity.py)
    work_share: float = 1.0  # the share of its trees or epochs (its params hold the scaled values)
    fit_seconds: float = math.nan  # the refit on every training row
    predict_ms_per_1000: float = math.nan
    predict_ms_one_row: float = math.nan  # one request of one row: what --max-predict-ms bounds
    size_bytes: int = 0
    seconds: float = math.nan  # wall time the trainer spent on it, cross-validation and refit
    work_seconds: float = math.nan  # the time inside the worker (no start-up, no transfer): what the cost model learns
    cost: int = 5  # the catalog's cost rank: the simplest model within one SE is the cheapest

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def fidelity(self) -> Fidelity:
        """The share of its trees or epochs and of the training rows it was fitted at."""
        return Fidelity(work=self.work_share, rows=self.rows_share)

    @property
    def cv_mean(self) -> float:
        return float(np.mean(self.cv_scores)) if self.ok and self.cv_scores else math.nan

    @property
    def cv_std(self) -> float:
        return float(np.std(self.cv_scores)) if self.ok and self.cv_scores else math.nan

    def entry(self) -> Entry:
        """Its line on the leaderboard."""
        view = {f.name for f in fields(Entry)} & {f.name for f in fields(self)}
        return Entry(**{name: getattr(self, name) for name in view}, cv_mean=self.cv_mean, cv_std=self.cv_std)

    def record(self) -> dict[str, Any]:
        """Everything but the arrays and the fitted pipeline, as JSON can hold it (a checkpoint's record)."""
        skip = {*ARRAYS, "fitted"}
        return {k: v for k, v in asdict(self).items() if k not in skip}

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: v for k in ARRAYS if (v := getattr(self, k)) is not None}

    @classmethod
    def restore(cls, record: dict[str, Any], arrays: dict[str, Any], fitted: bytes | None) -> ModelResult:
        """The result a checkpoint stored with ``record()`` and ``arrays()`` (or an older trainyard's: its
        arrays named ``test`` and ``fresh``, its extra keys left out)."""
        known = {f.name for f in fields(cls)} - {*ARRAYS, "fitted"}
        named = {OLD_ARRAY_NAMES.get(k, k): v for k, v in arrays.items()}
        return cls(
            **{k: v for k, v in record.items() if k in known},
            **{k: v for k, v in named.items() if k in ARRAYS},
            fitted=fitted,
        )


def unfinished(name: str, model: str, status: str, message: str, params: dict | None = None) -> ModelResult:
    """The result of a model that did not finish (``stopped`` at its deadline, or ``failed``)."""
    return ModelResult(name=name, model=model, status=status, message=message, params=params or {})


class Ledger:
    """One training call's results by leaderboard name, in the order they came; a name added again replaces."""

    def __init__(self) -> None:
        self._by_name: dict[str, ModelResult] = {}

    def add(self, result: ModelResult) -> ModelResult:
        self._by_name[result.name] = result
        return result

    def __getitem__(self, name: str) -> ModelResult:
        return self._by_name[name]

    def get(self, name: str) -> ModelResult | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[ModelResult]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def finished(self) -> list[ModelResult]:
        """The results with status ``ok``, in the order they came."""
        return [r for r in self if r.ok]

    def entries(self) -> list[Entry]:
        return [r.entry() for r in self]
