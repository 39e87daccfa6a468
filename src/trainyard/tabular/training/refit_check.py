"""Whether a refit on every labelled row may replace the model that was scored.

The leaderboard scores a model fitted on the training rows. The refit learns from the held-out (test and fresh)
rows too, so nothing scores it honestly; what can be checked is that it answers those rows (now among its own
training rows) at least about as well as the scored model did. A refit that answers rows it has seen worse than
a model that never saw them has gone wrong, and is not saved.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from trainyard.tabular.metrics import metric_value, primary_metric

# At most this share of the held-out rows may go from a right answer (the scored model's label, or a number
# within the tolerance below) to a wrong one. Rows the refit has seen should rarely change for the worse: a
# healthy refit on a quarter more rows flips a few borderline rows either way, and mostly towards the truth.
MAX_LOST_SHARE = 0.10
# A number is answered worse when the refit's error exceeds the scored model's by more than this share of the
# target's spread (standard deviation) on those rows: finer differences are the extra rows doing their work.
NUMBER_TOLERANCE = 0.25
# The primary metric on those rows may be at most this much worse: an absolute margin for scores in [0, 1]
# (accuracy, AUC, F1, R²), a relative one for errors and losses (RMSE, MAE, log loss).
SCORE_MARGIN = 0.02
ERROR_MARGIN = 0.05


@dataclass
class RefitCheck:
    """The refit against the scored model on the held-out rows: the primary metric of each, and the share of
    rows the scored model answered right that the refit answers wrong."""

    rows: int
    metric: str
    scored: float
    refit: float
    lost_share: float
    passed: bool

    def reason(self) -> str:
        """Why the refit was refused, in one clause."""
        return (
            f"on the {self.rows:,} held-out rows it had learned from, it answered {self.lost_share:.0%} of those "
            f"the scored model got right wrongly ({self.metric} {self.refit:.3f} against {self.scored:.3f})"
        )

    def as_dict(self) -> dict:
        """The check as JSON-ready values, for the run's manifest."""
        return asdict(self)


def check_refit(
    task: str, metric: str | None, y: np.ndarray, scored: np.ndarray, refit: np.ndarray, n_classes: int
) -> RefitCheck:
    """Compare the refit's outputs with the scored model's on the held-out rows ``y``."""
    chosen = primary_metric(task, metric)
    before = metric_value(task, chosen.name, y, scored, n_classes)
    after = metric_value(task, chosen.name, y, refit, n_classes)
    lost = _lost_share(task, y, scored, refit)
    if chosen.greater_is_better:
        worse = after < before - SCORE_MARGIN
    else:
        worse = after > before * (1 + ERROR_MARGIN) + 1e-12
    return RefitCheck(len(y), chosen.name, before, after, lost, passed=not worse and lost <= MAX_LOST_SHARE)


def _lost_share(task: str, y: np.ndarray, scored: np.ndarray, refit: np.ndarray) -> float:
    if task == "regression":
        spread = float(np.std(y)) or 1.0
        lost = np.abs(refit - y) > np.abs(scored - y) + NUMBER_TOLERANCE * spread
        return float(np.mean(lost))
    right = np.argmax(scored, axis=1) == y
    return float(np.mean(right & (np.argmax(refit, axis=1) != y)))
