"""Every step and every model that trainyard can save loads back and answers the same.

A generated table makes every preprocessing step fire (numbers in text, several numbers in one cell, dates
with times, free text, tri-state words, a high-cardinality column, rare levels, missing tokens, an ordered
category, a skewed positive target, correlated columns, a constant, an id, a mostly-missing column). Every
catalog model of both task kinds is fitted on it under the auto recipe, and a model of each kind of input
needs under every other recipe, each written and read back through the functions ``save_run`` uses (its
trust rules included) and compiled as the server compiles it. The steps and third-party types the walk wrote are
compared with what the code declares: a step class added to trainyard fails here until the walk makes it
fire and it loads; a third-party type written but not listed, or listed but never written, fails too.
The user's own paths (``trainyard train``, ``trainyard predict``, ``load_run``, the server) are walked on
the README's ``number_in_text`` example and on a classification table through the same steps.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

import trainyard.tabular.models
import trainyard.tabular.prep
from tests.tabular.models.test_catalog import QUICK
from trainyard.data.schema import profile
from trainyard.tabular.models.catalog import catalog
from trainyard.tabular.models.compiled import NotCompiled, check_compiled, compile_model
from trainyard.tabular.models.ensemble import EnsembleModel
from trainyard.tabular.models.pipeline import tabular_pipeline
from trainyard.tabular.prep.base import FrameTransformer
from trainyard.tabular.recipe import SHIPPED, load_recipe
from trainyard.tabular.runs.store import check_saved_model
from trainyard.tabular.runs.trust import PIPELINE_TYPES, dump_model, third_party_types, trusted
from trainyard.tabular.saved import is_saved, qualified_name

# Recipes beyond the shipped ones, so that every option's step fires somewhere: text as TF-IDF, a log
# feature, the correlation filter, PCA and k-best selection (k-NN then has few enough features for its
# k-d tree), target encoding everywhere; then min-max scaling, word themes, interactions, kernel PCA;
# then ordinal codes, dates dropped, L1 selection and a log target.
EXTRA_RECIPES = [
    {
        "name": "kitchen",
        "clean": {"drop_roles": ["id", "constant"]},
        "encode": {"categorical": "target", "text": "tfidf", "scale": "robust"},
        "features": {"log": ["year"], "correlation_threshold": 0.95, "reduce": "pca", "select": "kbest", "k": 8},
    },
    {
        "name": "others",
        "clean": {"drop_roles": ["id", "constant"]},
        "encode": {"scale": "minmax", "text": "words"},
        "features": {"interactions": True, "reduce": "kernel_pca"},
    },
    {
        "name": "ordinal",
        "encode": {"categorical": "ordinal", "datetime": "drop"},
        "features": {"select": "l1"},
        "target": {"transform": "log"},
    },
]
# Classes of tabular/prep and tabular/models that no model file holds, and why.
NEVER_WRITTEN = {
    "trainyard.tabular.prep.base.FrameTransformer": "the steps' base class; only its subclasses are fitted",
    "trainyard.tabular.prep.build.ModelNeeds": "what a model asks of its inputs: read while building",
    "trainyard.tabular.prep.build.Layout": "the columns by role: read while building",
    "trainyard.tabular.prep.plan.PlanStep": "the plan is JSON (plan.json), never a model",
    "trainyard.tabular.prep.plan.Plan": "the plan is JSON (plan.json), never a model",
    "trainyard.tabular.prep.prepare.Prepared": "the result of `trainyard prep`, written as tables",
    "trainyard.tabular.models.catalog.ModelSpec": "the catalog's entries: code, not state",
    "trainyard.tabular.models.early_stopping.Stopping": "how a catalog entry stops early: code, not state",
    "trainyard.tabular.models.ensemble.LabelledModel": "wraps a loaded model in the user's labels, never saved",
    "trainyard.tabular.models.torch_mlp._TorchMLP": "the MLPs' base; only its two subclasses are fitted",
    "trainyard.tabular.prep.arrays.NoArrayForm": "an exception: a step without an array form, never fitted",
    "trainyard.tabular.models.compiled.CompiledModel": "built from a loaded run at serving time, never saved",
    "trainyard.tabular.models.compiled.CompiledPrep": "part of a CompiledModel, never saved",
    "trainyard.tabular.models.compiled.CompiledMember": "part of a CompiledModel, never saved",
    "trainyard.tabular.models.compiled.NotCompiled": "an exception: what a model cannot be compiled for",
}
TASKS = ("regression", "multiclass")
FITTED = 130  # of the table's 160 rows: the rest are the rows each saved model is checked on
# A recipe whose types do not depend on the task is walked for one task (the walk's time is CI's): the log
# target and L1 selection by Lasso are regression's, the others alternate. Unnamed recipes: both tasks.
RECIPE_TASKS = {
    "notes-basic": ("multiclass",),
    "notes-winning": ("regression",),
    "others": ("multiclass",),
    "ordinal": ("regression",),
}


def every_step_table(task: str, n: int = 160, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """A table whose columns make every step of every recipe fire; ``task`` picks the target."""
    rng = np.random.default_rng(seed)
    mileage = rng.integers(1_000, 150_000, n)
    year = rng.integers(2005, 2025, n)
    hp = rng.choice([90, 110, 150, 190, 250, 300], n)
    quality = rng.choice(["excellent", "tidy", "needs work"], n)
    seats, first_half = rng.choice([2.0, 4.0, 5.0], n), np.arange(n) < n // 2
    start = dt.datetime(2024, 1, 1)
    sold = [
        start + dt.timedelta(days=int(d), minutes=int(m))
        for d, m in zip(rng.integers(0, 365, n), rng.integers(480, 1200, n))
    ]
    words = rng.choice(
        "lovely drive clean inside viewing welcome genuine reason call anytime full history".split(), (n, 6)
    )
    value = (
        30_000 * np.exp(-0.08 * (2025 - year)) - 0.05 * mileage + 40 * hp
        + np.where(quality == "needs work", -4_000, 0) + rng.normal(0, 500, n)
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            "listing": np.arange(100_000, 100_000 + n),  # an id
            "mileage": [f"{m:,} mi." for m in mileage],  # one number in text (the README's example)
            "engine": [f"{h}.0HP {h / 80:.1f}L 4 Cylinder" for h in hp],  # several numbers in one cell
            "sold_at": [s.strftime("%Y-%m-%d %H:%M") for s in sold],  # dates with times
            "comment": [f"{q} car, " + " ".join(w) for q, w in zip(quality, words)],  # free text
            "navigation": rng.choice(["ON", "OFF", "NotAvailable"], n),  # tri-state words
            "postcode": [f"PC{i}" for i in rng.integers(0, 80, n)],  # high cardinality
            "colour": rng.choice(["black", "white", "grey", "teal", "mauve"], n, p=[0.32, 0.32, 0.32, 0.02, 0.02]),
            "doors": rng.choice(["3", "5", "NA", "-"], n),  # missing tokens
            "trim": rng.choice(["low", "medium", "high"], n),  # an ordered category
            "year": year,
            "year_registered": year + (rng.random(n) < 0.1),  # correlated with year
            "seats": np.where(first_half, seats, np.nan),  # one column split in two, to coalesce
            "seats2": np.where(first_half, np.nan, seats),
            "country": "UK",  # a constant
            "weight": np.where(rng.random(n) < 0.6, np.nan, rng.normal(1400, 200, n)),  # mostly missing
        }
    )
    if task == "regression":
        frame["price"] = np.round(np.maximum(value, 500) ** 1.3 / 50)  # skewed, positive
        return frame, "price"
    frame["band"] = np.array(["cheap", "mid", "dear"])[np.searchsorted(np.quantile(value, [1 / 3, 2 / 3]), value)]
    return frame, "band"


def _steps(model) -> list:
    """Every fitted object inside a pipeline, ensemble or column transformer, depth first."""
    found = [model]
    if isinstance(model, EnsembleModel):
        for member in model.members:
            found += _steps(member)
    elif isinstance(model, Pipeline):
        for _, step in model.steps:
            found += _steps(step)
    elif isinstance(model, ColumnTransformer):
        for _, step, _ in model.transformers_:
            if not isinstance(step, str):
                found += _steps(step)
    elif hasattr(model, "regressor_"):  # a transformed target
        found += _steps(model.regressor_)
    return found


def _models_per_needs(task: str) -> list[str]:
    """The cheapest catalog model for each kind of input needs (scaled, trees, native categories, one-hot), and
    every k-NN: it saves its search tree and metric only on few features (recipes that reduce them), and each
    entry lists the types it saves then."""
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    chosen: dict[object, str] = {}
    neighbours = {n for n, s in catalog(task).items() if s.factory in (KNeighborsClassifier, KNeighborsRegressor)}
    for name, spec in sorted(catalog(task).items(), key=lambda item: item[1].cost):
        chosen.setdefault(spec.needs, name)
    return sorted({*chosen.values(), *neighbours})


def _fits():
    """(label, task, fitted model, check rows, classes) for every catalog model under the auto recipe and a model
    of each input needs under every other recipe, plus an ensemble per task."""
    for task in TASKS:
        frame, target = every_step_table(task)
        schema = profile(frame, target)
        assert schema.task == task
        X, y = frame.drop(columns=target), frame[target]
        classes = None if task == "regression" else sorted(y.unique())
        codes = y.to_numpy(float) if classes is None else y.map({c: i for i, c in enumerate(classes)}).to_numpy()
        recipes = [load_recipe(r) for r in [*SHIPPED, *EXTRA_RECIPES]]
        for recipe in [r for r in recipes if task in RECIPE_TASKS.get(r.name, TASKS)]:
            names = list(catalog(task)) if recipe.name == "auto" else _models_per_needs(task)
            members = []
            for name in names:
                log = task == "regression" and recipe.target.transform == "log"
                pipeline = tabular_pipeline(
                    schema,
                    name,
                    recipe,
                    params=QUICK.get(name, {}),
                    log=log,
                    nonnegative=task == "regression" and not log,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # convergence chatter on a small table
                    pipeline.fit(X.iloc[:FITTED], codes[:FITTED])
                members.append(pipeline)
                yield f"{task}/{recipe.name}/{name}", task, pipeline, X.iloc[FITTED:], classes
            if recipe.name == "auto":
                ensemble = EnsembleModel(members=members[1:5], weights=[0.1, 0.2, 0.3, 0.4], task=task)
                yield f"{task}/auto/ensemble", task, ensemble, X.iloc[FITTED:], classes


@pytest.fixture(scope="module")
def walked(tmp_path_factory) -> dict[str, Any]:
    """Each fit written, loaded back by save_run's check and compiled as the server compiles it; what it named."""
    folder = tmp_path_factory.mktemp("every-step")
    named: dict[str, Any] = {"steps": set(), "types": set(), "by_fit": {}}
    for i, (label, task, model, rows, classes) in enumerate(_fits()):
        file = folder / f"{i}.skops"
        dump_model(model, file)
        check = check_saved_model(file, model, rows, task, classes)  # raises, naming the type, on any refusal
        assert check["rows"] == len(rows) and check["largest_difference"] <= 1e-6, label
        _served_answers_the_same(label, model, task, len(classes or []), rows)
        named["by_fit"][label] = set(sio.get_untrusted_types(file=file))
        named["types"] |= named["by_fit"][label]
        named["steps"] |= {qualified_name(type(step)) for step in _steps(model)}
    return named


