"""``trainyard train`` and ``trainyard predict``: a leaderboard and a saved run; predictions on new rows."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from trainyard.cli import options as opt
from trainyard.cli.render import Column, print_table
from trainyard.tabular.training.config import TrainConfig

if TYPE_CHECKING:  # the CLI imports no pandas or scikit-learn before a command runs
    from trainyard.tabular.training.trainer import TrainResult

# The training options' defaults and help come from their one declaration, TrainConfig (a test checks
# every flag against it); a flag that turns an option off says "Off:" before the option's help.
HELP, DEFAULT = TrainConfig.help, TrainConfig.default


def _off(name: str) -> str:
    return f"Off: {HELP(name)}"


Models = Annotated[Optional[str], typer.Option("--models", "-m", help=f"Comma-separated. {HELP('models')}")]
TimeLimit = Annotated[Optional[float], typer.Option("--time-limit", min=1, help=HELP("time_limit"))]


def train_command(
    source: opt.Source,
    target: Annotated[str, typer.Option("--target", "-t", help="The column to predict.")],
    recipe: Annotated[str, typer.Option("--recipe", "-r", help=HELP("recipe"))] = DEFAULT("recipe"),
    models: Models = DEFAULT("models"),
    time_limit: TimeLimit = DEFAULT("time_limit"),
    folds: Annotated[int, typer.Option("--folds", min=2, help=HELP("folds"))] = DEFAULT("folds"),
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help=HELP("jobs"))] = DEFAULT("jobs"),
    metric: Annotated[Optional[str], typer.Option("--metric", help=HELP("metric"))] = DEFAULT("metric"),
    task: Annotated[Optional[str], typer.Option("--task", help=HELP("task"))] = DEFAULT("task"),
    seed: Annotated[int, typer.Option("--seed", min=0, help=HELP("seed"))] = DEFAULT("seed"),
    name: Annotated[
        Optional[str], typer.Option("--name", help="The run's name under runs/ (default: the data's name).")
    ] = None,
    runs: Annotated[Path, typer.Option("--runs", help="Where runs are kept.")] = Path("runs"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing run.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run of the same name, data and seed.")
    ] = False,
    no_tune: Annotated[bool, typer.Option("--no-tune", help=_off("tune"))] = not DEFAULT("tune"),
    no_ensemble: Annotated[bool, typer.Option("--no-ensemble", help=_off("ensemble"))] = not DEFAULT("ensemble"),
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report.html and report.md.")] = False,
    no_refit_full: Annotated[bool, typer.Option("--no-refit-full", help=_off("refit_full"))] = not DEFAULT(
        "refit_full"
    ),
    max_predict_ms: Annotated[
        Optional[float], typer.Option("--max-predict-ms", min=0.01, help=HELP("max_predict_ms"))
    ] = DEFAULT("max_predict_ms"),
    cluster: Annotated[Optional[str], typer.Option("--cluster", help=HELP("cluster"))] = DEFAULT("cluster"),
    mlflow: Annotated[
        Optional[str],
        typer.Option(
            "--mlflow",
            help="Log the run to MLflow: a parent run, a child per model, the leaderboard, the report and the best "
            "model (pyfunc). Alone: the local store ./mlflow.db; or a URI: http://host:port, sqlite:///file.db.",
        ),
    ] = None,
    lazy: Annotated[
        bool,
        typer.Option(
            "--lazy",
            help="A table larger than memory: read it as a Dask DataFrame "
            "and train XGBoost and LightGBM on the cluster (default local:2).",
        ),
    ] = False,
) -> None:
    """Train the catalog side by side, validate honestly, rank the models and save the run.

    Example: trainyard train cars.csv --target price --time-limit 120
    """
    if lazy:
        return _train_lazy(source, target, _names(models), cluster or "local:2", seed, task)
    if not cluster:  # the fits' worker imports its libraries while this process imports its own and reads
        from trainyard.tabular.training.engines.local import warm_up

        warm_up()
    from trainyard.tabular.workflow import train_run

    if mlflow is not None:  # the store is checked before the progress bar starts: a refusal is its one line
        from trainyard.tabular.tracking.mlflow_runs import check_store

        check_store(mlflow)
    console = Console()
    with training_progress(console) as on_event:
        run = train_run(
            source,
            target,
            runs=runs,
            name=name,
            overwrite=overwrite,
            resume=resume,
            report=not no_report,
            time_limit=time_limit,
            spent=opt.process_seconds,
            command=sys.argv,
            recipe=recipe,
            models=_names(models),
            folds=folds,
            seed=seed,
            jobs=jobs,
            metric=metric,
            task=task,
            tune=not no_tune,
            ensemble=not no_ensemble,
            cluster=cluster,
            refit_full=not no_refit_full,
            max_predict_ms=max_predict_ms,
            progress=on_event,
            mlflow=mlflow,
        )
    result = run.result
    print_leaderboard(console, result, metric)
    console.print(latency_line(result), highlight=False)
    for warning in result.warnings:
        console.print(f"[bold red]warning:[/] {escape(warning)}", highlight=False)
    trained = result.trained_on
    for note in trained.get("notes", []):
        console.print(f"note: {note}", highlight=False)
    console.print(
        f"the saved model learned from {trained['rows']:,} rows ({' + '.join(trained['sets'])}); "
        "the scores above are on rows it had not seen when scored",
        highlight=False,
    )
    checks = trained.get("refit_check", {})
    if checks and "test" in trained["sets"]:
        name, worst = max(checks.items(), key=lambda item: item[1]["lost_share"])
        console.print(
            f"the refit was checked on the {worst['rows']:,} held-out rows it learned from: {name}'s "
            f"{worst['metric']} {worst['refit']:.3f} against the scored model's {worst['scored']:.3f} "
            f"(refit_check in the manifest)",
            highlight=False,
        )
    check = run.manifest.get("saved_check")
    if check:
        console.print(
            f"the saved model, loaded back as predict loads it, gave the same answers on {check['rows']} held-out "
            f"rows (checked in {check['seconds']:.1f} s)",
            highlight=False,
        )
    console.print(
        f"saved the run to [bold]{run.path}[/] (best: {result.best.name}); "
        f"predict with: trainyard predict {run.path} NEW_ROWS.csv"
    )
    if run.report is not None:
        console.print(f"report: [bold]{run.report}[/] (open it in a browser; report.md beside it)")
    elif not no_report:
        console.print(
            f"note: no report: --time-limit {time_limit:g} s is spent; write it with: trainyard report {run.path}"
        )
    if run.mlflow_run is not None:
        console.print(
            f"logged to MLflow ({run.mlflow_uri}): run {run.mlflow_run}; the model loads with "
            f"mlflow.pyfunc.load_model('runs:/{run.mlflow_run}/model')",
            highlight=False,
        )
    if time_limit is not None:
        console.print(
            f"the command took {opt.process_seconds():.0f} s of its --time-limit {time_limit:g}", highlight=False
        )


def latency_line(result: TrainResult) -> str:
    """How fast the chosen model answers: one row, and 1,000 rows."""
    best = result.best
    members = f" ({len(result.ensemble)} members)" if best.name == "ensemble" and result.ensemble else ""
    return (
        f"{best.name}{members} answers one row in {best.predict_ms_one_row:.1f} ms and 1,000 rows in "
        f"{best.predict_ms_per_1000:.0f} ms (measured on the test rows)"
    )


def _train_lazy(source, target: str, models, cluster: str, seed: int, task) -> None:
    from trainyard.data.lazy import read_lazy
    from trainyard.tabular.training.dask_boosters import check_models, train_lazy

    check_models(models)
    console = Console()
    with console.status(f"training on {source} lazily, on the cluster {cluster}"):
        result = train_lazy(read_lazy(source), target, models=models, cluster=cluster, seed=seed, task=task)
    keys = ["r2", "rmse", "mae"] if result.schema.task == "regression" else ["accuracy", "log_loss"]
    columns = [
        Column("model", "name"),
        *(Column(k, rank=i) for i, k in enumerate(keys)),
        Column("seconds", rank=len(keys)),
        Column("status", "text", len(keys) + 1),
    ]
    rows = [
        [
            entry.name,
            *(f"{entry.test[k]:.4g}" if k in entry.test else "" for k in keys),
            f"{entry.seconds:.1f}",
            escape(entry.status + (f" ({entry.message})" if entry.message else "")),
        ]
        for entry in result.entries
    ]
    print_table(console, f"{result.rows:,} rows, {len(result.features)} features, {result.schema.task}", columns, rows)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(
        "note: lazy training is not saved as a run yet; train on a sample in memory to save, predict and serve a run",
        highlight=False,
    )


@contextmanager
def training_progress(console: Console) -> Iterator[Callable[[str, dict], None]]:
    """A progress bar over the models, and one line per model that failed, stopped or was resumed."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task_id = bar.add_task("training", total=None)

        def on_event(kind: str, info: dict) -> None:
            if kind == "start":
                bar.update(task_id, total=len(info["models"]))
                for note in info["notes"]:
                    console.print(f"[dim]{note}[/]")
            elif kind == "model":
                bar.update(task_id, description=f"training {info['model']}")
            elif kind == "result":
                task = bar.tasks[task_id]
                if task.total is not None and task.completed >= task.total:  # a tuned model or the ensemble
                    bar.update(task_id, total=task.total + 1)
                bar.advance(task_id)
                if info.get("message", "").startswith("resumed"):
                    console.print(
                        f"{info['model']}: taken from the interrupted run, not trained again", highlight=False
                    )
                elif info["status"] != "ok":
                    console.print(f"[yellow]{info['model']}: {info['status']} — {info.get('message', '')}[/]")
            elif kind == "trial":
                bar.update(task_id, description=f"tuning {info['model']}")

        yield on_event


