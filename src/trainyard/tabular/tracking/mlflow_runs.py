"""Send a run to MLflow: one parent run, a child run per model, the leaderboard, the report and the best model.

The parent holds what decides the run (data fingerprint, recipe, seed, target, task, metric), the best model's
scores, the leaderboard as a table artifact, ``report.html`` and ``report.md``, and the best model as an MLflow
pyfunc model (``pyfunc_model.py``) with a signature from the Schema and an input example from the test rows.
Each child holds one model's settings, its CV / test / fresh scores, fit seconds and status.

Everything goes through an ``MlflowClient`` for the given store: the process's own MLflow settings (the
tracking URI, an active run) are neither read nor changed.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from trainyard.errors import DataError
from trainyard.extras import require
from trainyard.tabular.runs.store import Run

# MLflow's own default: a SQLite store in the working directory (artifacts in ./mlruns), nothing to start
LOCAL_URI = "sqlite:///mlflow.db"
EXPERIMENT = "trainyard"
EXAMPLE_ROWS = 5
PARAM_CHARS = 6000  # MLflow's limit on one parameter value
PROBE_SECONDS = 5.0


def tracking_uri(uri: str | None) -> str:
    """The store to log to: a local one for None or "local", else the URI as given (http://host:port, sqlite:, ...)."""
    return LOCAL_URI if uri in (None, "", "local") else str(uri)


def check_store(uri: str | None) -> None:
    """Before any training: the extra is installed and the store at ``uri`` can take a run, by the kind of URI.

    A server named by URL answers (MLflow itself would retry for minutes, after the models were trained); an
    SQLite file's folder exists; a file store is refused unless the user opted in, as MLflow 3 refuses it after
    the training; Databricks has credentials; a database URI has its driver; any other scheme is one line.
    """
    require("mlflow", "logging to MLflow (mlflow=)")
    where = tracking_uri(uri)
    if ":" in where:
        scheme = where.split(":", 1)[0].lower()
    else:  # "databricks" alone names the workspace; any other bare value is a folder store to MLflow
        scheme = "databricks" if where.lower().startswith("databricks") else "file"
    if scheme in ("http", "https"):
        _check_server(where)
    elif scheme == "sqlite":
        _check_sqlite(where)
    elif scheme == "file":
        _check_file_store(where)
    elif scheme.startswith("databricks"):
        _check_databricks(where)
    elif scheme.split("+")[0] in DATABASES:
        _check_database(where)
    else:
        raise DataError(
            f"mlflow={where}: MLflow cannot log to a {scheme}: store; give http(s)://host:port, "
            f"{LOCAL_URI}, databricks, or a database URI ({', '.join(DATABASES)})"
        )


DATABASES = ("postgresql", "mysql", "mssql")


def _check_server(where: str) -> None:
    import requests

    try:
        requests.get(f"{where.rstrip('/')}/health", timeout=PROBE_SECONDS).raise_for_status()
    except requests.RequestException as err:
        raise DataError(
            f"mlflow={where}: no MLflow tracking server answers there ({_first(err)}); start one "
            f"(mlflow server --port PORT) or pass mlflow='local' for a store in the working directory"
        ) from None


def _check_sqlite(where: str) -> None:
    path = where.split(":", 1)[1]
    if not path.startswith("///") or len(path) <= 3:  # sqlite:// alone is a database in memory: nothing kept
        raise DataError(f"mlflow={where}: name a database file, as in {LOCAL_URI} (or sqlite:////absolute/path.db)")
    file = Path(path[3:])
    if not file.parent.is_dir():
        raise DataError(f"mlflow={where}: the folder {file.parent} does not exist; create it, or use {LOCAL_URI}")
    if not os.access(file.parent, os.W_OK) or (file.exists() and not os.access(file, os.W_OK)):
        raise DataError(f"mlflow={where}: {file} cannot be written here; choose another file, e.g. {LOCAL_URI}")
    if file.exists() and file.stat().st_size and not file.read_bytes()[:16].startswith(b"SQLite format 3"):
        raise DataError(f"mlflow={where}: {file} is not an SQLite database; choose another file, e.g. {LOCAL_URI}")


def _check_file_store(where: str) -> None:
    """MLflow 3 logs to a folder store only when ``MLFLOW_ALLOW_FILE_STORE`` is set (then it goes ahead): read
    with MLflow's own parser, so that trainyard and MLflow agree on what "set" means."""
    from mlflow.environment_variables import MLFLOW_ALLOW_FILE_STORE as switch

    try:
        if switch.get():
            return
    except ValueError as err:
        raise DataError(f"mlflow={where}: {_first(err)}") from None
    raise DataError(
        f"mlflow={where}: MLflow 3 no longer writes folder stores (unless {switch.name}=true is set); "
        f"use {LOCAL_URI}, a local file store that needs nothing started"
    )


def _check_databricks(where: str) -> None:
    has_env = os.environ.get("DATABRICKS_HOST") and (
        os.environ.get("DATABRICKS_TOKEN") or os.environ.get("DATABRICKS_CLIENT_ID")
    )
    if not has_env and not (Path.home() / ".databrickscfg").exists():
        raise DataError(
            f"mlflow={where}: no Databricks credentials (DATABRICKS_HOST and DATABRICKS_TOKEN, or "
            f"~/.databrickscfg); set them, or use {LOCAL_URI}"
        )


def _check_database(where: str) -> None:
    """The SQLAlchemy driver for the URI is installed (nothing is connected to yet)."""
    import sqlalchemy

    try:
        sqlalchemy.create_engine(where).dispose()
    except (ImportError, sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError) as err:
        raise DataError(f"mlflow={where}: cannot use this database ({_first(err)}); install its driver") from None


def log_run(run: Run, uri: str | None = None, *, experiment: str = EXPERIMENT) -> str:
    """Log ``run`` to the MLflow store at ``uri`` (see ``tracking_uri``); returns the parent run's id.

    The best model loads with ``mlflow.pyfunc.load_model(f"runs:/{run_id}/model")``.
    """
    check_store(uri)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri(uri))
    try:
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    except Exception as err:  # a store it cannot open: one line, the URI named
        raise DataError(f"mlflow={tracking_uri(uri)}: cannot open the tracking store ({_first(err)})") from None
    manifest = run.manifest
    parent = client.create_run(
        experiment_id, run_name=run.path.name, tags={"trainyard.run": str(run.path.resolve()), "trainyard": "run"}
    ).info.run_id
    entries = _entries(run)
    best = next(e for e in entries if e["name"] == manifest["best"])
    try:
        _log(client, parent, _parent_params(run), _scores(best), {"best": manifest["best"]})
        _log_leaderboard(client, parent, run)
        client.log_dict(parent, manifest.get("recipe", {}), "recipe.json")  # every setting, not only the name
        for name in ("report.html", "report.md"):
            if (run.path / name).exists():
                client.log_artifact(parent, str(run.path / name), "report")
        for entry in entries:
            child = client.create_run(
                experiment_id, run_name=entry["name"], tags={"mlflow.parentRunId": parent, "trainyard": "model"}
            ).info.run_id
            status = {"status": entry["status"], "message": entry.get("message", "")[:PARAM_CHARS]}
            _log(client, child, _model_params(entry, run), _scores(entry), status)
            client.set_terminated(child, "FINISHED" if entry["status"] == "ok" else "FAILED")
        _log_model(client, parent, run)
    except BaseException:
        client.set_terminated(parent, "FAILED")
        raise
    client.set_terminated(parent, "FINISHED")
    return parent


