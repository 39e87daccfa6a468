"""``trainyard report``: one self-contained HTML page (and report.md) for a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from trainyard.cli import options as opt


def report(
    run: Annotated[Path, typer.Argument(help="A run directory made by `trainyard train`.")],
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Where to write the HTML (default: RUN/report.html).")
    ] = None,
    trust_types: opt.TrustTypes = None,
) -> None:
    """Write the run's report: data, preprocessing, splits, leaderboard, pictures and explanation.

    Example: trainyard report runs/cars -o cars-report.html
    """
    from trainyard.tabular.report import write_report

    html, markdown = write_report(run, out, trust_types=opt.trusted(trust_types))
    typer.echo(f"wrote {html} and {markdown}")


def register(app: typer.Typer) -> None:
    """Add `trainyard report` to the app."""
    app.command()(report)