def run_training(console: Console, frame, target: str, **kwargs) -> TrainResult:
    """``train`` with the progress bar (the demo's way in)."""
    from trainyard.tabular.training.trainer import train

    with training_progress(console) as on_event:
        return train(frame, target, progress=on_event, **kwargs)


def print_leaderboard(console: Console, result: TrainResult, metric_name: str | None = None) -> None:
    """Print the leaderboard fitted to the terminal: rank, model, CV, test and fresh scores, status, timings."""
    from trainyard.tabular.leaderboard import to_frame
    from trainyard.tabular.metrics import primary_metric

    metric = primary_metric(result.schema.required_task(), metric_name)
    frame = to_frame(result.entries, metric)
    columns = [leaderboard_column(c, metric.name) for c in frame.columns]
    rows = [
        [escape(_cell(v) if c != "rank" else _rank(v)) for c, v in zip(frame.columns, row)]
        for row in frame.itertuples(index=False)
    ]
    print_table(
        console,
        f"leaderboard: {result.schema.target} ({result.schema.task}, ranked by CV {metric.name})",
        columns,
        rows,
    )
    console.print(
        f"train {len(result.split.train):,} / test {len(result.split.test):,} rows; "
        f"{fresh_summary(result, metric)}; {result.seconds:.0f} s in all",
        highlight=False,
    )
    console.print(result.budget.spent_line(), highlight=False)  # where the time went, by part


