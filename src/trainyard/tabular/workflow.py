"""What ``trainyard train`` does, as one library call: train, save the run, write its report, return it.

``train_run`` picks the run's path, holds the writer lock on it, resumes an interrupted run of the same
name, data and seed, saves atomically and writes the report; the CLI command is a thin skin over it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trainyard.data.readers import read
from trainyard.errors import DataError, SchemaError
from trainyard.io import writer_lock
from trainyard.tabular.runs.store import PartialRun, Run, fingerprint, save_run
from trainyard.tabular.training.budget import Budget
from trainyard.tabular.training.config import TrainConfig
from trainyard.tabular.training.engines.local import warm_up
from trainyard.tabular.training.trainer import MIN_TIME_LIMIT, train


def run_name(source: Any) -> str:
    """The default name of a run: the data file's name without its suffixes ("run" for a table in memory)."""
    if not isinstance(source, (str, Path)):
        return "run"
    stem = Path(str(source).split("*")[0].rstrip("/")).name or "run"
    return Path(stem).stem.split(".")[0] or "run"


def train_run(
    data: Any,
    target: str,
    *,
    runs: str | Path = "runs",
    name: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    report: bool = True,
    spent: Callable[[], float] | None = None,
    command: list[str] | None = None,
    mlflow: str | None = None,
    progress: Callable[[str, dict], None] | None = None,
    config: TrainConfig | None = None,
    **options: Any,
) -> Run:
    """Train on ``data`` (a path, a glob, a SQL query or a table) to predict ``target``; save and report the run.

    The run goes to ``runs/name`` (``name`` defaults to the data file's name). ``overwrite`` replaces a finished
    run there; ``resume`` continues an interrupted one (``runs/.name.partial``, written after every model) of
    the same data, seed, recipe, target, folds and metric, and trains only what it lacks. ``report`` writes
    ``report.html`` and ``report.md`` into the run. The training options are ``train()``'s (``TrainConfig``:
    keywords, or ``config`` whole); ``time_limit`` (seconds) covers the whole call: reading, training, saving
    and the report; ``spent`` says how much of it was spent before the call (the CLI passes the process's
    age). ``mlflow`` logs the run to MLflow when given: ``"local"`` for the store ./mlflow.db in the working
    directory, or a tracking URI (``http://host:port``); it is logged even when the time limit is spent, as
    it was asked for. ``progress`` is ``train()``'s.

    Returns the saved ``Run``; its ``result`` is the ``TrainResult``, ``report`` the report's path (None when
    not written: not asked for, or the time limit was spent) and ``mlflow_run`` the MLflow run's id.
    """
    config = TrainConfig.build(config, options)
    time_limit = config.time_limit
    before = spent() if spent is not None else 0.0
    # one clock for the whole call, from the process's start when the CLI says how long ago that was
    budget = Budget.plan(time_limit, refit=config.refit_full, report=report, start=time.monotonic() - before)
    if mlflow is not None:  # before any work: a missing extra or server is no reason to train and then fail
        from trainyard.tabular.tracking.mlflow_runs import check_store

        check_store(mlflow)

    path = Path(runs) / (name or run_name(data))
    if path.exists() and not overwrite:
        raise DataError(f"{path}: the run exists; pass overwrite=True to replace it, or another name=")
    if not config.cluster:  # the fits' worker starts before the table is read: its imports overlap the reading
        warm_up()
    with writer_lock(path):  # one writer per run: a second train or resume of it is refused
        frame = read(data)
        checkpoint = PartialRun(
            path,
            {
                "data": fingerprint(frame),
                "seed": config.seed,
                "recipe": config.recipe,
                "target": target,
                "folds": config.folds,
                "metric": config.metric,
            },
        )
        training = budget.left("saving")  # what the training may use, final model included
        if time_limit is not None and training < MIN_TIME_LIMIT:
            raise SchemaError(
                f"time_limit={time_limit:g} leaves {max(training, 0):.1f} s for training after start-up "
                f"and reading; give it at least {time_limit - training + MIN_TIME_LIMIT:.0f} s"
            )
        result = train(frame, target, config, budget=budget, checkpoint=checkpoint, resume=resume, progress=progress)
        save_run(result, path, command=command, overwrite=overwrite)
        checkpoint.remove()
        budget.done("saving")
    run = Run.of_result(result, path)
    if report and budget.left("report") > 0:
        from trainyard.tabular.report import write_report

        deadline = None if time_limit is None else budget.deadline("report")
        run.report, _ = write_report(run, deadline=deadline)  # the run as trained: not read back from disk
        budget.done("report")
    if mlflow is not None:
        from trainyard.tabular.tracking.mlflow_runs import log_run, tracking_uri

        run.mlflow_run, run.mlflow_uri = log_run(run, mlflow), tracking_uri(mlflow)
    return run
