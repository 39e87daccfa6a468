"""Training on a Dask cluster: a real LocalCluster of two worker processes on loopback."""

from __future__ import annotations

import os
import signal
import threading

import pandas as pd
import pytest

from trainyard.errors import SchemaError
from trainyard.tabular.training.trainer import train

pytestmark = pytest.mark.slow  # a Dask cluster

MODELS = ["dummy", "ridge", "decision_tree", "lightgbm"]


def _scores(result) -> dict[str, list[float]]:
    return {e.name: [round(s, 12) for s in e.cv_scores] for e in result.entries if e.status == "ok"}


def test_cluster_gives_the_local_results(market: pd.DataFrame):
    rows = market.head(400)
    local = train(rows, "price", models=MODELS, tune=False, seed=3, folds=3)
    clustered = train(rows, "price", models=MODELS, tune=False, seed=3, folds=3, cluster="local:2")
    assert _scores(clustered) == _scores(local) and set(MODELS) <= set(_scores(local))
    assert [e.name for e in clustered.entries] == [e.name for e in local.entries]
    assert clustered.best.name == local.best.name
    best = local.best.name
    assert (clustered.results[best].test_output == local.results[best].test_output).all()


def test_a_worker_that_dies_costs_its_fit_not_the_run(market: pd.DataFrame):
    from trainyard.tabular.training.engines.dask import DaskEngine

    engine = DaskEngine("local:2")
    try:
        worker = next(iter(engine.client.run(os.getpid).values()))
        killed = []

        def kill_during_the_forest(kind: str, info: dict) -> None:  # its folds are then on the workers
            if kind == "model" and info["model"] == "random_forest":
                threading.Timer(0.5, lambda: killed.append(os.kill(worker, signal.SIGKILL))).start()

        result = train(
            market.head(3000),
            "price",
            models=["dummy", "random_forest", "ridge"],
            tune=False,
            cluster=engine,
            seed=0,
            progress=kill_during_the_forest,
        )
        assert killed and engine.workers == 2  # the nanny started a new worker
    finally:
        engine.close()
    statuses = {e.name: e.status for e in result.entries}
    assert statuses["dummy"] == statuses["random_forest"] == statuses["ridge"] == "ok", statuses


def test_time_limit_holds_on_the_cluster(market: pd.DataFrame):
    # 25 s and 1,000 rows: `make test` pins this test process and the cluster's two workers to one core (a
    # second test process has the other); on 3,000 rows no model beyond the baseline finished there once
    result = train(
        market.head(1000),
        "price",
        models=["dummy", "random_forest", "extra_trees", "lightgbm"],
        tune=False,
        cluster="local:2",
        time_limit=25,
    )
    assert result.entries and any(e.status == "ok" for e in result.entries)


def test_unreachable_scheduler_is_one_line():
    with pytest.raises(SchemaError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:1 \(waited"):
        train(pd.DataFrame({"x": range(50), "y": range(50)}), "y", cluster="tcp://127.0.0.1:1")
    with pytest.raises(SchemaError, match="write tcp://HOST:8786"):
        train(pd.DataFrame({"x": range(50), "y": range(50)}), "y", cluster="somewhere")