# The leaderboard's columns, most important first: a narrow terminal leaves out the last ones.
LEADERBOARD_RANKS = {
    "rank": 0,
    "model": 0,
    "cv": 0,
    "cv_std": 1,
    "test": 2,
    "fresh": 3,
    "status": 4,
    "fit_seconds": 5,
    "predict_ms_per_1000": 6,
    "size_kb": 7,
    "flags": 8,
}


def leaderboard_column(name: str, metric: str) -> Column:
    """The table column for a leaderboard field: its header (the metric named) and how important it is."""
    key = name.split("_")[0] if name.startswith(("cv_", "test_", "fresh_")) and name != "cv_std" else name
    header = {
        "cv": f"CV {metric}",
        "cv_std": "±",
        "test": "test",
        "fresh": "fresh",
        "fit_seconds": "fit s",
        "predict_ms_per_1000": "ms/1k rows",
        "size_kb": "KB",
    }.get(key, name)
    kind = "name" if name in ("model", "status") else "text" if name == "flags" else "number"
    return Column(header, kind, LEADERBOARD_RANKS.get(key, 9))


def fresh_summary(result: TrainResult, metric) -> str:
    """The fresh set's size and months, and the best model's fresh score with its bootstrap standard error."""
    split = result.split
    if not len(split.fresh):
        return (
            "no fresh set: the newest months hold too few rows to score"
            if split.date_column
            else "no fresh set (no date column)"
        )
    score, se = result.best.fresh.get(metric.name), result.best.fresh.get(f"{metric.name}_se")
    text = f"fresh set: {len(split.fresh):,} rows ({split.fresh_period} by {split.date_column})"
    if score is not None:
        text += f", best's fresh {metric.name} {score:.4f}" + (f" ± {se:.4f} (bootstrap SE)" if se else "")
    return text


def _rank(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(int(value))


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def _names(models: str | None) -> list[str] | None:
    return [m.strip() for m in models.split(",") if m.strip()] if models else None


def predict_command(
    run: Annotated[Path, typer.Argument(help="A run directory made by `trainyard train`.")],
    source: opt.Source,
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Write predictions to this CSV or Parquet file.")
    ] = None,
    trust_types: opt.TrustTypes = None,
) -> None:
    """Predict new rows with a saved run, after checking them against its Schema.

    Example: trainyard predict runs/cars new_listings.csv -o predictions.csv
    """
    from trainyard.data.readers import read
    from trainyard.io import atomic_path
    from trainyard.tabular.runs.predict import predict_with_notes
    from trainyard.tabular.runs.store import load_run

    loaded = load_run(run, trust_types=opt.trusted(trust_types))
    frame = read(source)
    predictions, notes = predict_with_notes(loaded, frame)
    console = Console(stderr=True)
    for note in notes:
        console.print(f"note: {note}")
    if out is None:
        typer.echo(predictions.to_csv(index=False), nl=False)
        return
    with atomic_path(out) as tmp:
        if out.suffix == ".parquet":
            predictions.to_parquet(tmp, index=False)
        else:
            predictions.to_csv(tmp, index=False)
    console.print(f"wrote {len(predictions):,} predictions to {out}")


def register(app: typer.Typer) -> None:
    """Add `trainyard train` and `trainyard predict` to the app."""
    app.command("train")(train_command)
    app.command("predict")(predict_command)
