"""Where fits run: each model's cross-validation in a worker process with a deadline.

A model that would overrun the time limit is killed with its process and recorded
as stopped, never left hanging. Inside the worker, the folds run in parallel over
the cores with joblib (threads: the heavy libraries release the GIL), the same
call a Dask cluster can take over through joblib's Dask backend.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any


class Stopped(Exception):
    """The work did not finish before its deadline and was stopped."""


class Failed(Exception):
    """The work raised inside the worker; the message is its last line."""


# A fork server: forking the caller directly can deadlock when it has OpenMP or BLAS
# threads running (libgomp is not fork-safe); the server forks from a clean process
# that has the heavy modules imported but has run nothing.
_PRELOAD = ["trainyard.tabular.training.job", "pandas", "sklearn.ensemble", "sklearn.linear_model"]


def _context():
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def run_with_deadline(fn: Callable[..., Any], *args: Any, seconds: float) -> Any:
    """Run ``fn(*args)`` in a process forked from the fork server; kill it after ``seconds``.

    The clock starts before the process does, so starting the fork server (a few
    seconds, once) counts against the deadline too.
    """
    if seconds <= 0:
        raise Stopped("no time left")
    deadline = time.monotonic() + seconds
    context = _context()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, fn, args, os.getpid()), daemon=True)
    process.start()
    send.close()
    try:
        wait = None if seconds == float("inf") else max(0.0, deadline - time.monotonic())
        if not receive.poll(wait):
            raise Stopped(f"still running after {seconds:.0f} s")
        status, payload = receive.recv()
    except EOFError as err:
        raise Failed(f"the worker died (exit code {process.exitcode})") from err
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receive.close()
    if status == "error":
        raise Failed(payload)
    return payload


def _child(send, fn, args, caller: int) -> None:
    # The worker's parent is the fork server, so nothing would stop it if the caller
    # died (a killed benchmark, a Ctrl-C): watch the caller and leave with it.
    threading.Thread(target=_watch, args=(caller,), daemon=True).start()
    try:
        result = ("ok", fn(*args))
    except BaseException as err:  # report every failure to the parent in one line
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        result = ("error", last)
    send.send(result)
    send.close()


def _watch(caller: int) -> None:
    while True:
        time.sleep(1.0)
        try:
            os.kill(caller, 0)
        except ProcessLookupError:
            os._exit(1)


class LocalEngine:
    """Each model's work in a forked worker process on this machine, killed at its deadline."""

    def run(self, job, seconds: float):
        from trainyard.tabular.training.job import run_job

        return run_with_deadline(run_job, job, seconds=seconds)

    def close(self) -> None:
        pass
