"""``trainyard profile``: what is in a table."""

from __future__ import annotations

import typer
from rich.console import Console

from trainyard.cli import options as opt
from trainyard.cli.render import print_schema


def profile(
    source: opt.Source,
    target: opt.Target = None,
    task: opt.Task = None,
    json: opt.Json = False,
    format: opt.Format = None,
    sheet: opt.Sheet = None,
    table: opt.Table = None,
    query: opt.Query = None,
    source_column: opt.SourceColumn = None,
) -> None:
    """Read a table and tell what is in it: each column's role and why, and the warnings.

    Example: trainyard profile cars.csv --target price
    """
    from trainyard.data.readers import read
    from trainyard.data.schema import profile as profile_table

    frame = read(source, **opt.read_options(format, sheet, table, query, source_column))
    schema = profile_table(frame, target, task=task)
    if json:
        typer.echo(schema.to_json())
        return
    print_schema(Console(), schema, f"{source}: {len(frame):,} rows, {len(frame.columns)} columns")


def register(app: typer.Typer) -> None:
    """Add `trainyard profile` to the app."""
    app.command()(profile)
