"""Greedy ensemble selection (Caruana et al., 2004) over the models' out-of-fold predictions.

Kept only when it beats the best single model on the cross-validation folds.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from trainyard.tabular.metrics import metric_value, primary_metric, scores_of

ROUNDS = 25
PRUNE_SHARE = 0.25  # of the blend's standard error across folds: a smaller loss is noise


def _fold_mean(trainer, output: np.ndarray, metric_name: str) -> tuple[float, list[float]]:
    job = trainer.job
    scores = [metric_value(job.task, metric_name, job.y[v], output[v], job.n_classes) for _, v in job.folds]
    return float(np.mean(scores)), scores


def latency(trainer, names) -> float:
    """One row's milliseconds through these members (each has its own preprocessing): their sum."""
    return float(sum(trainer.results[n].get("predict_ms_one_row", math.nan) for n in names))


def greedy_ensemble(trainer) -> dict[str, float] | None:
    """Members and weights, or None when no blend beats the best single model on the folds.

    With ``trainer.max_predict_ms`` a member set never answers one row slower than that. Then members
    whose removal costs less than ``PRUNE_SHARE`` of the blend's standard error across folds are
    removed, the lightest first: a score equal within noise is had with fewer, cheaper members.
    """
    metric = primary_metric(trainer.job.task, trainer.job.metric)
    limit = getattr(trainer, "max_predict_ms", None)
    candidates = {
        n: o
        for n, o in trainer.oof.items()
        if n != "dummy" and not np.isnan(o).any() and (limit is None or latency(trainer, [n]) <= limit)
    }
    if len(candidates) < 2:
        return None
    best_single = max(
        (r["cv_mean"] for n, r in trainer.results.items() if n in candidates),
        key=lambda s: s if metric.greater_is_better else -s,
    )
    chosen: Counter[str] = Counter()
    total = None
    best_score, best_counts = None, None
    for _ in range(ROUNDS):
        trial_scores = {}
        for name, output in candidates.items():
            if limit is not None and name not in chosen and latency(trainer, [*chosen, name]) > limit:
                continue
            blend = output if total is None else (total + output)
            n = sum(chosen.values()) + 1
            trial_scores[name] = _fold_mean(trainer, blend / n, metric.name)[0]
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
    best_counts, best_score = _prune(trainer, best_counts, metric)
    if len(best_counts) < 2:
        return None
    wins = best_score > best_single if metric.greater_is_better else best_score < best_single
    if not wins:
        return None
    weights = {n: c / sum(best_counts.values()) for n, c in best_counts.items()}
    _record(trainer, weights, metric)
    return weights


def _blend_scores(trainer, counts: Counter, metric_name: str) -> tuple[float, list[float]]:
    total = sum(counts.values())
    blend = sum(trainer.oof[n] * (c / total) for n, c in counts.items())
    return _fold_mean(trainer, blend, metric_name)


def _prune(trainer, counts: Counter, metric) -> tuple[Counter, float]:
    """Drop members, the lightest first, while the blend stays within noise of the full one."""
    score, folds = _blend_scores(trainer, counts, metric.name)
    tolerance = PRUNE_SHARE * float(np.std(folds)) / math.sqrt(max(len(folds), 1))
    counts = Counter(counts)
    for name in sorted(counts, key=lambda n: (counts[n], -latency(trainer, [n]))):
        if len(counts) <= 2:
            break
        trial = Counter({n: c for n, c in counts.items() if n != name})
        trial_score = _blend_scores(trainer, trial, metric.name)[0]
        loss = score - trial_score if metric.greater_is_better else trial_score - score
        if loss <= tolerance:
            counts = trial
    return counts, _blend_scores(trainer, counts, metric.name)[0]


def _record(trainer, weights: dict[str, float], metric) -> None:
    job = trainer.job
    oof = sum(w * trainer.oof[n] for n, w in weights.items())
    mean, scores = _fold_mean(trainer, oof, metric.name)
    test = sum(w * trainer.outputs[n]["test"] for n, w in weights.items())
    fresh = (
        sum(w * trainer.outputs[n]["fresh"] for n, w in weights.items())
        if all(trainer.outputs[n]["fresh"] is not None for n in weights)
        else None
    )
    trainer.outputs["ensemble"] = {"test": test, "fresh": fresh}
    trainer.oof["ensemble"] = oof
    trainer.costs["ensemble"] = 10
    members = [trainer.results[n] for n in weights]
    trainer.results["ensemble"] = {
        "status": "ok",
        "message": "",
        "params": {"weights": weights},
        "cv_scores": scores,
        "cv_mean": mean,
        "cv_std": float(np.std(scores)),
        "test": scores_of(job.task, trainer.codes[trainer.split.test], test, job.n_classes),
        "fresh": trainer.fresh_scores(fresh),
        "fit_seconds": sum(m["fit_seconds"] for m in members),
        "predict_ms_per_1000": sum(m["predict_ms_per_1000"] for m in members),
        "predict_ms_one_row": latency(trainer, weights),
        "size_bytes": sum(m["size_bytes"] for m in members),
    }
