"""Fusing rankings: reciprocal rank fusion, and a weighted sum of min-max normalised scores."""

from __future__ import annotations

RRF_K = 60  # Cormack, Clarke and Buettcher (2009): robust across collections


def reciprocal_rank(rankings: list[list[str]], k: int = RRF_K, weights: list[float] | None = None) -> dict[str, float]:
    """score(d) = sum over rankings of weight / (k + rank of d), ranks from 1."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, key in enumerate(ranking, 1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return fused


def weighted_scores(scored: list[dict[str, float]], weights: list[float] | None = None) -> dict[str, float]:
    """Each ranking's scores min-max normalised to [0, 1], then summed with ``weights``."""
    weights = weights or [1.0] * len(scored)
    fused: dict[str, float] = {}
    for scores, weight in zip(scored, weights):
        if not scores:
            continue
        low, high = min(scores.values()), max(scores.values())
        span = (high - low) or 1.0
        for key, value in scores.items():
            fused[key] = fused.get(key, 0.0) + weight * (value - low) / span
    return fused
