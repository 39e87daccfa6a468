"""The run directory: save, load, and predict on new rows after checking them.

``runs/<name>/`` holds ``manifest.json`` (versions, seed, data fingerprint, recipe,
command line), ``schema.json``, ``model.skops`` (the fitted pipeline, or the
ensemble of pipelines, in skops' safe format), ``leaderboard.csv`` and ``.json``,
``metrics.json``, ``plan.json``, ``predictions/{test,fresh}.parquet``, ``samples/`` and,
written last, ``files.json`` (every file's size and SHA-256, checked when the run is opened).
It is written to a temporary directory beside it and renamed when complete.
"""

from __future__ import annotations

import functools

import hashlib
import json
import os
import pickle
import platform
import sys
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from trainyard.data.schema import Role, Schema
from trainyard.data.values import MISSING_LOWER
from trainyard.artifacts import check_files, write_file_list
from trainyard.errors import DataError, DiskFullError, SchemaError, TrainyardWarning, first_line
from trainyard.io import atomic_directory, full_disk_named
from trainyard.tabular.leaderboard import to_frame
from trainyard.tabular.metrics import classification_details, primary_metric
from trainyard.tabular.prep.base import SMALL_FRAME, is_missing
from trainyard.tabular.prep.plan import explain
from trainyard.tabular.runs.trust import dump_model, load_model

VERSIONED = ("trainyard", "scikit-learn", "xgboost-cpu", "lightgbm", "torch", "pandas", "numpy", "skops")


class EnsembleModel(BaseEstimator):
    """A weighted average of fitted pipelines' predictions (or class probabilities)."""

    def __init__(self, members: list | None = None, weights: list[float] | None = None, task: str = "regression"):
        self.members = members
        self.weights = weights
        self.task = task

    def predict_output(self, X) -> np.ndarray:
        from trainyard.tabular.models.output import predict_output

        n_classes = 0 if self.task == "regression" else len(self.members[0][-1].classes_)
        return sum(w * predict_output(m, X, self.task, n_classes) for m, w in zip(self.members, self.weights))


@dataclass
class Run:
    path: Path
    manifest: dict[str, Any]
    schema: Schema
    model: Any

    @property
    def classes(self) -> list | None:
        return self.manifest.get("classes")

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, task={self.manifest.get('task')!r}, best={self.manifest.get('best')!r})"

    def _repr_html_(self) -> str:
        from trainyard.notebook import run_html

        return run_html(self)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def fingerprint(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(map(str, frame.columns)).encode()).hexdigest()[:16]


