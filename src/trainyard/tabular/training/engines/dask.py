"""Where fits run when one machine is not enough: a Dask cluster, through Dask's own futures.

Each model's work is split into tasks, one per cross-validation fold plus the refit, running the
same functions as a local run (``fitting.fit_fold``, ``fitting.fit_final``) with the same number
of threads per fit, so the same seed gives the same numbers. The training table is scattered to
the workers once per run, not once per task.

The time limit holds on the client: a model whose tasks do not finish in time is recorded as
stopped and its tasks are cancelled (Dask cannot interrupt a task already running; it finishes in
the background and its result is dropped). A worker that dies mid-fit costs that fit: the
scheduler runs the task again on another worker, and a task that keeps killing workers fails
that model only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from typing import Any

from trainyard.errors import SchemaError, first_line
from trainyard.tabular.training.engines.local import Failed, Stopped
from trainyard.tabular.training.job import Job, assemble, fit_final, fit_fold, fit_threads
from trainyard.tabular.training.results import ModelResult

CONNECT_SECONDS = 10.0
SCATTER_SECONDS = 60.0  # sending the training table to every worker: seconds on a network, for ~1 GB


class _DataLost(Exception):
    """Tasks cancelled because the scattered table went with a dead worker."""


class DaskEngine:
    """Runs each model's folds and refit as tasks on a Dask cluster (``local:N`` starts one here)."""

    def __init__(self, address: str, connect_seconds: float = CONNECT_SECONDS) -> None:
        from trainyard.extras import require

        require("dask", "training on a Dask cluster (cluster=)")
        from distributed import Client, LocalCluster

        self.address, self._cluster = address, None
        local = re.fullmatch(r"local(?::(\d+))?", address.strip())
        try:
            if local:
                workers = int(local.group(1) or 2)
                if workers < 1:
                    raise SchemaError(f"cluster={address!r}: use local:N with N >= 1 workers")
                self._cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self.client = Client(self._cluster)
            else:
                if not re.fullmatch(r"(tcp|tls|ws|wss|inproc)://.+", address.strip()):
                    raise SchemaError(f"cluster={address!r}: write tcp://HOST:8786 (a Dask scheduler) or local:N")
                self.client = Client(address, timeout=connect_seconds)
        except (OSError, TimeoutError) as err:
            raise SchemaError(
                f"cannot reach the Dask scheduler at {address} (waited {connect_seconds:g} s: "
                f"{first_line(err, 100)}); start one with `dask scheduler` and "
                "`dask worker`, or use cluster='local:N'"
            ) from None
        self._data: tuple[int, Any] | None = None

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def run(self, job: Job, seconds: float) -> ModelResult:
        """The same result as ``fitting.run_job(job)``, computed on the cluster within ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            return self._collect(job, self._submit(job), seconds)
        except _DataLost:
            self._data = None  # a worker died with the only copy of the table: send it again, once
        try:
            return self._collect(job, self._submit(job), deadline - time.monotonic())
        except _DataLost:
            raise Failed("the workers holding the training table died twice") from None

    def _submit(self, job: Job) -> list:
        base = self._scatter(job)
        threads = fit_threads(job)
        futures = [
            self.client.submit(_fold, base, job.name, job.params, i, threads, pure=False) for i in range(len(job.folds))
        ]
        if job.refit:  # the refit waits for the folds: it takes their tree count
            futures.append(self.client.submit(_final, base, job.name, job.params, threads, list(futures), pure=False))
        return futures

    def _collect(self, job: Job, futures: list, seconds: float) -> ModelResult:
        from distributed import wait
        from distributed.client import FutureCancelledError, FuturesCancelledError

        if seconds <= 0:
            self.client.cancel(futures)
            raise Stopped("no time left")
        try:
            wait(futures, timeout=None if seconds == float("inf") else seconds)
            if any(f.status == "cancelled" for f in futures):
                raise _DataLost()
            for future in futures:
                if future.status == "error":
                    error = future.exception()
                    raise Failed(f"{type(error).__name__}: {first_line(error, 200)}")
            results = self.client.gather(futures)
        except TimeoutError:
            self.client.cancel(futures)
            raise Stopped(f"still running after {seconds:.0f} s") from None
        except (FutureCancelledError, FuturesCancelledError):
            # the scattered table went with a dead worker: wait or gather raise this, or the futures
            # come back cancelled, depending on when the worker died
            raise _DataLost() from None
        return assemble(job, results[: len(job.folds)], results[-1] if job.refit else None)

    def _scatter(self, job: Job):
        """The job's tables, sent to the workers once and reused by every model of the run."""
        key = id(job.X)
        if self._data is None or self._data[0] != key:
            bare = dataclasses.replace(job, name="", params={})
            try:
                data = self.client.sync(self._send, bare)
            except TimeoutError:
                raise _DataLost() from None
            self._data = (key, data)
        return self._data[1]

    async def _send(self, bare: Job):
        # A worker killed while the scheduler sends it the table is waited on for ever (scatter's own
        # timeout covers only finding workers; the suite hung 10 minutes): the send has a limit and is
        # retried. Not asyncio.wait_for: it waits for the cancelled send to finish, which a stuck one never does.
        task = asyncio.ensure_future(self.client.scatter(bare, broadcast=True, hash=False, asynchronous=True))
        done, _ = await asyncio.wait({task}, timeout=SCATTER_SECONDS)
        if not done:
            task.cancel()
            raise TimeoutError(f"sending the table took over {SCATTER_SECONDS:g} s")
        return task.result()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            # Our own workers may still run a cancelled fit; a graceful close would wait for it
            # (seconds past the time limit), so end their processes first.
            for nanny in self._cluster.workers.values():
                try:
                    nanny.process.process.kill()
                except AttributeError:
                    pass
            self._cluster.close(timeout=5)


def _fold(base: Job, name: str, params: dict, index: int, threads: int):
    return _in_worker(threads, fit_fold, dataclasses.replace(base, name=name, params=params), index, threads)


def _final(base: Job, name: str, params: dict, threads: int, folds: list):
    return _in_worker(threads, fit_final, dataclasses.replace(base, name=name, params=params), threads, folds)


def _in_worker(threads: int, fn, job: Job, *args):
    import warnings

    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=threads):  # for this task only
        warnings.simplefilter("ignore")
        return fn(job, *args)
