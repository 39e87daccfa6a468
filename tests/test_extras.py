"""Extras per wing: a missing one is one line naming what is missing and the exact pip command."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from trainyard.cli.app import app
from trainyard.extras import MissingExtraError, available, require

runner = CliRunner(env={"COLUMNS": "200"})


HIDDEN: set[str] = set()


@pytest.fixture
def hide(monkeypatch):
    """Modules to treat as not installed. The check is hidden from, not sys.modules: scipy and others probe
    sys.modules for torch themselves. `make core-check` tries the real thing: the core wheel in a fresh venv."""
    import trainyard.extras as extras

    real = extras._importable
    monkeypatch.setattr(extras, "_importable", lambda name: name not in HIDDEN and real(name))
    HIDDEN.clear()
    yield HIDDEN.update
    HIDDEN.clear()


@pytest.fixture
def no_torch(hide):
    hide({"torch"})
    return hide


def test_a_missing_extra_is_one_line_with_the_install_command(no_torch) -> None:
    assert not available("mlp") and not available("lm") and available("serve")
    with pytest.raises(
        MissingExtraError,
        match=r"the MLP needs torch, which is not installed: "
        r"pip install 'trainyard\[mlp\]'",
    ):
        require("mlp", "the MLP")
    assert issubclass(MissingExtraError, ImportError)  # what a Python user would catch


def test_the_catalog_skips_a_model_whose_extra_is_missing(no_torch) -> None:
    from trainyard.tabular.models.catalog import select

    specs, notes = select("regression")
    assert "mlp" not in [s.name for s in specs]
    assert "mlp: skipped, its extra is not installed: pip install 'trainyard[mlp]'" in notes
    with pytest.raises(MissingExtraError, match=r"the model 'mlp' needs torch"):
        select("regression", ["mlp"])


def test_commands_of_a_missing_wing_say_what_to_install(no_torch, tmp_path) -> None:
    result = runner.invoke(app, ["lm", "train", str(tmp_path), "-o", str(tmp_path / "ckpt")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        result.stderr.strip() == "error: trainyard lm needs torch, which is not installed: pip install 'trainyard[lm]'"
    )
    no_torch({"fastapi"})
    result = runner.invoke(app, ["serve", str(tmp_path)])
    assert result.exit_code == 2 and "pip install 'trainyard[serve]'" in result.stderr
    no_torch({"bm25s"})
    result = runner.invoke(app, ["search", "query", str(tmp_path), "x"])
    assert result.exit_code == 2 and result.stderr.strip().endswith("pip install 'trainyard[search]'")


def test_mlflow_and_onnx_name_their_extras(hide, tmp_path, market) -> None:
    table = tmp_path / "cars.csv"
    market.head(300).to_csv(table, index=False)
    hide({"mlflow", "onnxruntime"})
    result = runner.invoke(app, ["train", str(table), "-t", "price", "--runs", str(tmp_path), "--mlflow", "local"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip() == (
        "error: logging to MLflow (--mlflow) needs mlflow, which is not installed: pip install 'trainyard[mlflow]'"
    )
    assert not (tmp_path / "cars").exists()  # refused before any training
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and result.stderr.strip().endswith("pip install 'trainyard[onnx]'")
