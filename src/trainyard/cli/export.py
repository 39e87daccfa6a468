"""``trainyard export``: a run as a model file that runs without trainyard (ONNX), checked before it is written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trainyard.cli import options as opt


def export(
    run: Annotated[Path, typer.Argument(help="A run directory made by `trainyard train`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The model file to write, e.g. model.onnx.")],
    format: Annotated[str, typer.Option("--format", "-f", help="The model format: onnx.")] = "onnx",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing file.")] = False,
    trust_types: opt.TrustTypes = None,
) -> None:
    """Export the run's model, preprocessing included, and check it against the run's own predictions.

    The ONNX model takes one input per feature column ([N, 1]: double for numbers, string for the rest, the
    empty string for a missing value) and gives `prediction`, or `label` and `probabilities` for classes.

    Example: trainyard export runs/cars --format onnx -o cars.onnx
    """
    from trainyard.errors import DataError
    from trainyard.extras import require

    if format != "onnx":
        raise DataError(f"--format {format!r}: the one export format is onnx")
    require("onnx", "trainyard export --format onnx")  # before the run is read
    from trainyard.tabular.export.onnx_export import export_onnx
    from trainyard.tabular.runs.store import load_run

    done = export_onnx(load_run(run, trust_types=opt.trusted(trust_types)), out, overwrite=overwrite)
    labels = "" if done.labels_equal is None else ", every label equal"
    typer.echo(
        f"wrote {done.path} ({done.path.stat().st_size / 1024:,.0f} kB): checked on {done.rows_checked:,} test rows "
        f"against trainyard predict: largest relative difference {done.max_relative_difference:.1e}{labels}"
    )


def register(app: typer.Typer) -> None:
    """Add `trainyard export` to the app."""
    app.command()(export)
