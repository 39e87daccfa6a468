"""Requests of a few rows that arrive together are predicted together.

A one-row request costs the model a fixed ~0.5-1 ms (a pass through each member's steps and a call into
each model) and almost nothing per row. Predicting runs on the event loop's thread, so while one request
is predicted the next ones wait in their sockets; the batcher lets the requests already read join the
next call (it yields to the loop a few times before taking the queue), then hands each request its own
rows of the output. A lone request waits for nobody: with one connection the batch is that request.
A batch that fails (a value one request holds that the model cannot use) is predicted again request by
request, so the error reaches only the request that caused it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

Columns = dict[str, np.ndarray]
YIELDS = 3  # loop iterations a batch waits for requests already read to reach the queue (microseconds when idle)


class Batcher:
    """``await batcher(columns, n_rows)`` -> the model's output for those rows, predicted with whatever
    else arrived meanwhile; ``predict(columns, n_rows)`` is the model's own call."""

    def __init__(self, predict: Callable[[Columns, int], np.ndarray]) -> None:
        self.predict = predict
        self.queue: list[tuple[Columns, int, asyncio.Future]] = []
        self.draining = False
        self.batches = 0  # how many calls the model got, and for how many requests: /health shows them
        self.requests = 0

    async def __call__(self, columns: Columns, n_rows: int) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        self.queue.append((columns, n_rows, future))
        if not self.draining:
            self.draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.queue:
                for _ in range(YIELDS):
                    await asyncio.sleep(0)
                batch, self.queue = self.queue, []
                self._answer(batch)
        finally:
            self.draining = False

    def _answer(self, batch: list[tuple[Columns, int, asyncio.Future]]) -> None:
        self.batches += 1
        self.requests += len(batch)
        if len(batch) == 1:
            columns, n_rows, future = batch[0]
            _settle(future, self.predict, columns, n_rows)
            return
        merged = {name: np.concatenate([columns[name] for columns, _, _ in batch]) for name in batch[0][0]}
        try:
            output = self.predict(merged, sum(n for _, n, _ in batch))
        except Exception:  # one request's values: each request alone, so only its own answer is the error
            for columns, n_rows, future in batch:
                _settle(future, self.predict, columns, n_rows)
            return
        start = 0
        for _, n_rows, future in batch:
            if not future.done():  # a client that left has its future cancelled
                future.set_result(output[start : start + n_rows])
            start += n_rows


def _settle(future: asyncio.Future, predict: Callable[[Columns, int], np.ndarray], columns: Columns, n: int) -> None:
    try:
        result = predict(columns, n)
    except Exception as err:
        if not future.done():
            future.set_exception(err)
        return
    if not future.done():
        future.set_result(result)
