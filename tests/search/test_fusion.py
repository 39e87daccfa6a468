from __future__ import annotations

import pytest

from trainyard.search.fusion import reciprocal_rank, weighted_scores


def test_rrf_rewards_agreement():
    fused = reciprocal_rank([["a", "b", "c"], ["b", "c", "a"]], k=60)
    assert max(fused, key=fused.get) == "b"
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)


def test_rrf_weights():
    fused = reciprocal_rank([["a"], ["b"]], weights=[2.0, 1.0])
    assert fused["a"] == pytest.approx(2 * fused["b"])


def test_weighted_scores_normalise_each_side():
    fused = weighted_scores([{"a": 10.0, "b": 0.0}, {"a": 0.2, "b": 0.4}])
    assert fused == {"a": pytest.approx(1.0), "b": pytest.approx(1.0)}
    assert weighted_scores([{"a": 3.0}]) == {"a": 0.0}
