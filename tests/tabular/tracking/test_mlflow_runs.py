"""MLflow: a run logged to a real tracking server (mlflow server, SQLite backend, on loopback) and to the local
store, read back through MlflowClient, and its model loaded with mlflow.pyfunc and compared with trainyard's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.lm.test_pipeline import free_port
from trainyard.cli.options import optional_values
from trainyard.data.synthetic import used_car_market

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

TARGET = "fuel"  # four string labels, learnable from mpg and engine size: predictions must come back as labels
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "cars.csv"
    used_car_market(600, seed=4).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    """`mlflow server` with a SQLite backend and proxied artifacts, on a free loopback port."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{uri}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "mlflow server did not start"
            time.sleep(0.5)
        yield uri
    finally:
        server.terminate()
        server.wait(30)


def _train(table: Path, runs: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [str(BIN / "trainyard"), "train", str(table), "-t", TARGET, "--models", "dummy,logistic", "--folds", "3",
               "--no-tune", "--no-ensemble", "--runs", str(runs), *extra]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})


@pytest.mark.slow
def test_a_run_on_a_real_tracking_server(table, tracking_server, tmp_path, monkeypatch) -> None:
    done = _train(table, tmp_path / "runs", "--mlflow", tracking_server)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("logged to MLflow"))
    parent_id = line.split("run ")[1].split(";")[0]
    client = MlflowClient(tracking_uri=tracking_server)
    parent = client.get_run(parent_id)
    manifest = pd.read_json(tmp_path / "runs" / "cars" / "manifest.json", typ="series")
    params = parent.data.params
    assert params["seed"] == "0" and params["recipe"] == "auto" and params["target"] == TARGET
    assert params["data_fingerprint"] == manifest["data"]["fingerprint"]
    assert parent.data.tags["best"] == manifest["best"] and parent.info.status == "FINISHED"
    board = pd.read_csv(tmp_path / "runs" / "cars" / "leaderboard.csv")
    best = board[board["model"] == manifest["best"]].iloc[0]
    assert parent.data.metrics["cv_mean"] == pytest.approx(best.filter(like="cv_").iloc[0], abs=1e-4)
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'")
    assert sorted(c.info.run_name for c in children) == sorted(board["model"])
    for child in children:
        assert {"cv_mean", "fit_seconds"} <= set(child.data.metrics) and child.data.tags["status"] == "ok"
        assert any(k.startswith("test_") for k in child.data.metrics) and child.data.params  # the model's settings
    artifacts = {a.path for a in client.list_artifacts(parent_id)}
    assert {"leaderboard.json", "leaderboard.csv", "recipe.json", "report", "model"} <= artifacts
    assert {a.path for a in client.list_artifacts(parent_id, "report")} == {"report/report.html", "report/report.md"}

    # the best model through MLflow alone predicts what `trainyard predict` does, labels included
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    model = mlflow.pyfunc.load_model(f"runs:/{parent_id}/model")
    names = [c.name for c in model.metadata.get_input_schema().inputs]
    assert TARGET not in names and "mileage" in names
    rows = used_car_market(40, seed=9).drop(columns=[TARGET])
    rows.to_csv(tmp_path / "new.csv", index=False)
    via_mlflow = model.predict(rows)
    done = subprocess.run(
        [str(BIN / "trainyard"), "predict", str(tmp_path / "runs" / "cars"), str(tmp_path / "new.csv"), "-o",
         str(tmp_path / "out.csv")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    via_cli = pd.read_csv(tmp_path / "out.csv")
    assert len(set(via_mlflow["prediction"])) > 1 and set(via_mlflow["prediction"]) <= {
        "Petrol",
        "Diesel",
        "Hybrid",
        "Electric",
    }
    assert list(via_mlflow["prediction"]) == list(via_cli["prediction"])
    proba = [c for c in via_mlflow.columns if c.startswith("proba_")]
    assert len(proba) == 4 and (via_mlflow[proba].to_numpy() - via_cli[proba].to_numpy()).max() < 1e-9


def test_the_local_store_needs_nothing_started(table, tmp_path, monkeypatch) -> None:
    import trainyard

    monkeypatch.chdir(tmp_path)
    run = trainyard.train_run(table, TARGET, models=["dummy", "logistic"], tune=False, ensemble=False,
                              report=False, mlflow="local")  # fmt: skip
    assert (tmp_path / "mlflow.db").is_file() and run.mlflow_uri == "sqlite:///mlflow.db"
    client = MlflowClient(tracking_uri="sqlite:///mlflow.db")
    parent = client.get_run(run.mlflow_run)
    assert parent.data.tags["best"] == run.manifest["best"]
    artifacts = {a.path for a in client.list_artifacts(run.mlflow_run)}
    assert "model" in artifacts and "report" not in artifacts  # no report asked for, none logged


def test_an_estimator_logs_each_fit(tmp_path) -> None:
    from trainyard import AutoClassifier

    frame = used_car_market(400, seed=2)
    X, y = frame.drop(columns=[TARGET]), frame[TARGET]
    uri = f"sqlite:///{tmp_path / 'est.db'}"
    model = AutoClassifier(models=["dummy", "logistic"], tune=False, ensemble=False, time_limit=None, mlflow=uri)
    model.fit(X, y)
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(model.mlflow_run_).data.tags["best"] == model.best_
    mlflow_model = mlflow.pyfunc.load_model(client.get_run(model.mlflow_run_).info.artifact_uri + "/model")
    assert list(mlflow_model.predict(X.head(20))["prediction"]) == list(model.predict(X.head(20)))


def test_a_bare_flag_takes_the_local_store() -> None:
    assert optional_values(["train", "a.csv", "--mlflow"]) == ["train", "a.csv", "--mlflow", "local"]
    assert optional_values(["train", "--mlflow", "a.csv"]) == ["train", "--mlflow", "local", "a.csv"]
    assert optional_values(["--mlflow", "--seed", "1"]) == ["--mlflow", "local", "--seed", "1"]
    assert optional_values(["--mlflow", "http://h:5000"]) == ["--mlflow", "http://h:5000"]


def test_an_unreachable_server_is_one_line(table, tmp_path) -> None:
    done = _train(table, tmp_path / "runs", "--mlflow", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: --mlflow http://127.0.0.1:") and len(done.stderr.splitlines()) == 1
    assert "no MLflow tracking server answers there" in done.stderr and "--mlflow local" in done.stderr
    assert not (tmp_path / "runs" / "cars").exists()  # refused before any training


def test_a_folder_store_is_one_line_before_training(table, tmp_path) -> None:
    """MLflow 3 refuses `file:` stores after the training unless told: trainyard says so before, naming the way."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_ALLOW_FILE_STORE"}
    command = [str(BIN / "trainyard"), "train", str(table), "-t", TARGET, "--models", "dummy,logistic", "--no-tune",
               "--runs", str(tmp_path / "runs"), "--mlflow", "file:./mlruns"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "MLFLOW_ALLOW_FILE_STORE" in done.stderr and "sqlite:///mlflow.db" in done.stderr
    assert "training" not in done.stdout and not (tmp_path / "runs").exists() and not (tmp_path / "mlruns").exists()


def test_a_folder_store_the_user_opted_into_takes_the_run(table, tmp_path, monkeypatch) -> None:
    import trainyard

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    run = trainyard.train_run(table, TARGET, models=["dummy", "logistic"], tune=False, ensemble=False,
                              report=False, folds=2, mlflow="file:./mlruns")  # fmt: skip
    assert MlflowClient(tracking_uri="file:./mlruns").get_run(run.mlflow_run).data.tags["best"] == run.manifest["best"]


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        ("sqlite:///{tmp}/no/such/folder/mlflow.db", "does not exist"),
        ("sqlite://", "name a database file"),
        ("sqlite:///{tmp}/not-a-database.db", "is not an SQLite database"),
        ("databricks", "no Databricks credentials"),
        ("databricks-uc", "no Databricks credentials"),
        ("postgresql+nosuchdriver://u@localhost/db", "cannot use this database"),
        ("ftp://host/store", "cannot log to a ftp: store"),
        ("s3://bucket/store", "cannot log to a s3: store"),
        ("./mlruns", "no longer writes folder stores"),
    ],
)
def test_every_kind_of_store_is_checked_before_training(uri, said, tmp_path, monkeypatch) -> None:
    from trainyard.errors import DataError
    from trainyard.tabular.tracking.mlflow_runs import check_store

    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "MLFLOW_ALLOW_FILE_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.databrickscfg
    (tmp_path / "not-a-database.db").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=said) as caught:
        check_store(uri.format(tmp=tmp_path))
    assert "\n" not in str(caught.value)


def test_stores_that_can_take_a_run_pass_the_check(tmp_path, monkeypatch) -> None:
    from trainyard.tabular.tracking.mlflow_runs import check_store

    check_store(f"sqlite:///{tmp_path / 'fresh.db'}")  # a new file in a folder that exists
    monkeypatch.setenv("DATABRICKS_HOST", "https://example.invalid")
    monkeypatch.setenv("DATABRICKS_TOKEN", "t")
    check_store("databricks")  # credentials present: MLflow takes it from there
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "1")
    check_store(f"file:{tmp_path / 'mlruns'}")
    assert not (tmp_path / "fresh.db").exists()  # the check creates nothing