def _parent_params(run: Run) -> dict[str, Any]:
    manifest = run.manifest
    recipe = manifest.get("recipe", {})
    return {
        "data_fingerprint": manifest["data"]["fingerprint"],
        "rows": manifest["data"]["rows"],
        "target": manifest["target"],
        "task": manifest["task"],
        "metric": manifest["metric"],
        "seed": manifest["seed"],
        "recipe": recipe.get("name", recipe) if isinstance(recipe, dict) else recipe,
        "best": manifest["best"],
        "trained_on": ", ".join(manifest.get("trained_on", {}).get("sets", [])),
        "trainyard_version": manifest.get("versions", {}).get("trainyard", ""),
    }


def _model_params(entry: dict[str, Any], run: Run) -> dict[str, Any]:
    """The catalog's settings for the model, with what tuning (or the ensemble) set on top of them."""
    from trainyard.tabular.models.catalog import catalog

    name = entry["name"].removesuffix("_tuned")
    spec = catalog(run.task).get(name)
    settings = {"model": name, **(spec.defaults if spec else {}), **(entry.get("params") or {})}
    if spec is not None and spec.seeded:
        settings.setdefault("random_state", run.manifest["seed"])
    return settings


def _entries(run: Run) -> list[dict[str, Any]]:
    import json

    return json.loads((run.path / "leaderboard.json").read_text(encoding="utf-8"))


