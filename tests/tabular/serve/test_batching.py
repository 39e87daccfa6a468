"""Requests that arrive together are predicted in one call, each gets its own rows, and a failing request
fails alone."""

from __future__ import annotations

import asyncio

import numpy as np

from trainyard.tabular.serve.batching import Batcher


def _gather(batcher: Batcher, values: list[float]) -> list:
    async def main():
        calls = (batcher({"x": np.array([v, v + 0.5])}, 2) for v in values)
        return await asyncio.gather(*calls, return_exceptions=True)

    loop = asyncio.new_event_loop()  # not asyncio.run: it leaves the thread without a current loop, which Dask needs
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_requests_that_arrive_together_share_one_call() -> None:
    calls = []

    def predict(columns, n_rows):
        calls.append(n_rows)
        return columns["x"] * 2

    answers = _gather(Batcher(predict), [0.0, 1.0, 2.0, 3.0])
    assert [a.tolist() for a in answers] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]
    assert calls == [8]


def test_a_request_the_model_cannot_use_fails_alone() -> None:
    def predict(columns, n_rows):
        if np.isinf(columns["x"]).any():
            raise ValueError("infinity")
        return columns["x"]

    batcher = Batcher(predict)
    answers = _gather(batcher, [1.0, np.inf, 2.0])
    assert isinstance(answers[1], ValueError)
    assert answers[0].tolist() == [1.0, 1.5] and answers[2].tolist() == [2.0, 2.5]
    assert (batcher.requests, batcher.batches) == (3, 1)
