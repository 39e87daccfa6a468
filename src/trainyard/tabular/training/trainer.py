"""The Trainer: a readable loop over the catalog, under a wall-clock budget.

read -> profile -> target -> split -> for each model: CV + refit in a worker with a
deadline -> leaderboard saved after every model -> Optuna tuning of the best few
inside the remaining budget -> greedy ensemble when it beats the best single
model on the folds -> the run directory, written to a temporary path and renamed.
"""

from __future__ import annotations

import pickle
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from trainyard.data.readers import read
from trainyard.data.schema import Schema, profile, without_attrs
from trainyard.errors import SchemaError
from trainyard.tabular.leaderboard import Entry, baseline_warnings, rank
from trainyard.tabular.metrics import bootstrap_se, primary_metric, scores_of
from trainyard.tabular.models.catalog import ModelSpec, select
from trainyard.tabular.prep.clean import HUGE, beyond_huge
from trainyard.tabular.prep.target import prepare_target, wants_log
from trainyard.tabular.recipe import Recipe, load_recipe
from trainyard.tabular.split import Split, cv_folds, split_rows
from trainyard.tabular.training.budget import Budget
from trainyard.tabular.training.choices import Choice, decide
from trainyard.tabular.training.config import TrainConfig
from trainyard.tabular.training.cost import OVERHEAD, REFIT_COST, CostModel
from trainyard.tabular.training.engines import open_engine
from trainyard.tabular.training.engines.local import Failed, LocalEngine, Stopped, warm_up
from trainyard.tabular.training.fidelity import Fidelity, fidelity_for, lowest, params_at
from trainyard.tabular.training.job import Job, merge_parts
from trainyard.tabular.training.refit_check import RefitCheck, check_refit
from trainyard.tabular.training.results import Ledger, ModelResult, unfinished
from trainyard.tabular.training.scheduler import SAFETY, schedule

MIN_TIME_LIMIT = 5.0
GRACE = 1.25  # a call may run this many times its seconds (and half a second) before it is stopped


@dataclass
class TrainResult:
    """What train() returns: the Schema, recipe, split, ranked leaderboard, the chosen model and its outputs."""

    schema: Schema
    recipe: Recipe
    split: Split
    entries: list[Entry]
    best: Entry
    classes: list[Any] | None
    results: dict[str, ModelResult]  # every model's result; the fitted pipelines kept for the best and its members
    frame: pd.DataFrame
    y: pd.Series
    seconds: float
    config: TrainConfig  # the options it was trained with (its seed drove every random choice)
    budget: Budget  # the call's time: its plan and where it went
    notes: list[str] = field(default_factory=list)
    ensemble: dict[str, float] | None = None  # member -> weight
    trained_on: dict[str, Any] = field(default_factory=dict)  # the rows the saved model(s) learned from
    choices: list[Choice] = field(default_factory=list)  # what the folds decided before training (choices.py)
    warnings: list[str] = field(default_factory=list)  # what the user must not miss (worse than the baseline)

    def final_estimator(self) -> Any:
        """The chosen model as fitted (class codes for classifiers): a pipeline, or the ensemble of pipelines."""
        if self.best.name == "ensemble" and self.ensemble:
            from trainyard.tabular.models.ensemble import EnsembleModel

            members = [pickle.loads(self.fitted(n)) for n in self.ensemble]
            weights = list(self.ensemble.values())
            return EnsembleModel(members=members, weights=weights, task=self.schema.required_task())
        return pickle.loads(self.fitted(self.best.name))

    @property
    def seed(self) -> int:
        """The seed that drove every random choice; a saved run records it."""
        return self.config.seed

    def fitted(self, name: str) -> bytes:
        blob = self.results[name].fitted
        assert blob is not None, f"{name}'s fitted pipeline was not kept"
        return blob

    @property
    def model(self):
        """The chosen model in the user's labels (a scikit-learn estimator): ``predict``, ``predict_proba``."""
        from trainyard.tabular.models.ensemble import LabelledModel

        return LabelledModel(self.final_estimator(), self.classes, self.schema.task)

    def __repr__(self) -> str:  # the default would print the whole table and every model's bytes
        return (
            f"TrainResult(target={self.schema.target!r}, task={self.schema.task!r}, best={self.best.name!r}, "
            f"models={len(self.entries)}, seconds={self.seconds:.0f})"
        )

    def _repr_html_(self) -> str:
        from trainyard.tabular.leaderboard import result_html

        return result_html(self)