def _served_answers_the_same(label: str, model, task: str, n_classes: int, rows: pd.DataFrame) -> None:
    """Every fit compiles (each step's array form, each model fed arrays or plain rows) and the compiled model
    agrees with the pipelines, as ``compile_run`` checks before serving."""
    from trainyard.tabular.models.output import predict_output

    try:
        compiled = compile_model(model, task, n_classes)
    except NotCompiled as err:
        raise AssertionError(f"{label} does not compile: {err}") from None
    if isinstance(model, EnsembleModel):
        expected = model.predict_output(rows)
    else:
        expected = predict_output(model, rows, task, n_classes)
    for subset in (rows.iloc[:1], rows):  # one row takes the compiled trees, many the pipelines' own models
        assert check_compiled(compiled, lambda r: expected[: len(r)], subset) == "", label


def test_every_step_class_fires_in_the_walk_and_is_saved(walked) -> None:
    for info in pkgutil.walk_packages(trainyard.tabular.prep.__path__, "trainyard.tabular.prep."):
        importlib.import_module(info.name)  # every step class defined, not only those the walk imported
    steps = {qualified_name(c) for c in _subclasses(FrameTransformer)}
    assert steps, "the walk found no step classes"
    missing = sorted(steps - walked["steps"])
    assert not missing, f"steps the walk never fitted (make the table or a recipe fire them): {missing}"
    assert all(is_saved(name) for name in steps)


