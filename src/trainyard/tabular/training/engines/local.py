"""Where fits run: each model's cross-validation in a worker process with a deadline.

A model that would overrun the time limit is killed with its process and recorded
as stopped, never left hanging. Inside the worker, the folds run in parallel over
the cores with joblib (threads: the heavy libraries release the GIL), the same
call a Dask cluster can take over through joblib's Dask backend.

Workers are started once and reused (like loky's executor): a worker that finished
a call waits for the next one, so a run pays the start (a Python with pandas and
scikit-learn imported, seconds on a busy machine) once rather than per fit. Only
a worker stopped at its deadline is killed, and the next call starts a new one. A
worker idle for ``IDLE_SECONDS`` leaves. Workers are plain subprocesses
(``engines/worker.py``), not ``multiprocessing`` children, so the caller's own
script is never imported again (a plain script without a main guard, ``python -``,
``python -c`` and the spawn start method all work).
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from trainyard.tabular.training.engines.worker import READY


class Stopped(Exception):
    """The work did not finish before its deadline and was stopped."""


class Failed(Exception):
    """The work raised inside the worker; the message is its last line."""


IDLE_SECONDS = 120.0  # an idle worker leaves after this; the next call starts another
START_SECONDS = 30.0  # a worker may take this long to start (imports on a busy machine) whatever the call's seconds
MAX_IDLE = 1  # workers kept waiting: calls run one at a time, but for the rare caller in another thread


class Worker:
    """One Python process that runs calls one after another."""

    def __init__(self) -> None:
        calls_read, calls_write = os.pipe()
        results_read, results_write = os.pipe()
        package_root = str(Path(__file__).resolve().parents[4])  # the folder that holds trainyard
        code = (
            f"import sys; sys.path.insert(0, {package_root!r}); "
            "from trainyard.tabular.training.engines.worker import main; "
            f"main({calls_read}, {results_write})"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            pass_fds=(calls_read, results_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # libraries that print (a booster's C code) would only add noise
            close_fds=True,
        )
        os.close(calls_read)
        os.close(results_write)
        self.calls = Connection(calls_write, readable=False)
        self.results = Connection(results_read, writable=False)
        self.calls.send(list(sys.path))
        self.idle_since = time.monotonic()
        self.ready = False  # its imports done (it says so once, before its first call)

    def wait_ready(self, seconds: float) -> bool:
        """Whether the worker finished starting within ``seconds`` (at once when it had already)."""
        if not self.ready:
            try:
                if not self.results.poll(None if seconds == float("inf") else seconds):
                    return False
                self.ready = self.results.recv_bytes() == READY
            except (EOFError, OSError):
                return False
        return self.ready

    def call(self, fn: Callable[..., Any], args: tuple, deadline: float) -> tuple[str, Any]:
        """``("ok", fn(*args))`` or ``("error", its last line)`` from the worker; ``Stopped`` when ``deadline``
        passes first. A worker that did not answer (stopped, died, or its caller interrupted) is closed."""
        answered = False
        try:
            self.calls.send_bytes(pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL))
            wait = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
            if not self.results.poll(wait):
                raise Stopped("still running at its deadline")
            answer = pickle.loads(self.results.recv_bytes())
            answered = True
        except (EOFError, OSError) as err:  # the pipe closed under us: the worker is gone
            self.close()
            raise Failed(f"the worker died (exit code {self.process.returncode})") from err
        finally:
            if not answered:
                self.close()
        self.idle_since = time.monotonic()
        return answer

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        for end in (self.calls, self.results):
            end.close()


_idle: list[Worker] = []
_lock = threading.Lock()
_reaper: threading.Timer | None = None  # one pending timer closes the workers that waited too long


def _take() -> Worker:
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive():
                return worker
            worker.close()
    return Worker()


def _give_back(worker: Worker) -> None:
    with _lock:
        if worker.alive() and len(_idle) < MAX_IDLE:
            _idle.append(worker)
            _reap_later()
            return
    worker.close()


def _reap_later() -> None:
    """Arm the reaper, unless it is already pending (called with ``_lock`` held)."""
    global _reaper
    if _reaper is None and _idle:
        due = min(w.idle_since for w in _idle) + IDLE_SECONDS - time.monotonic()  # when the oldest is due
        _reaper = threading.Timer(max(due, 0.0) + 0.5, _reap)
        _reaper.daemon = True
        _reaper.start()


def _reap() -> None:
    """Close the workers that waited longer than ``IDLE_SECONDS``; wait again for those that did not yet."""
    global _reaper
    with _lock:
        _reaper = None
        old = [w for w in _idle if time.monotonic() - w.idle_since >= IDLE_SECONDS]
        _idle[:] = [w for w in _idle if w not in old]
        if _idle:
            _reap_later()
    for worker in old:
        worker.close()


def warm_up() -> None:
    """Start a worker now, if none waits, so that its imports overlap the caller's own preparation."""
    with _lock:
        if any(w.alive() for w in _idle):
            return
        _idle.append(Worker())
        _reap_later()


@atexit.register
def close_workers() -> None:
    """Stop every waiting worker, at exit."""
    with _lock:
        waiting, _idle[:] = list(_idle), []
    for worker in waiting:
        worker.close()


def _forget_after_fork() -> None:
    global _lock, _reaper
    _lock, _reaper = threading.Lock(), None  # the parent's timer thread does not exist here
    _idle.clear()  # the parent's workers, not this child's: never written to from here


os.register_at_fork(after_in_child=_forget_after_fork)


def run_with_deadline(fn: Callable[..., Any], *args: Any, seconds: float) -> Any:
    """Run ``fn(*args)`` in a worker process; stop it (killing the process) after ``seconds``.

    The clock starts when a worker is ready: starting one, when none waits (after one was stopped), is not
    the call's time, so a slow call does not make the next one look slow too. ``fn`` must be importable by
    name (not defined in ``__main__``).
    """
    if seconds <= 0:
        raise Stopped("no time left")
    worker = _take()
    if not worker.wait_ready(max(seconds, START_SECONDS)):
        worker.close()
        raise Stopped(f"its worker process had not started after {max(seconds, START_SECONDS):.0f} s")
    deadline = time.monotonic() + seconds
    try:
        status, payload = worker.call(fn, args, deadline)
    except Stopped:
        warm_up()  # the next call finds a worker already starting, rather than start one then
        raise Stopped(f"still running after {seconds:.0f} s") from None
    _give_back(worker)
    if status == "error":
        raise Failed(payload)
    return payload


class LocalEngine:
    """Each model's work in a worker process on this machine (reused from call to call), killed at its deadline.
    ``trainyard train`` and ``train_run()`` start the first worker (``warm_up``) before they read the table,
    ``train()`` as it begins, whichever comes first."""

    def run(self, job, seconds: float):
        from trainyard.tabular.training.job import run_job

        return run_with_deadline(run_job, job, seconds=seconds)

    def close(self) -> None:
        pass
