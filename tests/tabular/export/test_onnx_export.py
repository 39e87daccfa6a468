"""ONNX export: the whole pipeline in one file, run by onnxruntime, checked against `trainyard predict`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import trainyard
from tests.conftest import shared
from trainyard.cli.app import app
from trainyard.data.synthetic import used_car_market

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")
from trainyard.tabular.export.onnx_export import export_onnx, onnx_feed  # noqa: E402

runner = CliRunner(env={"COLUMNS": "200"})


def _table(n: int, seed: int) -> pd.DataFrame:
    """Numbers with gaps and infinities, categories with a token for missing, tri-state words, a string label."""
    rng = np.random.default_rng(seed)
    size = rng.normal(100, 30, n)
    size[rng.random(n) < 0.05] = np.nan
    colour = rng.choice(["red", "green", "blue", "black", "NA"], n)
    heated = rng.choice(["ON", "OFF", "NotAvailable"], n)
    score = 0.02 * np.nan_to_num(size, nan=100) + (colour == "red") + (heated == "ON") + rng.normal(0, 0.3, n)
    grade = np.where(score > 3.5, "high", np.where(score > 2.5, "mid", "low"))
    return pd.DataFrame({"size": size, "colour": colour, "heated": heated, "price": np.exp(score), "grade": grade})


def _onnx_predict(path, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, onnx_feed(rows, session))))


@pytest.mark.parametrize("model", ["ridge", "lightgbm", "random_forest"])
def test_regression_with_a_log_target_runs_without_trainyard(model, tmp_path) -> None:
    frame = _table(1200, 0).drop(columns=["grade"])
    log = {"name": "log", "target": {"transform": "log"}}
    run = trainyard.train_run(frame, "price", runs=tmp_path, models=["dummy", model], tune=False,
                              ensemble=False, report=False, recipe=log)  # fmt: skip
    assert run.manifest["best"] == model
    done = export_onnx(run, tmp_path / "m.onnx")
    assert done.rows_checked > 100 and done.max_relative_difference < 1e-4 and done.labels_equal is None
    new = _table(300, 7).drop(columns=["grade", "price"])
    new.loc[:5, "colour"] = "purple"  # a level never seen
    new.loc[6:9, "size"] = np.inf
    got = _onnx_predict(tmp_path / "m.onnx", new)["prediction"].ravel()
    with pytest.warns(trainyard.TrainyardWarning):
        expected = run.predict(new)["prediction"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4)


@pytest.mark.parametrize("model", ["logistic", "lightgbm"])
def test_classes_come_back_as_labels(model, tmp_path) -> None:
    frame = _table(1500, 1).drop(columns=["price"])
    run = trainyard.train_run(frame, "grade", runs=tmp_path, models=["dummy", model], tune=False, ensemble=False,
                              report=False)  # fmt: skip
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, ["export", str(run.path), "--format", "onnx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "every label equal" in result.output and "largest relative difference" in result.output
    new = _table(200, 9).drop(columns=["price", "grade"])
    got = _onnx_predict(out, new)
    expected = run.predict(new)
    assert list(got["label"]) == list(expected["prediction"]) and set(got["label"]) == {"low", "mid", "high"}
    proba = expected[[f"proba_{c}" for c in run.classes]]
    np.testing.assert_allclose(got["probabilities"], proba, rtol=1e-4, atol=1e-6)


def test_a_real_table(tmp_path) -> None:
    adult = pd.read_csv(shared("adult", "train.csv")).sample(2000, random_state=0)
    run = trainyard.train_run(adult, "class", runs=tmp_path, models=["dummy", "lightgbm"], tune=False,
                              ensemble=False, report=False)  # fmt: skip
    done = export_onnx(run, tmp_path / "adult.onnx")
    assert done.labels_equal and done.max_relative_difference < 1e-4


def test_what_cannot_convert_is_named_and_nothing_is_written(tmp_path) -> None:
    market = used_car_market(600, seed=2)  # listing dates become date parts: no converter
    run = trainyard.train_run(market, "price", runs=tmp_path, models=["dummy", "ridge"], tune=False,
                              ensemble=False, report=False)  # fmt: skip
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, ["export", str(run.path), "-o", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    line = result.output.strip()
    assert line.startswith("error: ") and len(line.splitlines()) == 1
    assert "cannot export to ONNX: encoder branch" in line and "(DateParts)" in line and "nothing was written" in line
    assert not out.exists() and not list(tmp_path.glob("*.onnx*"))


def test_an_existing_file_is_kept(tmp_path) -> None:
    frame = _table(600, 3).drop(columns=["grade"])
    run = trainyard.train_run(frame, "price", runs=tmp_path, models=["dummy", "ridge"], tune=False, ensemble=False,
                              report=False)  # fmt: skip
    out = tmp_path / "m.onnx"
    out.write_text("mine")
    result = runner.invoke(app, ["export", str(run.path), "-o", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output and out.read_text() == "mine"