def train(
    data: Any,
    target: str,
    config: TrainConfig | None = None,
    *,
    progress: Callable[[str, dict], None] | None = None,
    checkpoint: Any = None,
    resume: bool = False,
    test_data: Any = None,
    budget: Budget | None = None,
    **options: Any,
) -> TrainResult:
    """Train the catalog side by side, validate honestly and rank it; returns a ``TrainResult``.

    ``data``: a table (pandas, polars, pyarrow) or anything ``trainyard.read`` takes (a path, a glob, a SQL
    query); ``target``: the column to predict. The training options come as keywords, or whole as a
    ``TrainConfig`` (``config``; keywords then replace its values); each is checked before any work:

    {options}

    And for this call:

    - ``progress``: called as ``progress(kind, info)`` for ``start``, ``model``, ``result``, ``trial`` and ``done``
      events. None: a progress bar in a Jupyter notebook, silence elsewhere.
    - ``checkpoint``: a ``runs.store.PartialRun``, written after every model; with ``resume`` the models it
      holds are not trained again.
    - ``test_data``: your own test rows (then every row of ``data`` trains and cross-validates).
    - ``budget``: a ``Budget`` the caller planned for a longer call (``train_run`` keeps time for saving and
      the report); its limit replaces ``time_limit``, and the result's ``budget`` says where the time went.
    """
    config = TrainConfig.build(config, options)
    start = time.monotonic()
    time_limit = config.time_limit
    if budget is None and time_limit is not None and time_limit < MIN_TIME_LIMIT:
        raise SchemaError(
            f"time_limit={time_limit:g} is too small for even the baseline; give at least {MIN_TIME_LIMIT:g} seconds"
        )
    if not config.cluster:
        warm_up()  # a worker process starts now: its imports overlap reading and profiling the table
    budget = budget or Budget.plan(time_limit, refit=config.refit_full, start=start)
    emit = progress or notebook_progress() or (lambda kind, info: None)
    frame = without_attrs(read(data))
    chosen = load_recipe(config.recipe)
    schema = profile(frame, target, task=config.task)
    metric = primary_metric(schema.required_task(), config.metric)  # an unknown one is refused before any work
    if frame.shape[1] < 2:
        raise SchemaError(f"the table has only the target column {target!r}: there are no features to learn from")
    frame, y = prepare_target(frame, schema)
    if test_data is None:
        split = split_rows(frame, schema, chosen.split, seed=config.seed)
    else:  # the user's own test rows: every row of ``data`` trains
        test_frame, test_y = prepare_target(read(test_data), schema)
        n_train = len(frame)
        frame = pd.concat([frame, test_frame[frame.columns]], ignore_index=True)
        y = pd.concat([y, test_y], ignore_index=True)
        split = external_split(frame, schema, chosen, n_train)
    classes, codes = _encode_classes(schema.required_task(), y, config.folds, split)
    fold_index = cv_folds(frame, y, schema, split, folds=config.folds, seed=config.seed)
    job = Job(
        name="",
        task=schema.required_task(),
        schema=schema,
        recipe=chosen,
        X=frame.iloc[split.train].drop(columns=[target]),
        y=codes[split.train],
        folds=fold_index,
        X_test=frame.iloc[split.test].drop(columns=[target]),
        X_fresh=frame.iloc[split.fresh].drop(columns=[target]),
        n_classes=len(classes or []),
        log_target=wants_log(schema, chosen, y, config.metric),
        seed=config.seed,
        jobs=config.jobs or 1,
        metric=config.metric,
    )
    budget.done("reading")
    specs, notes = select(schema.required_task(), config.models, n_rows=len(split.train))
    decided = decide(job, y.iloc[split.train], budget)
    chosen = decided.recipe
    job = replace(
        job,
        recipe=chosen,
        log_target=decided.log_target,
        nonnegative=schema.task == "regression" and bool((y >= 0).all()),
    )
    notes = [c.line() for c in decided.choices] + notes
    notes += infinity_notes(frame.drop(columns=[target]))
    engine = open_engine(config.cluster)
    owned = engine is not config.cluster  # an engine the caller opened is the caller's to close
    try:
        trainer = Trainer(job, codes, split, budget, emit, checkpoint, engine)
        trainer.max_predict_ms = config.max_predict_ms
        if checkpoint is not None:
            trainer.restore(checkpoint.start(resume))
        emit("start", {"models": [s.name for s in specs], "notes": notes})
        budget.done("choices")
        schedule(trainer, specs)
        try:
            trainer.check_baseline(trainer.started_dummy - start, frame.shape)
            trainer.check_beyond_baseline()
        except SchemaError:
            if checkpoint is not None:
                checkpoint.remove()  # nothing beyond the baseline finished: nothing worth resuming, nothing left behind
            raise
        if config.tune:
            trainer.tune(specs)
            budget.done("tuning")
        if not trainer.ledger.finished():
            cause = trainer.likely_cause()
            if cause:
                raise SchemaError(f"no model finished; {cause}")
            raise SchemaError("no model finished in the time; raise time_limit or choose other, cheaper models")
        weights = trainer.ensemble() if config.ensemble else None
        entries = rank(trainer.entries(), metric)
        best = fast_enough(entries, config.max_predict_ms)
        keep = set(weights or {}) | {best.name}
        trained_on = trainer.training_rows_only([])
        if config.refit_full:
            trained_on = trainer.refit_full(
                sorted(keep - {"ensemble"}), frame.drop(columns=[target]), codes, config.cluster is not None
            )
        budget.done("final model")
    finally:
        if owned:
            engine.close()
    emit("done", {"seconds": time.monotonic() - start, "best": best.name})
    return TrainResult(
        schema=schema,
        recipe=chosen,
        split=split,
        entries=entries,
        best=best,
        classes=classes,
        results={r.name: r if r.name in keep else replace(r, fitted=None) for r in trainer.ledger},
        frame=frame,
        y=y,
        seconds=time.monotonic() - start,
        notes=notes,
        ensemble=weights,
        trained_on=trained_on,
        config=config,
        budget=budget,
        choices=decided.choices,
        warnings=baseline_warnings(entries, best, metric),
    )