def save_run(result, path: Path, *, seed: int, command: list[str] | None = None, overwrite: bool = False) -> Path:
    """Write a finished training result as a run directory (atomically)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise DataError(f"{path}: the run exists; pass --overwrite to replace it or choose another --name")
    metric = primary_metric(result.schema.task)
    model = _final_model(result)
    try:
        with atomic_directory(path, overwrite=overwrite) as tmp:
            dump_model(model, tmp / "model.skops")
            (tmp / "schema.json").write_text(result.schema.to_json())
            manifest = {
                "versions": versions(), "seed": seed, "command": command or sys.argv,
                "data": {"rows": len(result.frame), "fingerprint": fingerprint(result.frame)},
                "recipe": result.recipe.to_dict(), "task": result.schema.task, "target": result.schema.target,
                "metric": metric.name, "best": result.best.name, "classes": _plain(result.classes),
                "ensemble": result.ensemble, "seconds": round(result.seconds, 2), "notes": result.notes,
                "split": result.split.report(),
                # the rows the saved model learned from; the scores are those of the held-out rows either way
                "trained_on": result.trained_on,
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
            board = to_frame(result.entries, metric)
            board.to_csv(tmp / "leaderboard.csv", index=False)
            (tmp / "leaderboard.json").write_text(json.dumps([e.to_dict() for e in result.entries], indent=2, default=str))
            (tmp / "metrics.json").write_text(json.dumps(_metrics(result), indent=2, default=str))
            _write_predictions(result, tmp / "predictions")
            _write_samples(result, tmp / "samples")
            _write_plan(result, tmp, model)
            write_file_list(tmp)  # last: it lists the sizes and SHA-256 of every file above
    except FileExistsError as err:
        raise DataError(f"{path}: the run exists; pass --overwrite to replace it") from err
    return path


def _final_model(result):
    if result.best.name == "ensemble":
        members = [pickle.loads(result.models[n]) for n in result.ensemble]
        return EnsembleModel(members=members, weights=list(result.ensemble.values()), task=result.schema.task)
    return pickle.loads(result.models[result.best.name])


def _plain(values):
    if values is None:
        return None
    return [v.item() if hasattr(v, "item") else v for v in values]


def _metrics(result) -> dict[str, Any]:
    out: dict[str, Any] = {"best": result.best.name, "models": {}}
    for entry in result.entries:
        out["models"][entry.name] = {"status": entry.status, "cv_mean": entry.cv_mean, "cv_std": entry.cv_std,
                                     "cv_scores": entry.cv_scores, "test": entry.test, "fresh": entry.fresh}
    if result.classes is not None and result.best.name in result.outputs:
        y = result.y.iloc[result.split.test].map({c: i for i, c in enumerate(result.classes)}).to_numpy()
        predicted = result.outputs[result.best.name]["test"].argmax(axis=1)
        details = classification_details(y, predicted, list(range(len(result.classes))))
        details["classes"] = [str(c) for c in result.classes]
        out["classification"] = details
    return out


def _write_predictions(result, folder: Path) -> None:
    folder.mkdir()
    for part in ("test", "fresh"):
        rows = getattr(result.split, part)
        output = result.outputs.get(result.best.name, {}).get(part)
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
    pipeline = model.members[0] if isinstance(model, EnsembleModel) else model
    plan = explain(pipeline.named_steps["prep"], result.schema, result.recipe.name, result.split.report())
    plan.choices = [c.to_dict() for c in getattr(result, "choices", [])]
    (folder / "plan.json").write_text(json.dumps(plan.to_dict(), indent=2, default=str))


# --- loading and predicting ------------------------------------------------------------

RETRAIN = "train the run again (trainyard train ... --overwrite)"

def load_run(path: Path | str, *, trust_types: list[str] | tuple[str, ...] = ()) -> Run:
    """Open a run directory. Its model is built only from the types trainyard writes
    (``trust.TRUSTED_TYPES``); ``trust_types`` adds exact names, for a run the user made."""
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
    return Run(path=path, manifest=manifest, schema=schema, model=model)


def _check_versions(path: Path, saved: dict[str, str]) -> None:
    now = versions()
    changed = [f"{k} {v} -> {now[k]}" for k, v in saved.items()
               if k in now and k in ("scikit-learn", "xgboost-cpu", "lightgbm", "torch", "skops") and now[k] != v]
    if changed:
        warnings.warn(f"{path}: made with other library versions ({'; '.join(changed)}); "
                      "predictions may differ — retrain to be sure", TrainyardWarning, stacklevel=3)


@dataclass
class Checked:
    rows: pd.DataFrame
    notes: list[str]
    unseen: dict[str, int]
    out_of_range: dict[str, int]


def check_rows(frame: pd.DataFrame, schema: Schema) -> Checked:
    """Check new rows against the Schema: missing columns fail; the rest is counted and reported."""
    features = [c for c in schema.columns if c.role is not Role.TARGET]
    missing = [c.name for c in features if c.name not in frame.columns]
    if missing:
        raise SchemaError(f"the rows lack column(s) {', '.join(missing)} that the model was trained with")
    notes = []
    extra = [c for c in frame.columns if c not in {f.name for f in features} and c != schema.target]
    if extra:
        notes.append(f"ignored {len(extra)} extra column(s): {', '.join(map(str, extra[:5]))}")
    unseen, out_of_range, numbers = {}, {}, {}
    small = len(frame) <= SMALL_FRAME  # a prediction request: per-value Python is cheaper than pandas here
    for column in features:
        values = frame[column.name]
        if _trained_on_numbers(column) and not pd.api.types.is_numeric_dtype(values):
            values = numbers[column.name] = _as_numbers(column.name, values)
        if column.role in (Role.CATEGORICAL, Role.TRISTATE) and column.details.get("levels"):
            known = _level_set(tuple(column.details["levels"]))
            if small:
                count = sum(1 for v in values if not is_missing(v) and str(v) not in known)
            else:
                count = int((~values.dropna().astype(str).isin(known)).sum())
            if count:
                unseen[column.name] = count
        if column.role is Role.NUMERIC and "min" in column.details and pd.api.types.is_numeric_dtype(values):
            low, high = column.details["min"], column.details["max"]
            if small:
                count = sum(1 for v in values.tolist() if v < low or v > high)
            else:
                count = int(((values < low) | (values > high)).sum())
            if count:
                out_of_range[column.name] = count
    if unseen:
        notes.append("unseen categories: " + ", ".join(f"{k} ({v} rows)" for k, v in unseen.items()))
    if out_of_range:
        notes.append("values outside the training range: " + ", ".join(f"{k} ({v} rows)" for k, v in out_of_range.items()))
    names = [f.name for f in features]
    rows = frame if list(frame.columns) == names else frame[names]  # selecting costs a request more than its checks
    if numbers:
        rows = rows.assign(**numbers)
    return Checked(rows=rows, notes=notes, unseen=unseen, out_of_range=out_of_range)


def _trained_on_numbers(column) -> bool:
    """The column held plain numbers when the model was trained (not numbers inside text)."""
    return column.role is Role.NUMERIC and column.dtype.lower().startswith(("int", "uint", "float"))


def _as_numbers(name: str, values: pd.Series) -> pd.Series:
    """A column the model saw as numbers, given as text: numbers and missing-value tokens pass, any other
    value is one line naming the column, the row and the value."""
    missing = values.map(lambda v: is_missing(v) or str(v).strip().lower() in MISSING_LOWER).astype(bool)
    parsed = pd.to_numeric(values.where(~missing), errors="coerce")
    bad = parsed.isna() & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SchemaError(f"column {name!r}, row {i + 1} of the new rows: {values.iloc[i]!r} is not a number, and the "
                          f"model was trained on numbers there; correct it or leave the cell empty")
    return parsed.astype(float)


@functools.lru_cache(maxsize=1024)
def _level_set(levels: tuple[str, ...]) -> frozenset[str]:
    return frozenset(levels)


def predict(run: Run, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Predictions (and class probabilities) for new rows, after checking them."""
    checked = check_rows(frame, run.schema)
    return predict_frame(run, checked.rows), checked.notes


