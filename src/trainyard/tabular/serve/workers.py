"""Several server processes on one port: each binds its own socket with SO_REUSEPORT, so the
kernel spreads connections across them.

Not uvicorn's own ``--workers``: its processes share one socket bound without TCP_NODELAY, and
there every response waited for a delayed ACK; with the option set on the listening socket, which
accepted sockets inherit, it does not (docs/benchmarks.md, "Measurements behind the code").
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from trainyard.errors import DataError


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port with SO_REUSEPORT and TCP_NODELAY; a taken port is one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise DataError(f"cannot listen on {host}:{port} ({err.strerror}); choose another --port") from None
    return sock


def serve_processes(
    run: Path,
    host: str,
    port: int,
    workers: int,
    max_body_bytes: int,
    compiled: bool = True,
    trust_types: tuple[str, ...] = (),
) -> None:
    """Start ``workers`` processes, each with the model; stop them all on SIGINT or SIGTERM."""
    listening_socket(host, port).close()  # a taken port fails here, in one line, before anything starts
    context = mp.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(str(run), host, port, max_body_bytes, compiled, i == 0, trust_types))
        for i in range(workers)
    ]
    for process in processes:
        process.start()

    def stop(*_):
        for process in processes:
            if process.is_alive():
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        stop()
        for process in processes:
            process.join(10)


def _worker(
    run: str, host: str, port: int, max_body_bytes: int, compiled: bool, first: bool, trust_types: tuple[str, ...]
) -> None:

    from trainyard.tabular.serve.app import create_app

    # A parent killed outright (SIGKILL) cannot stop its workers: they leave on their own.
    threading.Thread(target=_leave_with, args=(os.getppid(),), daemon=True).start()
    sock = listening_socket(host, port)
    app = create_app(run, max_body_bytes=max_body_bytes, compiled=compiled, trust_types=trust_types)
    if first:  # every worker compiles the same model: one line says how it went
        print(f"model: {app.state.compiled_note}", file=sys.stderr, flush=True)
    run_uvicorn(app, sock)


def _leave_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def run_uvicorn(app, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until stopped. The loaded model is hundreds of thousands of Python objects that
    live as long as the server: frozen out of the collector's reach first, a full collection no longer walks
    them (without it, one request in ~100 waited 40-60 ms for one: bench/serve.py's p99 on loans_rate)."""
    import uvicorn

    gc.collect()
    gc.freeze()
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
