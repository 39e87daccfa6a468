"""``trainyard prep``: the preprocessing plan for a table, step by step, with reasons."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from trainyard.cli import options as opt
from trainyard.cli.render import Column, print_table

if TYPE_CHECKING:  # the CLI imports no pandas before a command runs
    from trainyard.tabular.prep.prepare import Prepared

Recipe = Annotated[
    str, typer.Option("--recipe", "-r", help="A shipped recipe (auto, notes-basic, notes-winning) or a TOML file.")
]
Strict = Annotated[bool, typer.Option("--strict", help="Fail instead of dropping rows with no target.")]


def prep(
    source: opt.Source,
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.")],
    recipe: Recipe = "auto",
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Write the prepared rows (features, target, split) to this Parquet file."),
    ] = None,
    task: opt.Task = None,
    seed: opt.Seed = 0,
    strict: Strict = False,
    json: opt.Json = False,
    format: opt.Format = None,
    sheet: opt.Sheet = None,
    table: opt.Table = None,
    query: opt.Query = None,
    source_column: opt.SourceColumn = None,
) -> None:
    """Show every preprocessing step, the columns it touched, what it did and why, and the split.

    Example: trainyard prep cars.csv --target price --recipe notes-winning -o prepared.parquet
    """
    from trainyard.data.readers import read
    from trainyard.tabular.prep.prepare import prepare

    frame = read(source, **opt.read_options(format, sheet, table, query, source_column))
    prepared = prepare(frame, target, recipe, seed=seed, task=task, strict=strict)
    if out is not None:
        write_prepared(prepared, out)
    if json:
        import json as jsonlib

        typer.echo(jsonlib.dumps(prepared.plan.to_dict(), indent=2, default=str))
        return
    print_plan(Console(), prepared)
    if out is not None:
        Console().print(f"wrote the prepared rows to [bold]{out}[/]")


def print_plan(console: Console, prepared: Prepared) -> None:
    """The preprocessing plan as a table: each step, the columns it touches, what it does and why."""
    plan = prepared.plan
    rows = []
    for step in plan.steps:
        rows.append([escape(step.step), escape(step.columns_shown()), escape(step.action), escape(step.reason)])
    print_table(
        console,
        f"preprocessing plan (recipe {plan.recipe})",
        [Column("step", "name"), Column("columns", "text", 1), Column("what", "text"), Column("why", "text", 2)],
        rows,
    )
    console.print(f"features after preprocessing: [bold]{plan.n_features}[/]")
    split = prepared.split
    kind = (
        split.kind
        + (f" by {split.stratify}" if split.stratify else "")
        + (f" by group {split.group}" if split.group else "")
    )
    fresh = (
        f", fresh {len(split.fresh):,} ({split.fresh_period} by {split.date_column})"
        if len(split.fresh)
        else (
            f", no fresh holdout (the newest months of {split.date_column} hold too few rows)"
            if split.date_column
            else ", no fresh holdout"
        )
    )
    console.print(f"split ({kind}): train {len(split.train):,}, test {len(split.test):,}{fresh}")
    if split.shares:
        rows = [
            [escape(str(level)), f"{share['train']:.1%}", f"{share['test']:.1%}"]
            for level, share in list(split.shares.items())[:12]
        ]
        print_table(
            console, f"{split.stratify} shares", [Column("stratum", "name"), Column("train"), Column("test")], rows
        )


def write_prepared(prepared: Prepared, out: Path) -> None:
    """Write the prepared rows (features, target and split) to a Parquet file, atomically."""
    import pandas as pd

    from trainyard.io import atomic_path

    parts = []
    for part in ("train", "test", "fresh"):
        if len(getattr(prepared.split, part)) == 0:
            continue
        features = prepared.features(part).reset_index(drop=True)
        features[prepared.schema.target] = prepared.target(part).to_numpy()
        features["split"] = part
        parts.append(features)
    with atomic_path(out) as tmp:
        pd.concat(parts, ignore_index=True).to_parquet(tmp, index=False)


def register(app: typer.Typer) -> None:
    """Add `trainyard prep` to the app."""
    app.command()(prep)
