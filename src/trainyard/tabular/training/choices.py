"""Choices the data makes, on the folds, before the catalog trains: raw or log target, free text kept or not,
mostly-missing columns kept or not (for the models that take missing values).

Each choice fits one cheap probe (HistGradientBoosting, 60 trees, at most ``PROBE_ROWS`` training rows)
per option on the first ``PROBE_FOLDS`` folds (one fold above ``SMALL_TABLE`` rows), in a worker killed
when the time kept for probes (``BUDGET_SHARE`` of the limit) is spent, and keeps the option with the
better mean validation score on the run's ranking metric. The default option (raw target, text dropped)
stays unless another beats it by more than ``MARGIN`` of the score's scale, so noise does not flip a choice.

Every choice is recorded, scores and each probe's seconds included, and the plan and the report show it.
The score alone decides: weighing what kept words cost every later fit was tried and lost (movies' titles
and trump_source's tweets score better with the words and fewer models trained; docs/benchmarks.md,
"Costly choices").
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from trainyard.data.schema import Role
from trainyard.tabular.metrics import primary_metric
from trainyard.tabular.training.budget import Budget
from trainyard.tabular.training.engines.local import Failed, Stopped, run_with_deadline

PROBE_FOLDS = 3
SMALL_TABLE = 5_000  # training rows; above it one fold decides
PROBE_ROWS = 10_000
PROBE_PARAMS = {"max_iter": 60, "learning_rate": 0.15}
MARGIN = 0.002  # of max(1, |score|): a smaller gain is noise on a few thousand rows
BUDGET_SHARE = 0.1  # of the time limit, at most, for all the probes
# Mostly-missing columns, when kept, are kept to this share for the models that take missing values:
# on movies (92% missing budget) keeping them gained 0.017 R², on ames it cost 0.007-0.016
# (bench/missing_columns.py), so the folds decide.
KEEP_MISSING = 0.95


@dataclass
class Choice:
    """One choice made on the folds before training: the options, their probe scores, the one chosen and why."""

    what: str  # "target", "text" or "mostly-missing columns"
    options: dict[str, float]  # option -> mean probe score
    chosen: str
    why: str
    seconds: dict[str, float] = field(default_factory=dict)  # option -> its probe's fitting seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        return f"{self.what}: {self.chosen} ({self.why})"


@dataclass
class Decided:
    """What the choices decided: the recipe with them applied, and whether the target is logged."""

    recipe: Any  # the Recipe with the choices applied
    log_target: bool
    choices: list[Choice]


def decide(job, y_raw: pd.Series, budget: Budget) -> Decided:
    """The choices for ``job`` (a fitting.Job on the training rows, folds set), applied to its recipe; the
    probes take at most ``BUDGET_SHARE`` of ``budget``'s limit."""
    from trainyard.tabular.prep.target import can_log, wants_log

    recipe, choices = job.recipe, []
    deadline = budget.capped("choices", BUDGET_SHARE)
    if can_log(job.schema, recipe, y_raw, job.metric):
        choice = _compare(
            replace(job, log_target=False), {"raw": {}, "log": {"log_target": True}}, "raw", deadline, "target"
        )
        choices.append(choice)
        transform = "log" if choice.chosen == "log" else "none"
        recipe = replace(recipe, target=replace(recipe.target, transform=transform))
    log = wants_log(job.schema, recipe, y_raw, job.metric)
    text = [c.name for c in job.schema.columns if c.role is Role.TEXT and c.name in job.X.columns]
    if text and recipe.encode.text == "auto":
        words = replace(recipe, encode=replace(recipe.encode, text="words"))
        recipe = replace(recipe, encode=replace(recipe.encode, text="drop"))
        choice = _compare(
            replace(job, recipe=recipe, log_target=log),
            {"dropped": {}, "words": {"recipe": words}},
            "dropped",
            deadline,
            "text",
        )
        choices.append(choice)
        recipe = words if choice.chosen == "words" else recipe
    limit = recipe.clean.max_missing
    if recipe.clean.max_missing_native == "same" and limit is not None and (job.X.isna().mean() > limit).any():
        kept = replace(recipe, clean=replace(recipe.clean, max_missing_native=KEEP_MISSING))
        choice = _compare(
            replace(job, recipe=recipe, log_target=log),
            {"dropped": {}, "kept": {"recipe": kept}},
            "dropped",
            deadline,
            "mostly-missing columns",
        )
        choices.append(choice)
        recipe = kept if choice.chosen == "kept" else recipe
    return Decided(recipe=recipe, log_target=log, choices=choices)


def _compare(job, options: dict[str, dict[str, Any]], default: str, deadline: float, what: str) -> Choice:
    """Probe each option; the default, said so, when the time for probes runs out first."""
    metric = primary_metric(job.task, job.metric)
    scores: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for option, change in options.items():
        probe = replace(job, name="hist_gb", params=dict(PROBE_PARAMS), **change)
        try:  # in a worker with a deadline: a probe never takes more than the time kept for probes
            scores[option], seconds[option] = run_with_deadline(
                _probe, probe, metric.name, seconds=deadline - time.monotonic()
            )
        except (Stopped, Failed) as err:
            return Choice(what, scores, default, f"not decided ({err}); kept the default", seconds)
    sign = 1 if metric.greater_is_better else -1
    best = max(scores, key=lambda o: sign * scores[o])
    margin = MARGIN * max(1.0, abs(scores[default]))
    chosen = best if sign * (scores[best] - scores[default]) > margin else default
    folds = len(_probe_folds(job))
    shown = ", ".join(f"{o} {v:.4f} ({seconds[o]:.1f} s)" for o, v in scores.items())
    why = f"{metric.name} on {folds} folds of a probe HistGradientBoosting: {shown}"
    return Choice(what, scores, chosen, why, seconds)


def _probe_folds(job) -> list:
    """Three folds on a small table; one on a larger one (its validation rows are then 1,000 or more)."""
    return job.folds[:PROBE_FOLDS] if len(job.X) <= SMALL_TABLE else job.folds[:1]


def _probe(job, metric_name: str) -> tuple[float, float]:
    from trainyard.tabular.metrics import metric_value
    from trainyard.tabular.models.output import predict_output
    from trainyard.tabular.training.job import make_pipeline

    rng = np.random.default_rng(job.seed)
    values = []
    started = time.perf_counter()
    for train, valid in _probe_folds(job):
        if len(train) > PROBE_ROWS:
            train = np.sort(rng.choice(train, PROBE_ROWS, replace=False))
        pipeline = make_pipeline(job).fit(job.X.iloc[train], job.y[train])
        output = predict_output(pipeline, job.X.iloc[valid], job.task, job.n_classes)
        values.append(metric_value(job.task, metric_name, job.y[valid], output, job.n_classes))
    return float(np.nanmean(values)), time.perf_counter() - started  # timed here: no worker start, no pipe