def test_every_third_party_type_written_is_listed_and_every_listed_one_is_written(walked) -> None:
    """Each model file names only the pipelines' types and its own model's (its catalog entry's ``saved_types``),
    and every listed type is written by a fit of the model that lists it."""
    written: dict[str, set[str]] = {}  # catalog name -> the third-party types its fits named
    for label, types in walked["by_fit"].items():
        task, name = label.split("/")[0], label.split("/")[-1]
        theirs = {t for t in types if not t.startswith("trainyard.")}
        if name == "ensemble":  # its members' types: checked in the members' own fits
            assert theirs <= third_party_types(), label
            continue
        own = set(catalog(task)[name].saved_types)
        unlisted = sorted(theirs - PIPELINE_TYPES - own)
        assert not unlisted, f"{label} wrote types neither its entry nor the pipelines list: {unlisted}"
        written.setdefault(name, set()).update(theirs)
    for task in TASKS:
        for name, spec in catalog(task).items():
            missing = set(spec.saved_types) - written.get(name, set())
            assert not missing, f"{name} lists types none of its fits wrote: {sorted(missing)}"
    every = set().union(*written.values())
    assert PIPELINE_TYPES <= every, f"listed but never written: {sorted(PIPELINE_TYPES - every)}"
    ours = {t for t in walked["types"] if t.startswith("trainyard.")}
    assert ours and all(trusted(t) for t in ours)


