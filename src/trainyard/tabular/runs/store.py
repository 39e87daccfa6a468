"""The run directory: save and load (predicting is ``runs/predict.py``).

``runs/<name>/`` holds ``manifest.json`` (versions, seed, data fingerprint, recipe,
command line), ``schema.json``, ``model.skops`` (the fitted pipeline, or the
ensemble of pipelines, in skops' safe format), ``leaderboard.csv`` and ``.json``,
``metrics.json``, ``plan.json``, ``predictions/{test,fresh}.parquet``, ``samples/`` and,
written last, ``files.json`` (every file's size and SHA-256, checked when the run is opened).
It is written to a temporary directory beside it and renamed when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainyard.artifacts import check_files, write_file_list
from trainyard.data.schema import Schema
from trainyard.errors import DataError, DiskFullError, SavedModelError, TrainyardWarning, first_line
from trainyard.io import atomic_directory, full_disk_named
from trainyard.tabular.leaderboard import to_frame
from trainyard.tabular.metrics import classification_details, primary_metric
from trainyard.tabular.models.ensemble import EnsembleModel, LabelledModel
from trainyard.tabular.prep.plan import explain
from trainyard.tabular.runs.trust import RefusedType, dump_model, load_model
from trainyard.tabular.training.results import ModelResult

VERSIONED = ("trainyard", "scikit-learn", "xgboost-cpu", "lightgbm", "torch", "pandas", "numpy", "skops")


@dataclass
class Run:
    """A saved run: its manifest, its Schema and its fitted model.

    ``estimator`` is the model as saved (a pipeline or an ensemble, classifiers in class codes);
    ``model`` is the same in the user's labels, a scikit-learn estimator; ``predict(rows)`` checks the
    rows against the Schema first.
    """

    path: Path
    manifest: dict[str, Any]
    schema: Schema
    estimator: Any
    result: Any = field(default=None, repr=False)  # the TrainResult, when this process trained it (train_run)
    report: Path | None = None  # report.html, when train_run wrote it
    mlflow_run: str | None = None  # the MLflow run it was logged to (train_run's mlflow=)
    mlflow_uri: str | None = None
    # the compiled model for a few rows and why not (runs/predict.compiled_model), built on first use
    compiled: tuple[Any, str] | None = field(default=None, repr=False, compare=False)

    @property
    def classes(self) -> list | None:
        return self.manifest.get("classes")

    @property
    def task(self) -> str:
        return self.manifest["task"]

    @property
    def model(self) -> LabelledModel:
        """The fitted model in the user's labels: ``predict``, ``predict_proba``, ``classes_``."""
        return LabelledModel(self.estimator, self.classes, self.task)

    def predict(self, rows: Any) -> pd.DataFrame:
        """Predictions (and ``proba_<label>`` columns) for new rows, checked against the Schema first;
        what the check found (unseen categories, values out of range) is a ``TrainyardWarning``."""
        from trainyard.tabular.runs.predict import predict

        return predict(self, rows)

    @classmethod
    def of_result(cls, result: Any, path: Path | str) -> Run:
        """The run ``save_run(result, path)`` wrote, as this process has it: the manifest read back (it is small),
        the Schema and the model taken from ``result`` rather than loaded and checked again."""
        path = Path(path)
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        estimator = result.final_estimator()
        return cls(path=path, manifest=manifest, schema=result.schema, estimator=estimator, result=result)

    def sample_rows(self) -> pd.DataFrame:
        """Feature rows the run kept (``samples/``, written by ``save_run``): its test rows, else its fresh or
        training rows. What an export is checked on and what an MLflow input example is taken from."""
        for part in ("test", "fresh", "train"):
            path = self.path / "samples" / f"{part}_rows.parquet"
            if path.exists():
                return pd.read_parquet(path)[self.schema.features]
        raise DataError(f"{self.path}: the run keeps no sample rows; {RETRAIN}")

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, task={self.manifest.get('task')!r}, best={self.manifest.get('best')!r})"

    def _repr_html_(self) -> str:
        from trainyard.notebook import run_html

        return run_html(self)