def predict_frame(run: Run, rows: pd.DataFrame) -> pd.DataFrame:
    """Predictions (and class probabilities) for rows already checked by ``check_rows``."""
    return output_frame(run, predict_output(run, rows), rows.index)


def predict_output(run: Run, rows: pd.DataFrame) -> np.ndarray:
    """The model's output for checked rows: values for regression, class probabilities otherwise."""
    from trainyard.tabular.models.output import predict_output as pipeline_output

    if isinstance(run.model, EnsembleModel):
        return run.model.predict_output(rows)
    return pipeline_output(run.model, rows, run.manifest["task"], len(run.classes or []))


def output_frame(run: Run, output: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Regression values, or class probabilities, as the prediction (the likeliest class) and proba_ columns."""
    classes = run.classes
    result = pd.DataFrame(index=index)
    if classes is None:
        result["prediction"] = output
    else:
        result["prediction"] = np.asarray(classes, dtype=object)[output.argmax(axis=1)]
        for i, label in enumerate(classes):
            result[f"proba_{label}"] = output[:, i]
    return result


# --- the run in progress: saved after every model, so an interrupted run can resume -----

class PartialRun:
    """``runs/.<name>.partial/``: each finished model's record, arrays and fitted pipeline.

    ``train`` writes here after every model; ``--resume`` reads it back and skips
    what is done. It is removed once the finished run has been written.
    """

    def __init__(self, final: Path, key: dict[str, Any]):
        self.path = Path(final).with_name(f".{Path(final).name}.partial")
        self.key = key  # data fingerprint, seed, recipe: a resume must match them

    def start(self, resume: bool) -> dict[str, dict]:
        """Open the store; return the finished records when resuming."""
        keyfile = self.path / "key.json"
        if resume and keyfile.exists():
            if json.loads(keyfile.read_text()) != json.loads(json.dumps(self.key, default=str)):
                raise DataError(f"{self.path}: the interrupted run used other data, seed or recipe; "
                                "train without --resume to start again")
            return self.load()
        if resume:
            raise DataError(f"{self.path}: nothing to resume (no interrupted run of that name)")
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)
        (self.path / "models").mkdir(parents=True)
        keyfile.write_text(json.dumps(self.key, default=str))
        return {}

    def save(self, name: str, record: dict, arrays: dict[str, np.ndarray | None], model: bytes | None) -> None:
        """Keep one finished model: ``model`` is the pickle our own worker sent, stored as skops (never
        as a pickle: ``--resume`` reads this folder back, and a pickle there would run whatever it holds).
        A full disk removes the folder: half a model could not be resumed from, and nothing is left behind."""
        try:
            with full_disk_named(self.path):
                if model is not None:
                    dump_model(pickle.loads(model), self.path / "models" / f"{name}.skops")
                    np.savez(self.path / "models" / f"{name}.npz", **{k: v for k, v in arrays.items() if v is not None})
                board = self.path / "leaderboard.json"
                records = json.loads(board.read_text()) if board.exists() else {}
                records[name] = record
                tmp = board.with_suffix(".tmp")
                tmp.write_text(json.dumps(records, default=float))
                os.replace(tmp, board)
        except DiskFullError:
            self.remove()
            raise

    def load(self) -> dict[str, dict]:
        board = self.path / "leaderboard.json"
        records = json.loads(board.read_text()) if board.exists() else {}
        for name, record in records.items():
            if record.get("status") == "ok":
                arrays = np.load(self.path / "models" / f"{name}.npz", allow_pickle=False)
                record["_arrays"] = {k: arrays[k] for k in arrays.files}
                fitted = load_model(self.path / "models" / f"{name}.skops",
                                    remedy="train without --resume to start again")
                record["_model"] = pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL)
        return records

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)
