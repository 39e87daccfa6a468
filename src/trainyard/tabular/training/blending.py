"""Greedy ensemble selection (Caruana et al., 2004) over the models' out-of-fold predictions.

Kept only when it beats the best single model on the cross-validation folds.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from trainyard.tabular.metrics import metric_value, primary_metric
from trainyard.tabular.training.results import Ledger, ModelResult

ROUNDS = 25
PRUNE_SHARE = 0.25  # of the blend's standard error across folds: a smaller loss is noise


def _fold_mean(job, output: np.ndarray, metric_name: str) -> tuple[float, list[float]]:
    scores = [metric_value(job.task, metric_name, job.y[v], output[v], job.n_classes) for _, v in job.folds]
    return float(np.mean(scores)), scores


def latency(ledger: Ledger, names) -> float:
    """One row's milliseconds through these members (each has its own preprocessing): their sum."""
    return float(sum(ledger[n].predict_ms_one_row for n in names))


def greedy_ensemble(ledger: Ledger, job, max_predict_ms: float | None = None) -> ModelResult | None:
    """The ensemble as a result (its members and weights in ``params["weights"]``, its test and fresh
    outputs unscored), or None when no blend beats the best single model on the folds.

    With ``max_predict_ms`` a member set never answers one row slower than that. Then members whose
    removal costs less than ``PRUNE_SHARE`` of the blend's standard error across folds are removed, the
    lightest first: a score equal within noise is had with fewer, cheaper members.
    """
    metric = primary_metric(job.task, job.metric)
    limit = max_predict_ms
    candidates = {
        r.name: r.oof
        for r in ledger.finished()
        if r.name != "dummy"
        and r.oof is not None
        and not np.isnan(r.oof).any()
        and (limit is None or latency(ledger, [r.name]) <= limit)
    }
    if len(candidates) < 2:
        return None
    best_single = max((ledger[n].cv_mean for n in candidates), key=lambda s: s if metric.greater_is_better else -s)
    chosen: Counter[str] = Counter()
    total = None
    best_score, best_counts = None, None
    for _ in range(ROUNDS):
        trial_scores = {}
        for name, output in candidates.items():
            if limit is not None and name not in chosen and latency(ledger, [*chosen, name]) > limit:
                continue
            blend = output if total is None else (total + output)
            n = sum(chosen.values()) + 1
            trial_scores[name] = _fold_mean(job, blend / n, metric.name)[0]
        if not trial_scores:
            break
        pick = max(trial_scores, key=lambda k: trial_scores[k] if metric.greater_is_better else -trial_scores[k])
        chosen[pick] += 1
        total = candidates[pick].copy() if total is None else total + candidates[pick]
        score = trial_scores[pick]
        if best_score is None or (score > best_score if metric.greater_is_better else score < best_score):
            best_score, best_counts = score, Counter(chosen)
    if best_counts is None:
        return None
    best_counts, best_score = _prune(ledger, job, best_counts, metric)
    if len(best_counts) < 2:
        return None
    wins = best_score > best_single if metric.greater_is_better else best_score < best_single
    if not wins:
        return None
    return blended(ledger, job, {n: c / sum(best_counts.values()) for n, c in best_counts.items()}, metric)


def _blend_scores(ledger: Ledger, job, counts: Counter, metric_name: str) -> tuple[float, list[float]]:
    total = sum(counts.values())
    blend = _weighted({n: c / total for n, c in counts.items()}, [ledger[n].oof for n in counts])
    return _fold_mean(job, blend, metric_name)


def _prune(ledger: Ledger, job, counts: Counter, metric) -> tuple[Counter, float]:
    """Drop members, the lightest first, while the blend stays within noise of the full one."""
    score, folds = _blend_scores(ledger, job, counts, metric.name)
    tolerance = PRUNE_SHARE * float(np.std(folds)) / math.sqrt(max(len(folds), 1))
    counts = Counter(counts)
    for name in sorted(counts, key=lambda n: (counts[n], -latency(ledger, [n]))):
        if len(counts) <= 2:
            break
        trial = Counter({n: c for n, c in counts.items() if n != name})
        trial_score = _blend_scores(ledger, job, trial, metric.name)[0]
        loss = score - trial_score if metric.greater_is_better else trial_score - score
        if loss <= tolerance:
            counts = trial
    return counts, _blend_scores(ledger, job, counts, metric.name)[0]


def blended(ledger: Ledger, job, weights: dict[str, float], metric) -> ModelResult:
    """The weighted blend of ``weights``' members as one result: folds, outputs, costs (test and fresh
    rows not scored yet: the trainer scores every result the same way)."""
    members = [ledger[n] for n in weights]
    oof = _weighted(weights, [m.oof for m in members])
    _, scores = _fold_mean(job, oof, metric.name)
    test = _weighted(weights, [m.test_output for m in members])
    fresh = _weighted(weights, [m.fresh_output for m in members])
    return ModelResult(
        name="ensemble",
        params={"weights": weights},
        cv_scores=scores,
        oof=oof,
        test_output=test,
        fresh_output=fresh,
        fit_seconds=sum(m.fit_seconds for m in members),
        predict_ms_per_1000=sum(m.predict_ms_per_1000 for m in members),
        predict_ms_one_row=latency(ledger, weights),
        size_bytes=sum(m.size_bytes for m in members),
        cost=10,
    )


def _weighted(weights: dict[str, float], outputs: list[Any]) -> Any:
    """The members' outputs weighted and summed, in member order; None when a member has none."""
    if any(output is None for output in outputs):
        return None
    return sum(w * output for w, output in zip(weights.values(), outputs))
