"""A fit's fidelity: how much of a model's full work it does, so that a first look costs less.

Two knobs, in this order: the model's work parameter (trees, epochs: ``ModelSpec.work_param``), cut down to
``MIN_WORK_SHARE`` of its value (a booster's learning rate rises as its trees fall, so fewer trees still
reach a fit, as FLAML's low-cost starting points do); then the share of the training rows each fit
learns from, down to ``MIN_ROWS``. The validation rows are never cut: every fidelity is scored on the same
rows, so low- and full-fidelity models compare, and blend, on one footing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_WORK_SHARE = 0.1  # at most ten times fewer trees or epochs (a booster's learning rate rising to match)
MAX_LEARNING_RATE = 0.15  # a booster's learning rate, raised as its trees fall, stops here: at 0.3, hist_gb
# diverged on 32 classes (leaf_species: accuracy 0.21 against 0.98 at 0.15, 3-fold CV, 30 to 90 iterations)
MIN_ROWS = 500  # a fit at a lower fidelity still learns from at least this many rows (or all there are)


@dataclass(frozen=True)
class Fidelity:
    """Shares of a model's full work (its trees or epochs) and of the training rows one fit uses."""

    work: float = 1.0
    rows: float = 1.0

    @property
    def share(self) -> float:
        """The share of the full fit's cost: work × rows."""
        return self.work * self.rows

    @property
    def full(self) -> bool:
        return self.share >= 0.999

    def describe(self, spec) -> str:
        """ "" at full fidelity; else what was cut: "25% of its trees, 40% of the rows"."""
        parts = []
        if self.work < 0.999:
            what = "epochs" if spec.work_param == "max_epochs" else "trees"
            parts.append(f"{self.work:.0%} of its {what}")
        if self.rows < 0.999:
            parts.append(f"{self.rows:.0%} of the rows")
        return ", ".join(parts)


FULL = Fidelity()


def fidelity_for(spec, share: float, n_rows: int) -> Fidelity | None:
    """The fullest fidelity of ``spec`` that costs at most ``share`` of its full fit on ``n_rows`` training
    rows; None when even the lowest costs more."""
    if share >= 1.0:
        return FULL
    work = max(share, MIN_WORK_SHARE) if spec.work_param else 1.0
    rows = round(min(share / work, 1.0), 3)
    if rows < min(1.0, MIN_ROWS / max(n_rows, 1)):
        return None
    return Fidelity(round(work, 3), rows)


def lowest(spec, n_rows: int) -> Fidelity:
    """The cheapest fidelity of ``spec`` on ``n_rows`` training rows."""
    work = MIN_WORK_SHARE if spec.work_param else 1.0
    return Fidelity(work, min(1.0, MIN_ROWS / max(n_rows, 1)))


def params_at(spec, fidelity: Fidelity, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` at ``fidelity``: the work parameter scaled (and a booster's learning rate raised to match)."""
    key = spec.work_param
    if fidelity.work >= 0.999 or key is None:
        return params
    scaled = {**params, key: max(1, round(params.get(key, spec.defaults[key]) * fidelity.work))}
    if "learning_rate" in spec.defaults:
        rate = params.get("learning_rate", spec.defaults["learning_rate"])
        scaled["learning_rate"] = min(MAX_LEARNING_RATE, max(rate, rate / fidelity.work))
    return scaled


def subsample(positions: np.ndarray, y: np.ndarray, share: float, seed: int, classify: bool) -> np.ndarray:
    """``share`` of ``positions`` (at least ``MIN_ROWS``), drawn with ``seed``; for classification each
    class keeps its share and at least one row, so every class a fold has is still learned."""
    if share >= 0.999 or len(positions) <= MIN_ROWS:
        return positions
    share = max(share, MIN_ROWS / len(positions))
    rng = np.random.default_rng(seed)
    if not classify:
        return np.sort(rng.choice(positions, size=int(round(share * len(positions))), replace=False))
    labels = y[positions]
    kept = []
    for label in np.unique(labels):
        members = positions[labels == label]
        kept.append(rng.choice(members, size=max(1, int(round(share * len(members)))), replace=False))
    return np.sort(np.concatenate(kept))