def _scores(entry: dict[str, Any]) -> dict[str, float]:
    """A model's numbers as MLflow metrics: cv_mean, cv_std, test_<metric>, fresh_<metric>, timings, size."""
    scores = {f"cv_{k}": entry.get(f"cv_{k}") for k in ("mean", "std")}
    for part in ("test", "fresh"):
        scores.update({f"{part}_{k}": v for k, v in (entry.get(part) or {}).items()})
    for key in ("fit_seconds", "predict_ms_per_1000", "predict_ms_one_row", "size_bytes"):
        scores[key] = entry.get(key)
    return {k: float(v) for k, v in scores.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def _log(client, run_id: str, params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]) -> None:
    from mlflow.entities import Metric, Param, RunTag

    stamp = 0
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, stamp, 0) for k, v in metrics.items()],
        params=[Param(k, str(v)[:PARAM_CHARS]) for k, v in params.items()],
        tags=[RunTag(k, str(v)) for k, v in tags.items()],
    )


def _log_leaderboard(client, run_id: str, run: Run) -> None:
    import pandas as pd

    board = pd.read_csv(run.path / "leaderboard.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own pandas 3 deprecation notes
        client.log_table(run_id, data=board, artifact_file="leaderboard.json")  # a table in MLflow's UI
    client.log_artifact(run_id, str(run.path / "leaderboard.csv"))


def _log_model(client, run_id: str, run: Run) -> None:
    import mlflow.pyfunc

    example = run.sample_rows().head(EXAMPLE_ROWS)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), _no_download_bars():
        warnings.simplefilter("ignore")  # MLflow's advice on type hints and environment pins: not the user's concern
        mlflow.pyfunc.save_model(
            path=Path(tmp) / "model",
            python_model=str(Path(__file__).with_name("pyfunc_model.py")),
            artifacts={"run": str(run.path)},
            signature=signature(run, example),
            input_example=example,
            pip_requirements=[f"trainyard=={_version()}"],
        )
        client.log_artifacts(run_id, str(Path(tmp) / "model"), "model")


@contextmanager
def _no_download_bars():
    """MLflow draws a tqdm bar per copy of the run's files into the model; the copy takes milliseconds."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(key)
    os.environ[key] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def signature(run: Run, example):
    """Inputs: every feature of the Schema, typed as the example holds it; a column that had missing values
    when profiled may be absent. Outputs: the prediction and, for classes, a ``proba_<label>`` column each."""
    from mlflow.models import infer_signature
    from mlflow.types import ColSpec
    from mlflow.types import Schema as MlflowSchema

    from trainyard.tabular.runs.predict import predict

    inferred = infer_signature(example, predict(run, example))
    inputs: list[Any] = [
        ColSpec(spec.type, spec.name, required=run.schema[spec.name].missing == 0) for spec in inferred.inputs.inputs
    ]
    inferred.inputs = MlflowSchema(inputs)
    return inferred


def _version() -> str:
    try:
        return metadata.version("trainyard")
    except metadata.PackageNotFoundError:
        return "0"


def _first(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:160]
