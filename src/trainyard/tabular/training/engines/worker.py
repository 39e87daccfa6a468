"""The worker process's side: read a call, run it, send back its result, and wait for the next.

Started by ``engines/local.py`` as ``python -c`` with two pipe descriptors, never through
``multiprocessing``: its spawn and forkserver start methods import the caller's ``__main__`` again
in every child, which re-runs a script written without ``if __name__ == "__main__":`` and fails
inside one (or inside ``python -``). This process imports only trainyard and what a call names.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection

# Imported before the first call, while the caller still prepares it: the fits' own modules.
PRELOAD = ("trainyard.tabular.training.job", "pandas", "sklearn.ensemble", "sklearn.linear_model")
READY = b"ready"


def main(calls_fd: int, results_fd: int) -> None:
    """Serve calls until the caller closes the pipe or dies."""
    # Ctrl-C in a terminal reaches the whole process group: the caller stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    calls = Connection(calls_fd, writable=False)
    results = Connection(results_fd, readable=False)
    threading.Thread(target=_leave_with, args=(os.getppid(),), daemon=True).start()
    try:
        sys.path[:] = calls.recv()  # the caller's import path: a call may name its modules
    except EOFError:
        return
    for name in PRELOAD:
        __import__(name)
    results.send_bytes(READY)  # the caller starts a call's clock from here: start-up is not the call's time
    while True:
        try:
            message = calls.recv_bytes()
        except EOFError:
            return
        results.send_bytes(_run(message))


def _run(message: bytes) -> bytes:
    """The pickled ("ok", result) of the call, or ("error", its last line)."""
    try:
        fn, args = pickle.loads(message)
        return pickle.dumps(("ok", fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as err:  # every failure goes back to the caller as one line
        return pickle.dumps(("error", traceback.format_exception_only(type(err), err)[-1].strip()))


def _leave_with(parent: int) -> None:
    """A caller killed outright (SIGKILL) cannot stop its worker: the worker leaves on its own."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
