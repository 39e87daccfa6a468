"""Optuna tuning of the best few models inside the remaining time budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from trainyard.tabular.metrics import primary_metric
from trainyard.tabular.training.engines.local import Failed, Stopped
from trainyard.tabular.training.job import Job
from trainyard.tabular.training.results import Ledger, ModelResult


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


def tuned_params(
    ledger: Ledger, specs, run: Callable[[Job, float], ModelResult], job: Job, left, emit, *, top: int, trials: int
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Search each of the ``top`` best tunable models in ``ledger``; yield the (spec, parameters) that beat its
    defaults on cross-validation, for the trainer to fit as ``<name>_tuned`` before the next search starts.

    ``run(job, seconds)`` cross-validates one trial; ``left()`` is the seconds the tuning may still use.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric = primary_metric(job.task, job.metric)
    by_name = {s.name: s for s in specs}
    # a model seen at a lower fidelity is not tuned: its trees were cut to fit, the time is too short to search
    finished = [
        r
        for r in ledger.finished()
        if r.name in by_name and by_name[r.name].space and r.name != "dummy" and r.fidelity.full
    ]
    finished.sort(key=lambda r: r.cv_mean, reverse=metric.greater_is_better)
    for result in finished[:top]:
        name, spec = result.name, by_name[result.name]
        per_trial = max(1.0 if np.isnan(result.seconds) else result.seconds, 0.5)
        sampler = optuna.samplers.TPESampler(seed=job.seed)
        study = optuna.create_study(direction="maximize" if metric.greater_is_better else "minimize", sampler=sampler)
        study.enqueue_trial(default_trial(spec.defaults, spec.space))
        for _ in range(trials):
            if left() < 3 * per_trial:
                break  # keep enough for this trial and the final refit
            trial = study.ask()
            params = suggest(trial, spec.space)
            try:
                out = run(replace(job, name=name, params=params, refit=False), left())
            except (Stopped, Failed):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            study.tell(trial, out.cv_mean)
            emit("trial", {"model": name, "score": out.cv_mean})
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if len(complete) < 2:
            continue
        best = study.best_trial
        value = float(best.value)  # type: ignore[arg-type]  # a complete trial has one
        improves = value > result.cv_mean if metric.greater_is_better else value < result.cv_mean
        if improves and best.params != default_trial(spec.defaults, spec.space):
            yield spec, best.params
