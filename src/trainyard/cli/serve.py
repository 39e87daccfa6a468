"""``trainyard serve``: a run's best model behind an HTTP API (FastAPI, run by uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trainyard.cli import options as opt


def serve_command(
    run: Annotated[Path, typer.Argument(help="A run directory (trainyard train).")],
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Server processes (each loads the model).")] = 1,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", min=0.001, help="Larger request bodies get 413.")
    ] = 16.0,
    compiled: Annotated[
        bool,
        typer.Option(
            "--compiled/--no-compiled",
            help="Answer with the compiled model (checked equal at start) or with the fitted pipelines only.",
        ),
    ] = True,
    trust_types: opt.TrustTypes = None,
) -> None:
    """Serve predictions: POST /predict (JSON rows or CSV), GET /schema, GET /health, /docs.

    Example: trainyard serve runs/cars --port 8000
    """
    from trainyard.extras import require

    require("serve", "trainyard serve")

    from trainyard.tabular.runs.store import load_run
    from trainyard.tabular.serve.app import create_app

    trusted = opt.trusted(trust_types)
    loaded = load_run(
        run, trust_types=trusted
    )  # a missing or damaged run fails here, in one line, before any server starts
    limit = int(max_body_mb * 1024 * 1024)
    console = Console(stderr=True, highlight=False)
    console.print(
        f"serving {loaded.manifest.get('best')} from {run} on http://{host}:{port} "
        f"({workers} worker{'s' if workers > 1 else ''}); API at /docs"
    )
    if workers == 1:
        from trainyard.tabular.serve.workers import listening_socket, run_uvicorn

        sock = listening_socket(host, port)  # TCP_NODELAY on the listening socket: see serve/workers.py
        app = create_app(loaded, max_body_bytes=limit, compiled=compiled)
        console.print(f"model: {app.state.compiled_note}")
        run_uvicorn(app, sock)
        return
    from trainyard.tabular.serve.workers import serve_processes

    serve_processes(run.resolve(), host, port, workers, limit, compiled, trusted)


def register(app: typer.Typer) -> None:
    """Add `trainyard serve` to the app."""
    app.command("serve")(serve_command)