train.__doc__ = (train.__doc__ or "").replace("    {options}", TrainConfig.doc())


def notebook_progress() -> Callable[[str, dict], None] | None:
    """In a Jupyter notebook, a progress bar over the models that train's events redraw; None elsewhere."""
    from trainyard.notebook import NotebookProgress, in_notebook

    if not in_notebook():
        return None
    bar = NotebookProgress("training")

    def on_event(kind: str, info: dict) -> None:
        if kind == "start":
            bar.update("", 0, len(info["models"]))
        elif kind in ("model", "trial"):
            bar.update(("tuning " if kind == "trial" else "") + info["model"])
        elif kind == "result":
            bar.advance()
        elif kind == "done":
            bar.close(f"done in {info['seconds']:.0f} s; best {info['best']}")

    return on_event


def fast_enough(entries: list[Entry], max_predict_ms: float | None) -> Entry:
    """The best-ranked finished model that answers one row within ``max_predict_ms`` (any, without a bound)."""
    if max_predict_ms is None:
        return entries[0]
    finished = [e for e in entries if e.status == "ok"]
    for entry in finished:
        if entry.predict_ms_one_row <= max_predict_ms:
            return entry
    fastest = min(finished, key=lambda e: np.nan_to_num(e.predict_ms_one_row, nan=np.inf))
    raise SchemaError(
        f"no model answers one row within max_predict_ms={max_predict_ms:g}: the fastest, "
        f"{fastest.name}, takes {fastest.predict_ms_one_row:.1f} ms; raise the bound"
    )


def infinity_notes(X: pd.DataFrame) -> list[str]:
    """A note for each feature column holding infinite or overflowing numbers (the pipelines treat them as
    missing: MissingTokens)."""
    notes = []
    for column in X.columns:
        if pd.api.types.is_float_dtype(X[column]):
            values = X[column].to_numpy(dtype=float, na_value=np.nan)
            count, infinite = int(beyond_huge(values).sum()), int(np.isinf(values).sum())
            if count == infinite and count:
                notes.append(f"column {column!r}: {count:,} infinite values treated as missing")
            elif count:
                notes.append(
                    f"column {column!r}: {count:,} values infinite or beyond ±{HUGE:.0e} treated as missing "
                    "(no measurement is that large; scaling them overflows)"
                )
    return notes


