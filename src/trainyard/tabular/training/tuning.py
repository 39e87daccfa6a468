"""Optuna tuning of the best few models inside the remaining time budget."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from trainyard.tabular.metrics import primary_metric
from trainyard.tabular.training.engines.local import Failed, Stopped
from trainyard.tabular.training.job import Job


def suggest(trial, space: dict[str, tuple]) -> dict[str, Any]:
    """One trial's parameters drawn from a model's tuning space."""
    params: dict[str, Any] = {}
    for name, (kind, *bounds) in space.items():
        if kind == "int":
            params[name] = trial.suggest_int(name, bounds[0], bounds[1])
        elif kind == "float":
            params[name] = trial.suggest_float(name, bounds[0], bounds[1])
        elif kind == "log":
            params[name] = trial.suggest_float(name, bounds[0], bounds[1], log=True)
        else:
            params[name] = trial.suggest_categorical(name, list(bounds[0]))
    return params


def default_trial(defaults: dict[str, Any], space: dict[str, tuple]) -> dict[str, Any]:
    """The catalog's defaults that the space can express: SVC's ``gamma="scale"`` is not a number in a log
    range, and Optuna refuses the whole trial for it (a ValueError that ended whole runs)."""
    trial = {}
    for name, (kind, *bounds) in space.items():
        value = defaults.get(name)
        if value is None:
            continue
        if kind == "cat" or (
            isinstance(value, (int, float)) and not isinstance(value, bool) and bounds[0] <= value <= bounds[1]
        ):
            trial[name] = value
    return trial


def tune_specs(trainer, specs, *, top: int, trials: int) -> None:
    """Search each of the ``top`` best tunable models; add ``<name>_tuned`` when it wins on CV."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric = primary_metric(trainer.job.task, trainer.job.metric)
    by_name = {s.name: s for s in specs}
    finished = [
        (n, r)
        for n, r in trainer.results.items()
        if r.get("status") == "ok" and n in by_name and by_name[n].space and n != "dummy"
    ]
    finished.sort(key=lambda nr: nr[1]["cv_mean"], reverse=metric.greater_is_better)
    for name, record in finished[:top]:
        spec = by_name[name]
        per_trial = max(record.get("seconds", 1.0), 0.5)
        sampler = optuna.samplers.TPESampler(seed=trainer.job.seed)
        study = optuna.create_study(direction="maximize" if metric.greater_is_better else "minimize", sampler=sampler)
        study.enqueue_trial(default_trial(spec.defaults, spec.space))
        for _ in range(trials):
            if trainer.deadline - time.monotonic() < 3 * per_trial:
                break  # keep enough for this trial and the final refit
            trial = study.ask()
            params = suggest(trial, spec.space)
            job = Job(**{**trainer.job.__dict__, "name": name, "params": params, "refit": False})
            try:
                out = trainer.engine.run(job, seconds=trainer.deadline - time.monotonic())
            except (Stopped, Failed):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            study.tell(trial, float(np.mean(out["cv_scores"])))
            trainer.emit("trial", {"model": name, "score": float(np.mean(out["cv_scores"]))})
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if len(complete) < 2:
            continue
        best = study.best_trial
        improves = best.value > record["cv_mean"] if metric.greater_is_better else best.value < record["cv_mean"]
        if improves and best.params != default_trial(spec.defaults, spec.space):
            trainer.fit(spec, params=best.params, label=f"{name}_tuned")
