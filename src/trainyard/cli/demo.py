"""``trainyard demo``: the main job on the embedded used-car market."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from trainyard.cli import options as opt
from trainyard.cli.render import print_schema
from trainyard.data.schema import profile
from trainyard.data.synthetic import used_car_market
from trainyard.io import atomic_path


def demo(
    out: opt.OutDir = Path("demo-output"),
    rows: int = typer.Option(20_000, "--rows", help="How many listings to generate."),
    seed: opt.Seed = 0,
) -> None:
    """Generate the embedded used-car market, write it to CSV, and profile it.

    Example: trainyard demo --out demo-output --rows 20000
    """
    console = Console()
    market = used_car_market(rows, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "used_cars.csv"
    with atomic_path(path) as tmp:
        market.to_csv(tmp, index=False)
    console.print(f"wrote {len(market):,} listings to [bold]{path}[/]")
    print_schema(console, profile(market, target="price"), f"{path}: the embedded used-car market")


def register(app: typer.Typer) -> None:
    app.command()(demo)
