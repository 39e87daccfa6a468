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
    assert "cannot export to ONNX: no ONNX form for encoder branch" in line and "(DateParts)" in line
    assert "nothing was written" in line
    assert not out.exists() and not list(tmp_path.glob("*.onnx*"))


def test_an_existing_file_is_kept(tmp_path) -> None:
    frame = _table(600, 3).drop(columns=["grade"])
    run = trainyard.train_run(frame, "price", runs=tmp_path, models=["dummy", "ridge"], tune=False, ensemble=False,
                              report=False)  # fmt: skip
    out = tmp_path / "m.onnx"
    out.write_text("mine")
    result = runner.invoke(app, ["export", str(run.path), "-o", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output and out.read_text() == "mine"


def test_an_ensemble_exports_as_one_graph_of_its_members(tmp_path) -> None:
    frame = _table(1200, 3).drop(columns=["grade"])
    run = trainyard.train_run(frame, "price", runs=tmp_path, models=["ridge", "lightgbm", "random_forest"],
                              tune=False, report=False)  # fmt: skip
    assert run.manifest["best"] == "ensemble", run.manifest["best"]
    done = export_onnx(run, tmp_path / "m.onnx")
    assert done.max_relative_difference < 1e-4
    new = _table(200, 8).drop(columns=["grade", "price"])
    got = _onnx_predict(tmp_path / "m.onnx", new)["prediction"].ravel()
    np.testing.assert_allclose(got, run.predict(new)["prediction"].to_numpy(), rtol=1e-4)


def test_the_readme_snippet_runs_as_a_plain_script_on_integer_columns(tmp_path) -> None:
    """The README's onnxruntime lines, run by a plain Python process on a CSV whose whole numbers pandas reads
    as int64, give trainyard's predictions."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    snippet = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "onnxruntime" in b)
    frame = used_car_market(1500, seed=0).drop(columns=["listing_date", "seller_comment", "listing_id"])
    frame["doors"] = np.random.default_rng(0).choice([3, 5], len(frame))  # whole numbers: int64 in pandas
    run = trainyard.train_run(frame.head(1200), "price", runs=tmp_path, models=["dummy", "ridge"], tune=False,
                              ensemble=False, report=False)  # fmt: skip
    export_onnx(run, tmp_path / "cars.onnx")
    new = frame.iloc[1200:].drop(columns=["price"])
    new.to_csv(tmp_path / "new_cars.csv", index=False)
    assert pd.read_csv(tmp_path / "new_cars.csv")["doors"].dtype == np.int64
    script = snippet.replace(
        "print(session.run(None, feed))", "import numpy; numpy.save('got.npy', session.run(None, feed)[0])"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = run.predict(pd.read_csv(tmp_path / "new_cars.csv"))["prediction"].to_numpy()
    np.testing.assert_allclose(np.load(tmp_path / "got.npy").ravel(), expected, rtol=1e-4)
