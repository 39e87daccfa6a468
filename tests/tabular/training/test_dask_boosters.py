"""Tables larger than memory: lazy reading and the Dask-capable boosters on a real LocalCluster."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from trainyard.cli.app import app
from trainyard.data.lazy import read_lazy
from trainyard.errors import DataError, SchemaError
from trainyard.tabular.training.dask_boosters import train_lazy

pytestmark = pytest.mark.slow  # a Dask cluster

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def cars_csv(cars_small: pd.DataFrame, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lazy")
    for i, part in enumerate((cars_small.iloc[:1500], cars_small.iloc[1500:])):  # two files, one table
        part.to_csv(folder / f"cars-{i}.csv", index=False)
    return folder


def test_lazy_read_is_a_dask_frame_of_every_file(cars_csv, cars_small):
    frame = read_lazy(cars_csv)
    assert type(frame).__module__.startswith("dask") and int(frame.shape[0].compute()) == len(cars_small)
    assert list(frame.columns) == list(cars_small.columns)


def test_boosters_train_on_the_cluster(cars_csv):
    result = train_lazy(read_lazy(cars_csv), "price", cluster="local:2", n_estimators=100)
    assert {e.name for e in result.entries} == {"xgboost", "lightgbm"}
    assert all(e.ok and e.test["r2"] > 0.8 for e in result.entries), result.entries
    assert result.entries[0].test["r2"] >= result.entries[1].test["r2"]
    assert "make" in result.features and result.rows == 3000


def test_refusals_are_one_line(cars_csv, tmp_path):
    with pytest.raises(SchemaError, match="ridge cannot train on a lazy table: only lightgbm and xgboost"):
        train_lazy(read_lazy(cars_csv), "price", models=["xgboost", "ridge"])
    (tmp_path / "a.xlsx").write_bytes(b"x")
    with pytest.raises(DataError, match="lazy reading supports CSV and Parquet"):
        read_lazy(tmp_path / "a.xlsx")
    result = runner.invoke(app, ["train", str(cars_csv), "--target", "price", "--lazy", "--models", "ridge"])
    assert result.exit_code == 2 and "cannot train on a lazy table" in result.stderr


def test_cli_lazy_prints_the_holdout_scores(cars_csv):
    result = runner.invoke(app, ["train", str(cars_csv), "--target", "price", "--lazy", "--models", "lightgbm"])
    assert result.exit_code == 0, result.output
    assert "3,000 rows" in result.stdout and "lightgbm" in result.stdout and "holdout" in result.stdout