def test_every_class_of_prep_and_models_is_saved_or_named_as_never_written() -> None:
    undecided = []
    for package in (trainyard.tabular.prep, trainyard.tabular.models):
        for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                name = qualified_name(obj)
                if obj.__module__ == module.__name__ and not is_saved(name) and name not in NEVER_WRITTEN:
                    undecided.append(name)
    assert not undecided, f"mark them @saved (trainyard.tabular.saved) or name them in NEVER_WRITTEN: {undecided}"
    assert all(not is_saved(name) for name in NEVER_WRITTEN)


def test_a_name_that_only_looks_like_ours_is_not_trusted() -> None:
    for name in (
        "trainyard.tabular.prep.clean.np",  # a module object inside our module
        "trainyard.tabular.prep.clean.ParseNumbers.__init__",
        "trainyard.tabular.prep.nothing.Here",
        "trainyard.tabular.prep.base.FrameTransformer",  # the base class is never fitted
        "trainyard.errors.DataError",
        "trainyard.tabular.prep.",
    ):
        assert not trusted(name), name


def _subclasses(cls) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


# --- the paths users walk -----------------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("trainyard")  # the console script a user runs
    return subprocess.run([str(command), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_readme_number_in_text_example_trains_predicts_and_serves(tmp_path: Path) -> None:
    """The README's ``mileage = "51,000 mi."``: trained and saved by the CLI, predicted by another process,
    loaded and served in this one, all with the same numbers."""
    from fastapi.testclient import TestClient

    from trainyard.tabular.runs.store import load_run
    from trainyard.tabular.serve.app import create_app

    rng = np.random.default_rng(1)
    mileage, year = rng.integers(1_000, 150_000, 400), rng.integers(2005, 2024, 400)
    price = 30_000 * np.exp(-0.08 * (2025 - year)) - 0.05 * mileage + rng.normal(0, 500, 400)
    cars = pd.DataFrame({"mileage": [f"{m:,} mi." for m in mileage], "year": year, "price": price.round()})
    cars.to_csv(tmp_path / "cars.csv", index=False)
    cars.drop(columns="price").head(20).to_csv(tmp_path / "new.csv", index=False)
    trained = _cli(
        "train", "cars.csv", "--target", "price", "--models", "ridge", "--no-tune", "--no-report",
        "--time-limit", "120", cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "gave the same answers" in trained.stdout
    assert "time: reading" in trained.stdout and "(limit 120 s)" in trained.stdout  # where the time went
    predicted = _cli("predict", "runs/cars", "new.csv", "-o", "out.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    written = pd.read_csv(tmp_path / "out.csv")["prediction"].to_numpy()
    run = load_run(tmp_path / "runs" / "cars")
    assert run.schema["mileage"].role.value == "number_in_text"
    new = pd.read_csv(tmp_path / "new.csv")
    assert np.allclose(run.predict(new)["prediction"].to_numpy(), written, rtol=1e-9)
    assert np.corrcoef(written, price[:20])[0, 1] > 0.9  # and the parsed mileage is really used
    served = TestClient(create_app(tmp_path / "runs" / "cars")).post("/predict", json=new.to_dict(orient="records"))
    assert served.status_code == 200, served.text
    assert np.allclose(served.json()["predictions"], written, rtol=1e-6)
    manifest = json.loads((tmp_path / "runs" / "cars" / "manifest.json").read_text())
    assert manifest["saved_check"]["rows"] == 80
    assert manifest["config"]["models"] == ["ridge"] and manifest["config"]["tune"] is False  # how it was made
    assert manifest["time"]["limit"] == 120 and set(manifest["time"]["reserves"]) == {"final model", "saving"}
    assert {"reading", "fitting", "final model"} <= set(manifest["time"]["spent"])


def test_a_classifier_on_every_step_trains_saves_loads_and_serves(tmp_path: Path) -> None:
    """train_run on the every-step table (the walk above saves ensembles too): the run that load_run opens,
    the server and the in-memory model answer the same, in the user's labels."""
    from fastapi.testclient import TestClient

    from trainyard.tabular.runs.store import load_run
    from trainyard.tabular.serve.app import create_app
    from trainyard.tabular.workflow import train_run

    frame, target = every_step_table("multiclass", n=300, seed=2)
    run = train_run(
        frame.iloc[:260], target, runs=tmp_path, name="bands", report=False, tune=False, folds=2,
        models=["dummy", "logistic", "naive_bayes", "knn"],
    )  # fmt: skip
    rows = frame.iloc[260:].drop(columns=target)
    expected = run.predict(rows)
    loaded = load_run(tmp_path / "bands")
    pd.testing.assert_frame_equal(loaded.predict(rows), expected)
    assert set(expected["prediction"]) <= {"cheap", "mid", "dear"}
    served = TestClient(create_app(tmp_path / "bands")).post(
        "/predict", json=json.loads(rows.to_json(orient="records"))
    )
    assert served.status_code == 200, served.text
    assert served.json()["predictions"] == expected["prediction"].tolist()
