"""``trainyard prep``: the plan as a table and as JSON, the prepared Parquet file, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from trainyard.cli.app import app

runner = CliRunner(env={"COLUMNS": "200"})


def test_prep_prints_the_plan_and_writes_parquet(tmp_path: Path, market: pd.DataFrame) -> None:
    path = tmp_path / "market.csv"
    market.to_csv(path, index=False)
    out = tmp_path / "prepared.parquet"
    result = runner.invoke(app, ["prep", str(path), "--target", "price", "--recipe", "notes-winning", "-o", str(out)])
    assert result.exit_code == 0, result.output
    for text in (
        "preprocessing plan (recipe notes-winning)",
        "free text without a clear pattern",
        "ON / OFF / NotAvailable",
        "features after preprocessing",
        "split (stratified by make)",
        "fresh",
        "make shares",
    ):
        assert text in result.stdout, text
    prepared = pd.read_parquet(out)
    assert set(prepared["split"]) == {"train", "test", "fresh"}
    assert "mileage_exp" in prepared.columns and prepared["price"].notna().all()


def test_prep_json(tmp_path: Path, market: pd.DataFrame) -> None:
    path = tmp_path / "market.parquet"
    market.to_parquet(path)
    result = runner.invoke(app, ["prep", str(path), "--target", "price", "--json"])
    plan = json.loads(result.stdout)
    assert plan["recipe"] == "auto" and plan["n_features"] == len(plan["features"])
    assert plan["split"]["fresh_period"] == "2026-10..2026-11"


def test_prep_bad_recipe_column(tmp_path: Path, market: pd.DataFrame) -> None:
    path = tmp_path / "market.csv"
    market.drop(columns=["make"]).to_csv(path, index=False)
    result = runner.invoke(app, ["prep", str(path), "--target", "price", "--recipe", "notes-winning"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: recipe [split] stratify: unknown column 'make'")