def versions() -> dict[str, str]:
    """The versions of Python and the libraries a model depends on, as recorded in a run's manifest."""
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def fingerprint(frame: pd.DataFrame) -> str:
    """A short hash of a table's values and column names: what a resume checks it is training on."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(map(str, frame.columns)).encode()).hexdigest()[:16]


def save_run(result, path: Path | str, *, command: list[str] | None = None, overwrite: bool = False) -> Path:
    """Write a finished training result as a run directory, atomically (the seed is the result's own).
    ``overwrite`` replaces a run already at ``path``; ``command`` is recorded in the manifest."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise DataError(f"{path}: the run exists; pass overwrite=True to replace it, or choose another path")
    metric = primary_metric(result.schema.task)
    model = _final_model(result)
    try:
        with atomic_directory(path, overwrite=overwrite) as tmp:
            dump_model(model, tmp / "model.skops")
            # before anything is committed: the file loads back and answers as the model in memory does
            check = check_saved_model(
                tmp / "model.skops", model, _check_rows(result), result.schema.task, result.classes
            )
            (tmp / "schema.json").write_text(result.schema.to_json())
            manifest = {
                "versions": versions(),
                "seed": result.seed,
                "command": command or sys.argv,
                "data": {"rows": len(result.frame), "fingerprint": fingerprint(result.frame)},
                "recipe": result.recipe.to_dict(),
                "task": result.schema.task,
                "target": result.schema.target,
                "metric": metric.name,
                "best": result.best.name,
                "classes": _plain(result.classes),
                "ensemble": result.ensemble,
                "seconds": round(result.seconds, 2),
                "time": result.budget.to_dict(),
                "config": result.config.to_dict(),
                "notes": result.notes,
                "warnings": result.warnings,
                "split": result.split.report(),
                # the rows the saved model learned from; the scores are those of the held-out rows either way
                "trained_on": result.trained_on,
                # the model file, loaded back as load_run loads it, gave the same answers as the model in memory
                "saved_check": check,
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
            board = to_frame(result.entries, metric)
            board.to_csv(tmp / "leaderboard.csv", index=False)
            (tmp / "leaderboard.json").write_text(
                json.dumps([e.to_dict() for e in result.entries], indent=2, default=str)
            )
            (tmp / "metrics.json").write_text(json.dumps(_metrics(result), indent=2, default=str))
            _write_predictions(result, tmp / "predictions")
            _write_samples(result, tmp / "samples")
            _write_plan(result, tmp, model)
            write_file_list(tmp)  # last: it lists the sizes and SHA-256 of every file above
    except FileExistsError as err:
        raise DataError(f"{path}: the run exists; pass overwrite=True to replace it") from err
    return path


def _final_model(result):
    return result.final_estimator()


CHECK_ROWS = 200  # rows a saved model answers for its check: every column's path, in a fraction of a second
CHECK_RTOL = 1e-6  # the same model loaded back computes the same numbers; this only absorbs summation order


def check_saved_model(file: Path, model: Any, rows: pd.DataFrame, task: str, classes: list | None) -> dict[str, Any]:
    """Load ``file`` with ``load_model`` (load_run's loader, its trust rules included), predict ``rows`` with it
    and with ``model``, and compare. A refusal or a difference is a ``SavedModelError`` naming the type."""
    started = time.perf_counter()
    bug = "a bug in trainyard: please report it; the run was not saved, and a run there before is untouched"
    try:
        loaded = load_model(file, remedy=bug)
    except RefusedType as err:  # said as what it is here: trainyard's own file, not a tampered one
        raise SavedModelError(
            f"{file}: the model names {err.type_name}, a type the loader does not trust; {bug}"
        ) from None
    except DataError as err:
        raise SavedModelError(first_line(err, 400)) from None
    expected = LabelledModel(model, classes, task).predict_output(rows)
    got = LabelledModel(loaded, classes, task).predict_output(rows)
    same = got.shape == expected.shape and np.allclose(got, expected, rtol=CHECK_RTOL, atol=1e-9, equal_nan=True)
    difference = float(np.nanmax(np.abs(got - expected), initial=0.0)) if got.shape == expected.shape else np.inf
    if not same:
        raise SavedModelError(
            f"{file}: the {_kind(model)} loaded back predicts differently from the one trained (largest difference "
            f"{difference:.3g} on {len(rows)} rows); {bug}"
        )
    return {"rows": len(rows), "seconds": round(time.perf_counter() - started, 3), "largest_difference": difference}


def _check_rows(result: Any) -> pd.DataFrame:
    """The first held-out rows (test, else fresh, else training rows), as the model takes them."""
    split = result.split
    rows = next((r for r in (split.test, split.fresh, split.train) if len(r)), np.array([], dtype=int))
    return result.frame.iloc[rows[:CHECK_ROWS]].drop(columns=[result.schema.target])


def _kind(model: Any) -> str:
    """The model's type by name: the ensemble, else the pipeline's last step."""
    last = model if isinstance(model, EnsembleModel) else getattr(model, "steps", [[None, model]])[-1][1]
    return f"{type(last).__module__}.{type(last).__qualname__}"


def _plain(values):
    if values is None:
        return None
    return [v.item() if hasattr(v, "item") else v for v in values]


def _metrics(result) -> dict[str, Any]:
    out: dict[str, Any] = {"best": result.best.name, "models": {}}
    for entry in result.entries:
        out["models"][entry.name] = {
            "status": entry.status,
            "cv_mean": entry.cv_mean,
            "cv_std": entry.cv_std,
            "cv_scores": entry.cv_scores,
            "test": entry.test,
            "fresh": entry.fresh,
        }
    if result.classes is not None and result.best.name in result.results:
        y = result.y.iloc[result.split.test].map({c: i for i, c in enumerate(result.classes)}).to_numpy()
        predicted = result.results[result.best.name].test_output.argmax(axis=1)
        details = classification_details(y, predicted, list(range(len(result.classes))))
        details["classes"] = [str(c) for c in result.classes]
        out["classification"] = details
    return out


def _write_predictions(result, folder: Path) -> None:
    folder.mkdir()
    for part in ("test", "fresh"):
        rows = getattr(result.split, part)
        output = getattr(result.results[result.best.name], f"{part}_output")
        if output is None or len(rows) == 0:
            continue
        frame = pd.DataFrame({"row": rows, "actual": result.y.iloc[rows].to_numpy()})
        if result.classes is None:
            frame["predicted"] = output
        else:
            frame["predicted"] = np.asarray(result.classes, dtype=object)[output.argmax(axis=1)]
            for i, label in enumerate(result.classes):
                frame[f"proba_{label}"] = output[:, i]
        frame.to_parquet(folder / f"{part}.parquet", index=False)


SAMPLE_ROWS = 20_000  # rows of features kept for the report (importance, errors by segment)
TRAIN_SAMPLE_ROWS = 5_000  # training rows kept for the regularisation paths


def _write_samples(result, folder: Path) -> None:
    """Raw feature rows the report needs: the first test and fresh rows (aligned with the
    prediction files) and a random sample of training rows with the target."""
    folder.mkdir()
    target = result.schema.target
    for part in ("test", "fresh"):
        rows = getattr(result.split, part)[:SAMPLE_ROWS]
        if len(rows):
            result.frame.iloc[rows].drop(columns=[target]).to_parquet(folder / f"{part}_rows.parquet", index=False)
    train = result.split.train
    chosen = np.random.default_rng(0).choice(train, min(len(train), TRAIN_SAMPLE_ROWS), replace=False)
    sample = result.frame.iloc[chosen].drop(columns=[target]).assign(**{target: result.y.iloc[chosen].to_numpy()})
    sample.to_parquet(folder / "train_rows.parquet", index=False)


def _write_plan(result, folder: Path, model) -> None:
    pipeline = model.first_member if isinstance(model, EnsembleModel) else model
    plan = explain(pipeline.named_steps["prep"], result.schema, result.recipe.name, result.split.report())
    plan.choices = [c.to_dict() for c in getattr(result, "choices", [])]
    (folder / "plan.json").write_text(json.dumps(plan.to_dict(), indent=2, default=str))


# --- loading and predicting ------------------------------------------------------------

RETRAIN = "train the run again (trainyard train ... --overwrite)"


def load_run(path: Path | str, *, trust_types: list[str] | tuple[str, ...] = ()) -> Run:
    """Open a run directory. Its model is built only from the types trainyard writes
    (``runs/trust.py``); ``trust_types`` adds exact names, for a run the user made."""
    path = Path(path)
    for name in ("manifest.json", "schema.json", "model.skops"):
        if not (path / name).exists():
            raise DataError(f"{path}: not a trainyard run (no {name}); train one with `trainyard train`")
    check_files(path, "run", RETRAIN)  # a damaged file is named here, before any library parses it
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        schema = Schema.from_json((path / "schema.json").read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError) as err:  # JSON and Unicode errors are ValueErrors
        raise DataError(f"{path}: the run is damaged ({first_line(err, 120)}); {RETRAIN}") from None
    _check_versions(path, manifest.get("versions", {}))
    model = load_model(path / "model.skops", trust=trust_types, remedy=RETRAIN)
    return Run(path=path, manifest=manifest, schema=schema, estimator=model)


def _check_versions(path: Path, saved: dict[str, str]) -> None:
    now = versions()
    changed = [
        f"{k} {v} -> {now[k]}"
        for k, v in saved.items()
        if k in now and k in ("scikit-learn", "xgboost-cpu", "lightgbm", "torch", "skops") and now[k] != v
    ]
    if changed:
        warnings.warn(
            f"{path}: made with other library versions ({'; '.join(changed)}); "
            "predictions may differ — retrain to be sure",
            TrainyardWarning,
            stacklevel=3,
        )


# --- the run in progress: saved after every model, so an interrupted run can resume -----


class PartialRun:
    """``runs/.<name>.partial/``: each finished model's record, arrays and fitted pipeline.

    ``train`` writes here after every model; ``--resume`` reads it back and skips
    what is done. It is removed once the finished run has been written.
    """

    def __init__(self, final: Path, key: dict[str, Any]):
        self.path = Path(final).with_name(f".{Path(final).name}.partial")
        self.key = key  # data fingerprint, seed, recipe: a resume must match them

    def start(self, resume: bool) -> dict[str, ModelResult]:
        """Open the store; return the finished results when resuming."""
        keyfile = self.path / "key.json"
        if resume and keyfile.exists():
            if json.loads(keyfile.read_text()) != json.loads(json.dumps(self.key, default=str)):
                raise DataError(
                    f"{self.path}: the interrupted run used other data, seed or recipe; "
                    "train without resume=True to start again"
                )
            return self.load()
        if resume:
            raise DataError(f"{self.path}: nothing to resume (no interrupted run of that name)")
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)
        (self.path / "models").mkdir(parents=True)
        keyfile.write_text(json.dumps(self.key, default=str))
        return {}

    def save(self, result: ModelResult) -> None:
        """Keep one model's result: its fitted pipeline (the pickle our own worker sent) stored as skops (never
        as a pickle: ``--resume`` reads this folder back, and a pickle there would run whatever it holds), its
        arrays as npz, its record in leaderboard.json. A full disk removes the folder: half a model could not
        be resumed from, and nothing is left behind."""
        name = result.name
        try:
            with full_disk_named(self.path):
                if result.ok and result.fitted is not None:
                    dump_model(pickle.loads(result.fitted), self.path / "models" / f"{name}.skops")
                    arrays: dict[str, Any] = result.arrays()
                    np.savez(self.path / "models" / f"{name}.npz", **arrays)
                board = self.path / "leaderboard.json"
                records = json.loads(board.read_text()) if board.exists() else {}
                records[name] = result.record()
                tmp = board.with_suffix(".tmp")
                tmp.write_text(json.dumps(records, default=float))
                os.replace(tmp, board)
        except DiskFullError:
            self.remove()
            raise

    def load(self) -> dict[str, ModelResult]:
        """The finished models' results (stopped and failed ones are trained again)."""
        board = self.path / "leaderboard.json"
        records = json.loads(board.read_text()) if board.exists() else {}
        results = {}
        for name, record in records.items():
            if record.get("status") != "ok":
                continue
            arrays = np.load(self.path / "models" / f"{name}.npz", allow_pickle=False)
            fitted = load_model(
                self.path / "models" / f"{name}.skops", remedy="train without resume=True to start again"
            )
            results[name] = ModelResult.restore(
                {**record, "name": name},
                {k: arrays[k] for k in arrays.files},
                pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL),
            )
        return results

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)
