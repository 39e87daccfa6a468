"""Runs: saved atomically, loaded safely, and predictions after checking new rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trainyard.cli.app import app
from trainyard.errors import DataError, SchemaError
from trainyard.tabular.runs.predict import check_rows, predict_with_notes
from trainyard.tabular.runs.store import load_run, save_run
from trainyard.tabular.training.trainer import train

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def result(market: pd.DataFrame):
    """Models fitted on the training rows only, so that the run predicts the test rows as scored."""
    return train(market.head(1200), "price", models=["dummy", "ridge", "lightgbm"], tune=False, refit_full=False)


def test_the_saved_model_learns_from_every_labelled_row(market: pd.DataFrame, tmp_path: Path) -> None:
    rows = market.head(1500)
    result = train(rows, "price", models=["dummy", "ridge"], tune=False, ensemble=False)
    split = result.split
    assert len(split.test) and len(split.fresh)
    assert result.trained_on["rows"] == len(rows) and result.trained_on["sets"] == ["train", "test", "fresh"]
    run = load_run(save_run(result, tmp_path / "cars"))
    scaler = run.estimator.named_steps["prep"].named_steps["encode"].named_transformers_["numeric"][-1]
    assert scaler.n_samples_seen_ == len(rows)  # the refit saw train, test and fresh rows
    assert json.loads((run.path / "manifest.json").read_text())["trained_on"]["rows"] == len(rows)
    held_out = train(rows, "price", models=["dummy", "ridge"], tune=False, ensemble=False, refit_full=False)
    assert held_out.trained_on["rows"] == len(split.train)
    assert held_out.best.test == result.best.test  # the scores are those of the held-out rows either way


def test_run_directory_round_trip(result, tmp_path: Path, market: pd.DataFrame) -> None:
    path = save_run(result, tmp_path / "cars")
    assert {p.name for p in path.iterdir()} >= {
        "manifest.json",
        "schema.json",
        "model.skops",
        "leaderboard.csv",
        "leaderboard.json",
        "metrics.json",
        "plan.json",
        "predictions",
    }
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["best"] == result.best.name and manifest["versions"]["scikit-learn"]
    assert len(manifest["data"]["fingerprint"]) == 16
    run = load_run(path)
    rows = result.frame.iloc[result.split.test]
    predictions, notes = predict_with_notes(run, rows.drop(columns="price"))
    expected = result.results[result.best.name].test_output
    assert predictions["prediction"].to_numpy() == pytest.approx(expected)
    assert (path / "predictions" / "test.parquet").exists() and (path / "predictions" / "fresh.parquet").exists()
    assert not list(tmp_path.glob(".*tmp*"))


def test_existing_run_is_not_overwritten(result, tmp_path: Path) -> None:
    path = save_run(result, tmp_path / "cars")
    before = (path / "manifest.json").read_text()
    with pytest.raises(DataError, match=r"the run exists; pass overwrite=True"):
        save_run(result, path)
    assert (path / "manifest.json").read_text() == before
    save_run(result, path, overwrite=True)


def test_rows_are_checked_against_the_schema(result, market: pd.DataFrame) -> None:
    rows = market.head(20).drop(columns="price").assign(extra=1)
    rows.loc[0, "make"] = "tesla"
    rows.loc[1, "mileage"] = 10_000_000
    rows.loc[2, "make"] = "NA"  # says "missing": read as missing, not counted as a level never seen
    checked = check_rows(rows, result.schema)
    assert checked.unseen == {"make": 1} and checked.out_of_range["mileage"] == 1
    assert any("extra" in n for n in checked.notes)
    with pytest.raises(SchemaError, match=r"the rows lack column\(s\) make, model"):
        check_rows(rows.drop(columns=["make", "model"]), result.schema)


def test_text_in_a_numeric_column_names_the_row(result, market: pd.DataFrame, tmp_path: Path) -> None:
    rows = market.iloc[1500:1504].drop(columns="price").astype({"mileage": object})
    rows.iloc[1, rows.columns.get_loc("mileage")] = "?"  # a missing-value token passes
    checked = check_rows(rows, result.schema)
    assert checked.rows["mileage"].dtype == float and checked.rows["mileage"].isna().sum() == 1
    rows.iloc[2, rows.columns.get_loc("mileage")] = "about 40k"
    with pytest.raises(SchemaError, match=r"column 'mileage', row 3 of the new rows: 'about 40k' is not a number"):
        check_rows(rows, result.schema)
    path = save_run(result, tmp_path / "run")
    rows.to_csv(tmp_path / "rows.csv", index=False)
    out = runner.invoke(app, ["predict", str(path), str(tmp_path / "rows.csv")])
    assert out.exit_code == 2 and "'about 40k' is not a number" in out.stderr and "Traceback" not in out.output


def test_damaged_run(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with pytest.raises(DataError, match=r"not a trainyard run \(no manifest.json\)"):
        load_run(tmp_path / "run")


DAMAGE = {
    "model.skops": lambda data: data[: len(data) // 2],  # truncated
    "schema.json": lambda data: b"\xff\xfe garbage \x00" * 4,
    "predictions/test.parquet": lambda data: data[:100],
    "samples/test_rows.parquet": lambda data: b"",  # zero bytes
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_a_damaged_file_is_one_line_naming_it(result, tmp_path: Path, market: pd.DataFrame, name: str) -> None:
    path = save_run(result, tmp_path / "run")
    damaged = path / name
    damaged.write_bytes(DAMAGE[name](damaged.read_bytes()))
    with pytest.raises(DataError, match=rf"{name}: damaged \(.*\); train the run again"):
        load_run(path)
    rows = tmp_path / "rows.csv"
    market.iloc[1500:1505].drop(columns="price").to_csv(rows, index=False)
    for args in (["predict", str(path), str(rows)], ["report", str(path)]):
        out = runner.invoke(app, args)
        assert out.exit_code == 2 and "Traceback" not in out.output, (args, out.output)
        assert f"{name}: damaged" in " ".join(out.stderr.split())


def test_a_missing_file_or_file_list_is_named(result, tmp_path: Path) -> None:
    path = save_run(result, tmp_path / "run")
    listed = json.loads((path / "files.json").read_text())
    assert {"model.skops", "schema.json", "manifest.json", "predictions/test.parquet"} <= set(listed)
    (path / "metrics.json").unlink()
    with pytest.raises(DataError, match=r"metrics\.json: missing from the run"):
        load_run(path)
    (path / "files.json").write_text("{not json")
    with pytest.raises(DataError, match=r"files\.json: the run's file list is damaged"):
        load_run(path)


def test_cli_train_and_predict(tmp_path: Path, market: pd.DataFrame) -> None:
    data = tmp_path / "cars.csv"
    market.head(1000).to_csv(data, index=False)
    runs = tmp_path / "runs"
    result = runner.invoke(
        app, ["train", str(data), "-t", "price", "--models", "dummy,ridge", "--runs", str(runs), "--no-tune"]
    )
    assert result.exit_code == 0, result.output
    assert "leaderboard: price" in result.stdout and (runs / "cars" / "model.skops").exists()
    again = runner.invoke(app, ["train", str(data), "-t", "price", "--runs", str(runs)])
    assert again.exit_code == 2 and "the run exists" in again.stderr
    new = tmp_path / "new.csv"
    market.tail(10).drop(columns="price").to_csv(new, index=False)
    out = tmp_path / "p.csv"
    predicted = runner.invoke(app, ["predict", str(runs / "cars"), str(new), "-o", str(out)])
    assert predicted.exit_code == 0, predicted.output
    assert len(pd.read_csv(out)) == 10
    bad = tmp_path / "bad.csv"
    market.tail(5).drop(columns=["price", "year"]).to_csv(bad, index=False)
    failed = runner.invoke(app, ["predict", str(runs / "cars"), str(bad)])
    assert failed.exit_code == 2 and "lack column(s) year" in failed.stderr


def test_interrupted_run_resumes(tmp_path: Path, market: pd.DataFrame) -> None:
    from trainyard.tabular.runs.store import PartialRun

    frame = market.head(600)
    key = {"data": "x", "seed": 0}
    first = PartialRun(tmp_path / "cars", key)
    train(frame, "price", models=["dummy", "ridge"], tune=False, ensemble=False, checkpoint=first)
    saved = json.loads((first.path / "leaderboard.json").read_text())
    assert set(saved) == {"dummy", "ridge"}  # the leaderboard so far, after every model
    events = []
    again = train(
        frame,
        "price",
        models=["dummy", "ridge", "lasso"],
        tune=False,
        ensemble=False,
        checkpoint=PartialRun(tmp_path / "cars", key),
        resume=True,
        progress=lambda kind, info: events.append((kind, info.get("model"), info.get("message", ""))),
    )
    assert ("result", "ridge", "resumed: finished before") in events
    assert {e.name for e in again.entries} == {"dummy", "ridge", "lasso"}
    with pytest.raises(DataError, match="used other data, seed or recipe"):
        train(frame, "price", models=["dummy"], checkpoint=PartialRun(tmp_path / "cars", {"data": "y"}), resume=True)


def test_check_rows_counts_the_same_on_few_and_many_rows(result) -> None:
    """Requests of a few rows take a per-value path; it must count what the vectorised one counts."""
    from trainyard.tabular.prep.base import SMALL_FRAME

    rows = result.frame.drop(columns="price").head(200).copy()
    rows.loc[rows.index[::7], "make"] = "tesla"
    rows.loc[rows.index[::11], "mileage"] = 10**9
    assert len(rows) > SMALL_FRAME
    whole = check_rows(rows, result.schema)
    pieces = [check_rows(rows.iloc[i : i + 50], result.schema) for i in range(0, 200, 50)]
    for field in ("unseen", "out_of_range"):
        summed: dict[str, int] = {}
        for piece in pieces:
            for column, count in getattr(piece, field).items():
                summed[column] = summed.get(column, 0) + count
        assert summed == getattr(whole, field) and summed, field


def test_a_few_rows_take_the_compiled_model_and_answer_as_the_pipelines(car_run) -> None:
    import numpy as np

    from trainyard.tabular.runs.predict import predict_frame

    run = load_run(car_run)
    rows = run.sample_rows().head(5)
    fast = run.predict(rows)
    assert run.compiled is not None and run.compiled[0] is not None, run.compiled
    slow = predict_frame(run, check_rows(rows, run.schema).rows, compiled=False)
    np.testing.assert_allclose(fast["prediction"], slow["prediction"], rtol=1e-5)
    many = run.sample_rows()
    assert len(many) > 64  # above SMALL_FRAME the pipelines answer, compiled or not
    pd.testing.assert_frame_equal(run.predict(many), predict_frame(run, check_rows(many, run.schema).rows))