def external_split(frame: pd.DataFrame, schema: Schema, recipe: Recipe, n_train: int) -> Split:
    """Train on the first ``n_train`` rows (less any fresh holdout), test on the rest."""
    from trainyard.tabular.split import fresh_rows, resolve_date_column

    train, test = np.arange(n_train), np.arange(n_train, len(frame))
    fresh = np.array([], dtype=int)
    period, date_column = None, resolve_date_column(frame, schema, recipe.split)
    if date_column is not None and recipe.split.fresh_months > 0:
        mask, period = fresh_rows(frame[date_column].iloc[train], recipe.split.fresh_months, date_column)
        fresh, train = train[mask], train[~mask]
    kind = "stratified" if schema.task in ("binary", "multiclass") else "random"
    return Split(
        train,
        test,
        fresh,
        kind,
        stratify=schema.target if kind == "stratified" else None,
        date_column=date_column,
        fresh_period=period,
    )


def _encode_classes(task: str, y: pd.Series, folds: int, split: Split) -> tuple[list[Any] | None, np.ndarray]:
    if task == "regression":
        return None, y.to_numpy(dtype=float)
    classes = sorted(y.unique(), key=str)
    counts = y.iloc[split.train].value_counts()
    small = counts[counts < folds]
    if len(small):
        label, count = small.index[0], int(small.iloc[0])
        raise SchemaError(
            f"class {label!r} has {count} training rows, fewer than the {folds} folds; "
            f"merge it with another class, drop it, or use folds={max(2, count)}"
        )
    lookup = {c: i for i, c in enumerate(classes)}
    return classes, y.map(lookup).to_numpy(dtype=int)


