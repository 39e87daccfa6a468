"""The public API: the names in ``__all__``, labels everywhere, the library doing what the command does."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trainyard


def own_docstring(obj: object) -> str:
    """The docstring ``obj`` was written with: not one inherited, and not the signature a dataclass writes
    for a class that has none (``Schema(columns: list[...], ...)``)."""
    doc = (vars(obj).get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)) or ""
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
        generated = obj.__name__ + str(inspect.signature(obj)).replace(" -> None", "")
        if doc.strip() == generated:
            return ""
    return doc.strip()


def test_every_public_name_resolves_and_is_documented() -> None:
    for name in trainyard.__all__:
        value = getattr(trainyard, name)
        if name != "__version__":
            assert own_docstring(value), f"{name} has no docstring of its own"
    assert trainyard.__version__ == metadata.version("trainyard")
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        trainyard.nosuch  # noqa: B018


def test_every_public_class_and_function_of_the_package_says_what_it_is_for() -> None:
    undocumented = []
    for info in pkgutil.walk_packages(trainyard.__path__, "trainyard."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            public = not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
            if public and (inspect.isclass(value) or inspect.isfunction(value)) and not own_docstring(value):
                undocumented.append(f"{module.__name__}.{name}")
    assert not undocumented, f"no docstring of their own: {undocumented}"


def test_a_dataclass_signature_is_not_a_docstring() -> None:
    @dataclasses.dataclass
    class Bare:
        rows: int
        name: str = ""

    @dataclasses.dataclass
    class Said:
        """What it is for."""

        rows: int

    assert Bare.__doc__ and not own_docstring(Bare)  # the dataclass wrote "Bare(rows: int, name: str = '')"
    assert own_docstring(Said) == "What it is for."


@pytest.mark.parametrize("module", ["trainyard", "trainyard.cli.app"])
def test_import_and_the_cli_load_no_heavy_library(module: str) -> None:
    """The structure, not the time: a command answers at once because nothing heavy loads before it runs."""
    code = (
        f"import sys, {module}; heavy = ['torch', 'skops', 'pymilvus', 'llama_cpp', 'dask', 'sklearn', 'pandas']; "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> tuple[trainyard.Run, pd.DataFrame]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=500), "b": rng.choice(["x", "y", "z"], 500)})
    frame["label"] = np.where(frame["a"] + (frame["b"] == "x") > 0.3, "keep", "churn")
    run = trainyard.train_run(
        frame,
        "label",
        runs=tmp_path_factory.mktemp("runs"),
        name="churn",
        models=["logistic", "lightgbm"],
        tune=False,
        report=False,
        seed=5,
    )
    return run, frame


def test_train_run_saves_and_returns_the_run(labelled) -> None:
    run, frame = labelled
    assert run.path.name == "churn" and (run.path / "files.json").exists()
    assert run.manifest["seed"] == 5 and run.result.seed == 5  # the seed is kept, not asked for again
    assert run.report is None  # report=False
    assert sorted(p.name for p in run.path.parent.iterdir()) == ["churn"]  # no partial or lock left
    with pytest.raises(trainyard.DataError, match="pass overwrite=True"):
        trainyard.train_run(frame, "label", runs=run.path.parent, name="churn", models=["logistic"])


def test_loaded_runs_and_their_models_predict_labels(labelled) -> None:
    run, frame = labelled
    loaded = trainyard.load_run(run.path)
    rows = frame.drop(columns="label").head(50)
    assert set(loaded.model.predict(rows)) <= {"churn", "keep"}
    assert list(loaded.model.classes_) == ["churn", "keep"]
    table = loaded.predict(rows)
    assert list(table.columns) == ["prediction", "proba_churn", "proba_keep"]
    assert table["prediction"].tolist() == loaded.model.predict(rows).tolist()
    assert trainyard.predict(loaded, rows).equals(table)
    odd = rows.assign(b=["w"] * 50)
    with pytest.warns(trainyard.TrainyardWarning, match="unseen categories: b"):
        loaded.predict(odd)


def test_the_ensemble_is_an_estimator(labelled) -> None:
    from trainyard.tabular.models.ensemble import EnsembleModel

    run, frame = labelled
    result = run.result
    members = [result.final_estimator()] * 2 if result.best.name != "ensemble" else result.final_estimator().members
    ensemble = EnsembleModel(members=members, weights=[0.5] * len(members), task=result.schema.task)
    X, codes = frame.drop(columns="label"), (frame["label"] == "keep").astype(int)
    assert ensemble.fit(X, codes).predict(X).shape == (500,)
    assert np.allclose(ensemble.predict_proba(X).sum(axis=1), 1) and list(ensemble.classes_) == [0, 1]


def test_one_pipeline_from_a_schema_without_a_training_job(labelled) -> None:
    _, frame = labelled
    schema = trainyard.profile(frame, "label")
    pipeline = trainyard.tabular_pipeline(schema, "lightgbm", params={"n_estimators": 50})
    X, codes = frame.drop(columns="label"), (frame["label"] == "keep").astype(int)
    assert pipeline.fit(X, codes).score(X, codes) > 0.8


def test_library_errors_name_parameters_and_the_cli_names_flags(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trainyard.cli.app import app

    frame = pd.DataFrame({"a": range(100), "y": [1.0, 2.0] * 50})
    with pytest.raises(trainyard.SchemaError, match=r"time_limit=2 is too small"):
        trainyard.train(frame, "y", time_limit=2)
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(tmp_path / "t.csv"),
            "--target",
            "y",
            "--models",
            "knn",
            "--runs",
            str(tmp_path),
            "--time-limit",
            "3",
        ],
    )
    assert result.exit_code == 2 and "--time-limit 3 leaves" in result.stderr and "time_limit=" not in result.stderr
