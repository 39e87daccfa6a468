"""The Trainer: a readable loop over the catalog, under a wall-clock budget.

read -> profile -> target -> split -> for each model: CV + refit in a worker with a
deadline -> leaderboard saved after every model -> Optuna tuning of the best few
inside the remaining budget -> greedy ensemble when it beats the best single
model on the folds -> the run directory, written to a temporary path and renamed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trainyard.data.readers import read
from trainyard.data.schema import Schema, profile
from trainyard.engine import Failed, Stopped, open_engine
from trainyard.errors import SchemaError
from trainyard.fitting import Job, scores_of
from trainyard.leaderboard import Entry, rank
from trainyard.metrics import primary_metric
from trainyard.models.catalog import ModelSpec, select
from trainyard.prep.recipe import Recipe, load_recipe
from trainyard.prep.target import prepare_target, wants_log
from trainyard.split import Split, cv_folds, split_rows

MIN_TIME_LIMIT = 5.0
RESERVE_SHARE = 0.05  # of the time limit, kept for writing the run


@dataclass
class TrainResult:
    schema: Schema
    recipe: Recipe
    split: Split
    entries: list[Entry]
    best: Entry
    classes: list[Any] | None
    outputs: dict[str, dict[str, np.ndarray | None]]  # model -> {"test": ..., "fresh": ...}
    models: dict[str, bytes]  # model -> pickled fitted pipeline (kept for the best and ensemble members)
    frame: pd.DataFrame
    y: pd.Series
    seconds: float
    notes: list[str] = field(default_factory=list)
    ensemble: dict[str, float] | None = None  # member -> weight


def train(data: Any, target: str, *, task: str | None = None, recipe: str | dict | Recipe | None = "auto",
          models: list[str] | None = None, time_limit: float | None = None, folds: int = 5, seed: int = 0,
          jobs: int | None = None, metric: str | None = None, tune: bool = True, ensemble: bool = True,
          progress: Callable[[str, dict], None] | None = None, checkpoint: Any = None, resume: bool = False,
          test_data: Any = None, cluster: str | None = None) -> TrainResult:
    """Train the catalog side by side and rank it.

    ``test_data`` is an optional table of test rows (then every row of ``data``
    trains). ``checkpoint`` (a ``runs.PartialRun``) is written after every model;
    with ``resume`` the models it holds are not trained again. ``cluster`` runs the fits on a Dask
    cluster (``tcp://HOST:8786``, or ``local:N`` for N local workers) instead of local processes.
    """
    start = time.monotonic()
    if time_limit is not None and time_limit < MIN_TIME_LIMIT:
        raise SchemaError(f"--time-limit {time_limit:g} is too small for even the baseline; "
                          f"give at least {MIN_TIME_LIMIT:g} seconds")
    deadline = start + time_limit * (1 - RESERVE_SHARE) if time_limit else float("inf")
    emit = progress or (lambda kind, info: None)
    frame = read(data)
    recipe = load_recipe(recipe)
    schema = profile(frame, target, task=task)
    frame, y = prepare_target(frame, schema)
    if test_data is None:
        split = split_rows(frame, schema, recipe.split, seed=seed)
    else:  # the user's own test rows: every row of ``data`` trains
        test_frame, test_y = prepare_target(read(test_data), schema)
        n_train = len(frame)
        frame = pd.concat([frame, test_frame[frame.columns]], ignore_index=True)
        y = pd.concat([y, test_y], ignore_index=True)
        split = external_split(frame, schema, recipe, n_train)
    classes, codes = _encode_classes(schema.task, y, folds, split)
    fold_index = cv_folds(frame, y, schema, split, folds=folds, seed=seed)
    job = Job(name="", task=schema.task, schema=schema, recipe=recipe,
              X=frame.iloc[split.train].drop(columns=[target]), y=codes[split.train], folds=fold_index,
              X_test=frame.iloc[split.test].drop(columns=[target]), X_fresh=frame.iloc[split.fresh].drop(columns=[target]),
              n_classes=len(classes or []), log_target=wants_log(schema, recipe, y, metric), seed=seed,
              jobs=jobs or 1, metric=metric)
    specs, notes = select(schema.task, models, n_rows=len(split.train))
    engine = open_engine(cluster)
    owned = engine is not cluster  # an engine the caller opened is the caller's to close
    try:
        trainer = _Trainer(job, codes, split, deadline, emit, checkpoint, engine)
        if checkpoint is not None:
            trainer.restore(checkpoint.start(resume))
        emit("start", {"models": [s.name for s in specs], "notes": notes})
        for spec in specs:
            trainer.fit(spec)
        if trainer.results.get("dummy", {}).get("status") == "stopped":
            raise SchemaError("the time limit is too small for even the baseline (dummy) model; raise --time-limit")
        if tune:
            trainer.tune(specs)
    finally:
        if owned:
            engine.close()
    if not any(e.status == "ok" for e in trainer.entries()):
        why = "; ".join(f"{e.name}: {e.status} ({e.message})" for e in trainer.entries())
        raise SchemaError(f"no model finished ({why}); raise --time-limit or choose other --models")
    weights = trainer.ensemble() if ensemble else None
    entries = rank(trainer.entries(), primary_metric(schema.task, metric))
    best = entries[0]
    keep = set(weights or {}) | {best.name}
    return TrainResult(schema=schema, recipe=recipe, split=split, entries=entries, best=best, classes=classes,
                       outputs=trainer.outputs, models={k: v for k, v in trainer.models.items() if k in keep},
                       frame=frame, y=y, seconds=time.monotonic() - start, notes=notes, ensemble=weights)


def external_split(frame: pd.DataFrame, schema: Schema, recipe: Recipe, n_train: int) -> Split:
    """Train on the first ``n_train`` rows (less any fresh holdout), test on the rest."""
    from trainyard.split import fresh_rows, resolve_date_column

    train, test = np.arange(n_train), np.arange(n_train, len(frame))
    fresh = np.array([], dtype=int)
    period, date_column = None, resolve_date_column(frame, schema, recipe.split)
    if date_column is not None and recipe.split.fresh_months > 0:
        mask, period = fresh_rows(frame[date_column].iloc[train], recipe.split.fresh_months, date_column)
        fresh, train = train[mask], train[~mask]
    kind = "stratified" if schema.task in ("binary", "multiclass") else "random"
    return Split(train, test, fresh, kind, stratify=schema.target if kind == "stratified" else None,
                 date_column=date_column, fresh_period=period)


def _encode_classes(task: str, y: pd.Series, folds: int, split: Split) -> tuple[list[Any] | None, np.ndarray]:
    if task == "regression":
        return None, y.to_numpy(dtype=float)
    classes = sorted(y.unique(), key=str)
    counts = y.iloc[split.train].value_counts()
    small = counts[counts < folds]
    if len(small):
        label, count = small.index[0], int(small.iloc[0])
        raise SchemaError(f"class {label!r} has {count} training rows, fewer than the {folds} folds; "
                          f"merge it with another class, drop it, or use --folds {max(2, count)}")
    lookup = {c: i for i, c in enumerate(classes)}
    return classes, y.map(lookup).to_numpy(dtype=int)


class _Trainer:
    """The loop's state: results per model, the outputs kept, the fitted pipelines."""

    def __init__(self, job: Job, codes: np.ndarray, split: Split, deadline: float, emit, checkpoint, engine):
        self.job, self.codes, self.split, self.deadline, self.emit = job, codes, split, deadline, emit
        self.engine = engine
        self.checkpoint = checkpoint
        self.results: dict[str, dict] = {}
        self.outputs: dict[str, dict[str, np.ndarray | None]] = {}
        self.oof: dict[str, np.ndarray] = {}
        self.models: dict[str, bytes] = {}
        self.costs: dict[str, int] = {}

    def restore(self, records: dict[str, dict]) -> None:
        """Take back finished models from an interrupted run (stopped ones are tried again)."""
        for name, record in records.items():
            if record.get("status") != "ok":
                continue
            arrays = record.pop("_arrays")
            self.models[name] = record.pop("_model")
            self.outputs[name] = {"test": arrays["test"], "fresh": arrays.get("fresh")}
            self.oof[name] = arrays["oof"]
            self.results[name] = record

    def fit(self, spec: ModelSpec, params: dict | None = None, label: str | None = None) -> dict:
        name = label or spec.name
        self.costs[name] = spec.cost
        if name in self.results:
            self.emit("result", {"model": name, "status": "ok", "message": "resumed: finished before"})
            return self.results[name]
        self.emit("model", {"model": name})
        job = Job(**{**self.job.__dict__, "name": spec.name, "params": params or {}})
        started = time.monotonic()
        try:
            out = self.engine.run(job, seconds=self.deadline - time.monotonic())
            record = self._record(name, spec, job, out)
        except Stopped as err:
            record = {"status": "stopped", "message": f"stopped by the time limit ({err})", "params": params or {}}
        except Failed as err:
            record = {"status": "failed", "message": str(err), "params": params or {}}
        record["seconds"] = time.monotonic() - started
        self.results[name] = record
        if self.checkpoint is not None:
            arrays = {"oof": self.oof.get(name), **self.outputs.get(name, {})} if record["status"] == "ok" else {}
            self.checkpoint.save(name, record, arrays, self.models.get(name))
        self.emit("result", {"model": name, **{k: v for k, v in record.items() if k in ("status", "cv_mean", "message")}})
        return record

    def _record(self, name: str, spec: ModelSpec, job: Job, out: dict) -> dict:
        test_scores = scores_of(job.task, self.codes[self.split.test], out["test"], job.n_classes)
        fresh_scores = (scores_of(job.task, self.codes[self.split.fresh], out["fresh"], job.n_classes)
                        if out.get("fresh") is not None else {})
        self.outputs[name] = {"test": out["test"], "fresh": out.get("fresh")}
        self.oof[name] = out["oof"]
        self.models[name] = out["model"]
        return {"status": "ok", "message": "", "params": job.params, "cv_scores": out["cv_scores"],
                "cv_mean": float(np.mean(out["cv_scores"])), "cv_std": float(np.std(out["cv_scores"])),
                "cv_all": out["cv_all"], "test": test_scores, "fresh": fresh_scores,
                "fit_seconds": out["fit_seconds"], "predict_ms_per_1000": out["predict_ms_per_1000"],
                "size_bytes": out["size_bytes"]}

    def entries(self) -> list[Entry]:
        return [Entry.from_record(name, record, self.costs.get(name, 5)) for name, record in self.results.items()]

    def tune(self, specs: list[ModelSpec], top: int = 2, trials: int = 12) -> None:
        """An Optuna search over the best few models' spaces, inside the remaining budget."""
        from trainyard.tuning import tune_specs

        tune_specs(self, specs, top=top, trials=trials)

    def ensemble(self) -> dict[str, float] | None:
        from trainyard.ensemble import greedy_ensemble

        return greedy_ensemble(self)