class Trainer:
    """The loop's state: the ledger of results (``results.Ledger``), the engine the fits run on, the deadline.

    Tuning (``tuning.py``) and blending (``blending.py``) are functions of the ledger: tuning yields the
    parameters worth a ``<name>_tuned`` fit, blending returns the ensemble as one more ``ModelResult``;
    the trainer fits, scores and records them like any other model.
    """

    def __init__(self, job: Job, codes: np.ndarray, split: Split, budget: Budget, emit, checkpoint, engine):
        self.job, self.codes, self.split, self.budget, self.emit = job, codes, split, budget, emit
        self.engine = engine
        self.checkpoint = checkpoint
        self.ledger = Ledger()
        fold_rows = int(np.mean([len(train) for train, _ in job.folds])) if job.folds else len(job.y)
        self.cost = CostModel(fold_rows, job.X.shape[1], job.n_classes, len(job.folds))
        self.started_dummy = 0.0  # time.monotonic() when the baseline started: what came before it took
        self.max_predict_ms: float | None = None  # the chosen model's bound on one row's latency

    def restore(self, results: dict[str, ModelResult]) -> None:
        """Take back finished models from an interrupted run (stopped ones are tried again)."""
        for result in results.values():
            if result.ok:
                self.ledger.add(result)

    def fit(
        self,
        spec: ModelSpec,
        params: dict | None = None,
        label: str | None = None,
        *,
        seconds: float | None = None,
        fidelity: Fidelity | None = None,
        resume: bool = True,
        record: bool = True,
    ) -> ModelResult:
        """Fit and score one model within ``seconds`` (default: a slice of what fitting has left), at
        ``fidelity`` or the fullest one the cost model says fits; record it in the ledger.

        ``resume``: a model the ledger holds is not fitted again (a resumed run); ``record``: add the result to
        the ledger (False: the caller decides, as growing a model does)."""
        name = label or spec.name
        if resume and name in self.ledger:
            self.emit("result", {"model": name, "status": "ok", "message": "resumed: finished before"})
            return self.ledger[name]
        self.emit("model", {"model": name})
        job = replace(self.job, name=spec.name, params=params or {})
        started = time.monotonic()
        if name == "dummy":
            self.started_dummy = started
        left = self.budget.left("fitting")  # tuning's fits share fitting's time: tuning has no reserve
        if seconds is None:
            seconds = left if spec.name == "dummy" else self.budget.slice("fitting")
        seconds = min(seconds, left)
        try:
            result = self.scored(self._run(spec, job, seconds, fidelity))
        except Stopped as err:
            why = "the time limit" if seconds >= left else f"its share of the time ({seconds:.0f} s of {left:.0f} s)"
            result = unfinished(name, spec.name, "stopped", f"stopped by {why}: {err}", params)
        except Failed as err:
            result = unfinished(name, spec.name, "failed", str(err), params)
        result = replace(result, name=name, seconds=time.monotonic() - started, cost=spec.cost)
        if record:
            self.record(result)
        self.emit(
            "result",
            {
                "model": name,
                "status": result.status,
                "message": result.message,
                **({"cv_mean": result.cv_mean} if result.ok else {}),
            },
        )
        return result

    def record(self, result: ModelResult) -> ModelResult:
        """Add ``result`` to the ledger (and the checkpoint)."""
        self.ledger.add(result)
        if self.checkpoint is not None:
            self.checkpoint.save(result)
        return result

    def timed(self) -> bool:
        """Whether fits here are planned against the clock: a time limit, folds, and the local engine."""
        return self.budget.limit is not None and len(self.job.folds) >= 2 and isinstance(self.engine, LocalEngine)

    def _run(self, spec: ModelSpec, job: Job, seconds: float, fidelity: Fidelity | None) -> ModelResult:
        """One model's cross-validation and refit within ``seconds``, at ``fidelity`` or the fullest that fits.

        Under a time limit the first fold runs alone, its time corrects the cost model, and the other folds
        follow when they fit; when they do not, every fold runs again at the fidelity that does (a cheaper
        configuration, said on the leaderboard), so a slow model gets a cross-validated score, not nothing.
        """
        if spec.name == "dummy" or not self.timed():
            return self.engine.run(job, seconds=seconds)
        if seconds <= 0:
            raise Stopped("no time left")
        rows = len(job.y)
        fidelity = fidelity or self.fitting_fidelity(spec, seconds)
        if fidelity is None:
            cheapest = lowest(spec, rows)
            raise Stopped(
                f"even at its cheapest ({cheapest.describe(spec)}) it needs about "
                f"{self.cost.whole(spec, cheapest.share):.0f} s"
            )
        at = self.at_fidelity(spec, job, fidelity)
        folds = len(job.folds)
        grace = self.grace(seconds + spec.start_seconds / GRACE)
        try:
            first = self.engine.run(replace(at, folds=job.folds[:1], refit=False), seconds=grace)
            self.cost.observe(spec, fidelity.share, first.work_seconds, 1, rows=fidelity.rows)
        except Stopped:
            self.cost.observe(spec, fidelity.share, grace, 1, finished=False)
            first = None
        # Its own time counts (a worker that had to start first is not its doing). Its seconds are a target and
        # a slice of fitting's time the bound: a model that costs more than predicted but little still finishes.
        spent = grace if first is None else first.work_seconds
        left = min(max(seconds, self.budget.slice("fitting")) - spent, self.budget.left("fitting"))
        rest = self.cost.fold(spec) * fidelity.share * (folds - 1 + REFIT_COST) + OVERHEAD
        if first is not None and rest <= SAFETY * left:
            out = self.engine.run(replace(at, folds=job.folds[1:]), seconds=self.grace(left))
            return self.labelled(spec, fidelity, merge_parts(first, out))
        cheaper = fidelity_for(spec, SAFETY * left / self.cost.whole(spec), rows)
        if cheaper is None or cheaper.share >= fidelity.share:
            took = "did not finish" if first is None else f"took {first.work_seconds:.1f} s"
            raise Stopped(
                f"its first fold{(' at ' + fidelity.describe(spec)) if not fidelity.full else ''} {took}; "
                f"every fold would need about {self.cost.whole(spec, fidelity.share):.0f} s"
            )
        out = self.engine.run(self.at_fidelity(spec, job, cheaper), seconds=self.grace(left))
        return self.labelled(spec, cheaper, out)

    def grace(self, seconds: float) -> float:
        """A call's deadline for ``seconds`` of predicted work: ``GRACE`` times it and half a second (a call
        stopped costs a new worker as well as its time), within what fitting has left."""
        return min(GRACE * seconds + 0.5, self.budget.left("fitting"))

    def fitting_fidelity(self, spec: ModelSpec, seconds: float) -> Fidelity | None:
        """The fullest fidelity whose predicted seconds fill ``SAFETY`` of ``seconds``."""
        return fidelity_for(spec, SAFETY * seconds / self.cost.whole(spec), len(self.job.y))

    @staticmethod
    def at_fidelity(spec: ModelSpec, job: Job, fidelity: Fidelity) -> Job:
        return replace(job, params=params_at(spec, fidelity, job.params), rows_share=fidelity.rows)

    @staticmethod
    def labelled(spec: ModelSpec, fidelity: Fidelity, result: ModelResult) -> ModelResult:
        """``result`` with its fidelity recorded, and said in its message when it is not the full one."""
        if fidelity.full:
            return result
        note = f"a cheaper configuration that fit its time: {fidelity.describe(spec)}"
        return replace(result, rows_share=fidelity.rows, work_share=fidelity.work, message=note)

    def scored(self, result: ModelResult) -> ModelResult:
        """``result`` with every metric on the test rows and on the fresh rows (with the primary one's
        bootstrap standard error), from its outputs there."""
        job = self.job
        assert result.test_output is not None  # every run has test rows
        test = scores_of(job.task, self.codes[self.split.test], result.test_output, job.n_classes)
        return replace(result, test=test, fresh=self.fresh_scores(result.fresh_output))

    def refit_full(self, names: list[str], X: pd.DataFrame, codes: np.ndarray, on_cluster: bool) -> dict[str, Any]:
        """Refit ``names`` on every labelled row with their settings and tree counts; replace their models.

        Returns the rows the saved models learned from, with a note for each model whose refit did not
        fit in the time left (it keeps its training-rows fit).
        """
        rows = np.concatenate([self.split.train, self.split.test, self.split.fresh])
        if on_cluster:
            return self.training_rows_only(["refitting on every row is not available on a cluster yet"])
        # all or none: an ensemble whose members learned from different rows would be hard to explain
        share = len(rows) / max(len(self.split.train), 1)
        needed = sum(1.5 * self.ledger[n].fit_seconds * share + 1.0 for n in names)
        left = self.budget.left("final model")
        if left < needed:
            return self.training_rows_only(
                [
                    f"the saved model learned from the training rows only: refitting "
                    f"{', '.join(names)} on all {len(rows):,} rows needs about {needed:.0f} s "
                    f"and {max(left, 0):.0f} s were left"
                ]
            )
        held_out = np.concatenate([self.split.test, self.split.fresh])
        refit: dict[str, bytes] = {}
        checks: dict[str, RefitCheck | None] = {}
        for name in names:
            scored = self.ledger[name]
            job = replace(
                self.job,
                name=scored.model,
                params=scored.params,
                X=X.iloc[rows],
                y=codes[rows],
                folds=[],
                X_test=X.iloc[held_out],  # its answers there are checked against the scored model's
                X_fresh=X.iloc[:0],
                trees=scored.trees,
                rows_share=scored.rows_share,  # the validated configuration: the same share of the rows
            )
            self.emit("model", {"model": f"{name} (refit on every row)"})
            try:
                out = self.engine.run(job, seconds=self.budget.left("final model"))
            except (Stopped, Failed) as err:
                return self.training_rows_only(
                    [
                        f"the saved model learned from the training rows only: the refit of "
                        f"{name} on every row did not finish ({err})"
                    ]
                )
            refit[name] = out.fitted
            checks[name] = self.check_refit(name, codes[held_out], out.test_output)
        refused = {n: c for n, c in checks.items() if c is not None and not c.passed}
        if refused:
            name, check = next(iter(refused.items()))
            note = (
                f"the refit of {name} on every row was not saved: {check.reason()}; the saved model is the one "
                "scored above, which learned from the training rows"
            )
            return {**self.training_rows_only([note]), "refit_check": {n: c.as_dict() for n, c in refused.items()}}
        for name, fitted in refit.items():
            self.ledger.add(replace(self.ledger[name], fitted=fitted))
        sets = [s for s in ("train", "test", "fresh") if len(getattr(self.split, s))]
        passed = {n: c.as_dict() for n, c in checks.items() if c is not None}
        return {"rows": len(rows), "sets": sets, "notes": [], "refit_check": passed}

    def check_refit(self, name: str, y: np.ndarray, refit: np.ndarray | None) -> RefitCheck | None:
        """The refit of ``name`` against its scored model on the held-out rows (None when there are none)."""
        result = self.ledger[name]
        scored = [out for out in (result.test_output, result.fresh_output) if out is not None]
        if refit is None or not scored:
            return None
        job = self.job
        return check_refit(job.task, job.metric, y, np.concatenate(scored), refit, job.n_classes)

    def training_rows_only(self, notes: list[str]) -> dict[str, Any]:
        """``trained_on`` for saved models that learned from the training rows alone."""
        return {"rows": len(self.split.train), "sets": ["train"], "notes": notes}

    def fresh_scores(self, output: np.ndarray | None) -> dict[str, float | None]:
        """Every metric on the fresh rows, and ``<primary>_se``: the primary one's bootstrap standard error."""
        if output is None:
            return {}
        job, y = self.job, self.codes[self.split.fresh]
        scores: dict[str, float | None] = dict(scores_of(job.task, y, output, job.n_classes))
        metric = primary_metric(job.task, job.metric).name
        scores[f"{metric}_se"] = bootstrap_se(job.task, metric, y, output, job.n_classes, seed=job.seed)
        return scores

    def check_baseline(self, before: float, shape: tuple[int, int]) -> None:
        """Refuse a run whose baseline did not finish, saying how long this table needs before any score."""
        baseline = self.ledger.get("dummy")
        if baseline is None or baseline.status != "stopped":
            return
        spent = baseline.seconds
        what = (
            f"it had not finished after {spent:.1f} s, and reading, profiling and the choices took "
            f"{before:.1f} s before it"
            if spent >= 0.5
            else f"reading, profiling and the choices took {before:.1f} s and left it no time"
        )
        raise SchemaError(
            f"the time limit ({self.budget.limit:g} s) is too small for even the baseline (dummy) model on "
            f"{shape[0]:,} rows × {shape[1] - 1:,} columns: {what}; this table needs more than "
            f"{before + spent:.0f} s before any model is scored: try at least {2 * (before + spent):.0f} s, "
            f"or fewer columns"
        )

    def check_beyond_baseline(self) -> None:
        """Refuse a run where only the baseline finished, naming the time the quickest real model needed."""
        time_limit = self.budget.limit
        if any(r.name != "dummy" for r in self.ledger.finished()):
            return
        stopped = [r for r in self.ledger if r.name != "dummy" and r.status == "stopped"]
        ran = {r.name: r.seconds for r in stopped if r.seconds >= 1.0}  # it ran, then was stopped
        if ran and time_limit is not None:
            name = min(ran, key=lambda n: ran[n])
            raise SchemaError(
                f"no model beyond the baseline finished within the {time_limit:.0f} s time limit: the "
                f"quickest, {name}, was stopped after {ran[name]:.0f} s; give about twice the time, "
                "or fewer, cheaper models"
            )
        if stopped and time_limit is not None:  # stopped before it ran: the cost model said it could not fit
            raise SchemaError(
                f"no model beyond the baseline finished within the {time_limit:.0f} s time limit: "
                f"{stopped[0].name} was {stopped[0].message}; give more time, or fewer, cheaper models"
            )
        cause = self.likely_cause()
        if cause:
            baseline = self.ledger.get("dummy")
            baseline_ok = baseline is not None and baseline.ok
            raise SchemaError(
                f"{'every model beyond the baseline failed' if baseline_ok else 'no model finished'}; {cause}"
            )

    def likely_cause(self) -> str:
        """The failure most models share, as "the likely cause (k of n models: a, b): message"; "" if none failed."""
        failed = {r.name: r.message for r in self.ledger if r.status == "failed"}
        if not failed:
            return ""
        message, count = Counter(failed.values()).most_common(1)[0]
        names = [n for n, m in failed.items() if m == message][:3]
        return f"the likely cause ({count} of {len(self.ledger)} models: {', '.join(names)}): {message}"

    def entries(self) -> list[Entry]:
        return self.ledger.entries()

    def tune(self, specs: list[ModelSpec], top: int = 2, trials: int = 12) -> None:
        """An Optuna search over the best few models' spaces, inside the remaining budget; a ``<name>_tuned``
        fit for each search that beats its model's defaults."""
        from trainyard.tabular.training.tuning import tuned_params

        def left() -> float:
            return self.budget.left("tuning")

        def run(job: Job, seconds: float) -> ModelResult:
            return self.engine.run(job, seconds=seconds)

        for spec, params in tuned_params(self.ledger, specs, run, self.job, left, self.emit, top=top, trials=trials):
            self.fit(spec, params=params, label=f"{spec.name}_tuned")

    def ensemble(self) -> dict[str, float] | None:
        """The greedy blend's weights, recorded as ``ensemble`` when it beats the best single model."""
        from trainyard.tabular.training.blending import greedy_ensemble

        blend = greedy_ensemble(self.ledger, self.job, self.max_predict_ms)
        if blend is None:
            return None
        self.ledger.add(self.scored(blend))
        return blend.params["weights"]
