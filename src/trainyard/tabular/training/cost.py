"""Predicted seconds of a model's cross-validation, from the table's shape, corrected by the fits so far.

Before a model's first fit, its catalog entry's prior (``ModelSpec.fold_seconds``: one fold on 1,000 rows ×
10 numeric columns, measured by bench/cost_model.py) is scaled by the rows (to ``rows_power``), the columns
and, for boosters (a tree per class per round), the classes. Two corrections follow: the machine's (the
median of actual / prior over the models that ran: a busy machine makes every fit slower) and then the
model's own, once its first fold is timed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REFIT_COST = 1.3  # the refit on every training row, in folds' worth of time (it sees 5/4 of a fold's rows)
OVERHEAD = 0.05  # seconds a call costs inside the worker whatever the model (unpickling, scoring the folds)
MIN_TIMED = 0.1  # seconds: a faster fit is mostly overhead, and says little even about its own model
MIN_MACHINE = 0.5  # seconds of prior: only a model predicted to take this long says how fast the machine is
MACHINE_RANGE = (0.25, 8.0)  # the machine's correction stays within these: one odd fit must not mislead all


def predicted_fold_seconds(spec, rows: int, columns: int, classes: int) -> float:
    """The prior: seconds of one fold's fit of ``spec`` on ``rows`` × ``columns`` with ``classes``."""
    per_class = classes if spec.stopping is not None and classes > 2 else 1
    return spec.fold_seconds * (max(rows, 1) / 1000) ** spec.rows_power * max(columns, 1) / 10 * per_class


@dataclass
class CostModel:
    """Predicts a model's seconds on one table: ``rows`` (a fold's training rows), ``columns`` and ``classes``."""

    rows: int
    columns: int
    classes: int
    folds: int
    ratios: dict[str, float] = field(default_factory=dict)  # model -> actual / prior, from its own fits
    bounds: dict[str, float] = field(default_factory=dict)  # model -> at least this ratio (a fit stopped unfinished)
    machine_ratios: dict[str, float] = field(default_factory=dict)  # the ratios that speak for the machine

    def fold(self, spec) -> float:
        """One fold's seconds at full fidelity, corrected."""
        ratio = max(self.ratios.get(spec.name, self.machine()), self.bounds.get(spec.name, 0.0))
        return predicted_fold_seconds(spec, self.rows, self.columns, self.classes) * ratio

    def whole(self, spec, share: float = 1.0) -> float:
        """Every fold and the refit at ``share`` of the full work, with each call's overhead and the time its
        library takes to start in a fresh worker."""
        return self.fold(spec) * share * (self.folds + REFIT_COST) + 2 * OVERHEAD + spec.start_seconds

    def machine(self) -> float:
        """How the machine runs against the prior: the median ratio of the models timed so far whose prior
        is long enough to say (1 before any), within ``MACHINE_RANGE``."""
        said = list(self.machine_ratios.values())
        low, high = MACHINE_RANGE
        return float(np.clip(np.median(said), low, high)) if said else 1.0

    def observe(
        self, spec, share: float, seconds: float, folds: float, *, finished: bool = True, rows: float = 1.0
    ) -> None:
        """Record that ``folds`` folds' worth of ``spec`` at ``share`` of its work took ``seconds`` (or, not
        ``finished``, had not ended by then: a bound on this model alone, not a measure of the machine).
        Only a fit on every row (``rows`` 1) speaks for the machine: how a fit's time falls with fewer rows
        is the prior's guess, and its error is the model's, not the machine's."""
        if seconds < MIN_TIMED or share <= 0 or folds <= 0:
            return
        per_fold = max(seconds - OVERHEAD, 0.01) / folds / share
        prior = predicted_fold_seconds(spec, self.rows, self.columns, self.classes)
        (self.ratios if finished else self.bounds)[spec.name] = per_fold / prior
        if finished and rows >= 0.999 and prior * share * folds >= MIN_MACHINE:
            self.machine_ratios[spec.name] = per_fold / prior
        else:
            self.machine_ratios.pop(spec.name, None)
