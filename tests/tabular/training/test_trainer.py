"""The Trainer: ranks honestly, keeps its time limit, repeats with a seed, refuses bad input."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainyard.errors import SchemaError
from trainyard.tabular.training.engines.local import Stopped, run_with_deadline
from trainyard.tabular.training.trainer import train


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def test_worker_is_stopped_at_its_deadline() -> None:
    with pytest.raises(Stopped):
        run_with_deadline(_sleep, 30, seconds=1.0)
    assert run_with_deadline(_sleep, 0, seconds=20) == "done"


def _record_pid_then_sleep(path: str) -> str:
    import os
    from pathlib import Path

    Path(path).write_text(str(os.getpid()))
    time.sleep(60)
    return "done"


def test_a_stopped_worker_leaves_no_process(tmp_path) -> None:
    marker = tmp_path / "pid"
    with pytest.raises(Stopped):
        run_with_deadline(_record_pid_then_sleep, str(marker), seconds=3.0)
    pid = int(marker.read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pid"]  # the worker wrote only what it wrote first


def test_regression_leaderboard(market: pd.DataFrame) -> None:
    result = train(market.head(1500), "price", models=["dummy", "linear", "lightgbm"], tune=False, ensemble=False)
    names = [e.name for e in result.entries]
    assert names[-1] == "dummy" and result.best.name in ("linear", "lightgbm")
    assert result.best.cv_mean > 0.8 and result.best.test["r2"] > 0.8 and "r2" in result.best.fresh
    assert all(len(e.cv_scores) == 5 for e in result.entries)
    assert sum(e.simplest for e in result.entries) == 1


def test_a_model_no_better_than_dummy_is_flagged() -> None:
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400), "y": rng.normal(size=400)})
    result = train(noise, "y", models=["dummy", "linear"], tune=False, ensemble=False)
    linear = next(e for e in result.entries if e.name == "linear")
    assert linear.below_dummy


@pytest.mark.slow
def test_same_seed_same_leaderboard(market: pd.DataFrame) -> None:
    def board(seed):
        result = train(
            market.head(400),
            "price",
            models=["ridge", "lightgbm", "mlp"],
            seed=seed,
            folds=3,
            tune=False,
            ensemble=False,
            refit_full=False,
        )
        # six decimals: two torch threads may sum in another order (a 1e-9 wobble); the board shows four
        return {e.name: round(e.cv_mean, 6) for e in result.entries}

    assert board(1) == board(1)
    assert board(1) != board(2)


def test_time_limit_is_kept_and_overruns_are_stopped(market: pd.DataFrame) -> None:
    result = train(
        market, "price", time_limit=8, models=["dummy", "ridge", "svr_rbf", "random_forest", "mlp"], tune=False
    )
    statuses = {e.name: e.status for e in result.entries}
    assert statuses["dummy"] == "ok" and "stopped" in statuses.values()


def test_classification_with_tuning() -> None:
    """Generated data, so that it runs without ../shared: Optuna tunes the best models within the time."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=1200), "b": rng.normal(size=1200), "c": rng.choice(list("pqrs"), 1200)})
    frame["risk"] = np.where(frame["a"] - frame["b"] + (frame["c"] == "p") + rng.normal(size=1200) > 0, "bad", "good")
    events = []
    result = train(
        frame,
        "risk",
        models=["dummy", "logistic", "lightgbm", "naive_bayes"],
        time_limit=40,
        progress=lambda kind, info: events.append(kind),
    )
    assert result.schema.task == "binary" and result.classes == ["bad", "good"]
    assert "trial" in events and any(e.name.endswith("_tuned") and e.status == "ok" for e in result.entries)
    assert result.best.test["roc_auc"] > 0.8
    dummy = next(e for e in result.entries if e.name == "dummy")
    assert dummy.cv_mean == pytest.approx(0.5)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"target": "cost"}, r"target 'cost' is not a column"),
        ({"target": "price", "time_limit": 1}, r"time_limit=1 is too small for even the baseline"),
        ({"target": "price", "models": ["svc_rbf"]}, r"unknown model\(s\) svc_rbf for regression"),
    ],
)
def test_bad_input(market: pd.DataFrame, kwargs, message) -> None:
    with pytest.raises(SchemaError, match=message):
        train(market.head(200), **kwargs)


def test_constant_target_and_tiny_class(market: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"has a single value"):
        train(market.head(100).assign(price=1.0), "price")
    frame = market.head(300).assign(label=["a"] * 150 + ["b"] * 147 + ["c"] * 3)
    with pytest.raises(SchemaError, match=r"class 'c' has \d training rows, fewer than the 5 folds"):
        train(frame.drop(columns="price"), "label", models=["dummy"])


def test_all_rows_dropped(market: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"every row was dropped: target 'price' is missing"):
        train(market.head(50).assign(price=np.nan), "price")


def _spawn_and_die(path: str) -> None:
    """A caller that starts a long worker; the test kills it before the worker ends."""
    run_with_deadline(_write_pid_and_sleep, path, seconds=60)


def _write_pid_and_sleep(path: str) -> None:
    import os
    from pathlib import Path as P

    P(path).write_text(str(os.getpid()))
    time.sleep(60)


def test_worker_leaves_when_its_caller_dies(tmp_path) -> None:
    import multiprocessing as mp
    import os

    pid_file = tmp_path / "worker.pid"
    caller = mp.get_context("spawn").Process(target=_spawn_and_die, args=(str(pid_file),))
    caller.start()
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    worker = int(pid_file.read_text())
    caller.kill()
    caller.join()
    for _ in range(50):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker, 9)
    raise AssertionError("the worker outlived its caller")


def _wide_regression(rows: int = 40_000, columns: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, columns))
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(columns)]).assign(y=X[:, :5].sum(axis=1))


def _prior_times(monkeypatch, factor: dict[str, float]) -> None:
    """The cost model's prior for the named models multiplied (a model that looks slow before it runs)."""
    from trainyard.tabular.training import cost

    prior = cost.predicted_fold_seconds
    monkeypatch.setattr(
        cost, "predicted_fold_seconds", lambda spec, *shape: prior(spec, *shape) * factor.get(spec.name, 1.0)
    )


def test_a_model_too_slow_for_its_share_is_cross_validated_at_a_cheaper_configuration(monkeypatch) -> None:
    _prior_times(monkeypatch, {"hist_gb": 200.0})  # it looks about 200 times slower than it is
    events: list[tuple[str, dict]] = []
    result = train(
        _wide_regression(6_000, 10),
        "y",
        models=["dummy", "hist_gb", "ridge"],
        time_limit=30,
        tune=False,
        ensemble=False,
        progress=lambda kind, info: events.append((kind, info)),
    )
    first_look = next(info for kind, info in events if kind == "result" and info["model"] == "hist_gb")
    assert first_look["status"] == "ok"
    assert re.fullmatch(r"a cheaper configuration that fit its time: \d+% of its trees.*", first_look["message"])
    order = [info["model"] for kind, info in events if kind == "model"]
    assert order.index("hist_gb") < order.index("ridge")
    # Once its first fold shows its real cost, the scheduler may grow it to the full configuration; either way
    # what is kept was scored on every fold, not one, and says what it is.
    status = {e.name: e for e in result.entries}
    hist = status["hist_gb"]
    assert hist.status == "ok" and len(hist.cv_scores) == 5 and hist.test["r2"] > 0.8
    trees = result.results["hist_gb"].params.get("max_iter", 300)
    assert (hist.work_share < 1) == (trees < 300) == hist.message.startswith("a cheaper configuration")
    assert status["ridge"].status == "ok"


def test_a_model_whose_first_fold_shows_the_rest_will_not_fit_runs_every_fold_cheaper() -> None:
    from trainyard.tabular.training.engines.local import LocalEngine

    class SlowFirstFold(LocalEngine):  # the real engine; its first folds say they took 4 s
        def run(self, job, seconds):
            out = super().run(job, seconds)
            return replace(out, work_seconds=4.0) if len(job.folds) == 1 and not job.refit else out

    result = train(
        _wide_regression(10_000, 8),
        "y",
        models=["dummy", "ridge"],
        time_limit=20,
        tune=False,
        ensemble=False,
        cluster=SlowFirstFold(),
    )
    ridge = next(e for e in result.entries if e.name == "ridge")
    assert ridge.status == "ok" and len(ridge.cv_scores) == 5 and ridge.rows_share < 1
    assert ridge.message == f"a cheaper configuration that fit its time: {ridge.rows_share:.0%} of the rows"
    assert ridge.test["r2"] > 0.9
    quick = train(_wide_regression(3_000, 8), "y", models=["dummy", "ridge"], time_limit=60, tune=False)
    assert next(e for e in quick.entries if e.name == "ridge").rows_share == 1.0  # time enough: the full fit


def test_only_the_baseline_is_an_error_naming_what_the_quickest_model_needs(monkeypatch, tmp_path: Path) -> None:
    from trainyard.tabular.runs.store import PartialRun

    _prior_times(monkeypatch, {"hist_gb": 1e5})
    checkpoint = PartialRun(tmp_path / "runs" / "wide", {"seed": 0})
    with pytest.raises(
        SchemaError,
        match=r"no model beyond the baseline finished within the 20 s time limit: hist_gb was stopped by .*"
        r"even at its cheapest \(10% of its trees, .* of the rows\) it needs about \d+ s; give more time",
    ):
        train(
            _wide_regression(20_000, 10),
            "y",
            models=["dummy", "hist_gb"],
            time_limit=20,
            tune=False,
            ensemble=False,
            checkpoint=checkpoint,
        )
    assert not checkpoint.path.exists()  # nothing worth resuming is left behind


def test_cheap_models_come_before_the_costly_ones() -> None:
    from trainyard.tabular.models.catalog import select

    for task in ("regression", "binary"):
        order = [s.name for s in select(task, n_rows=1000)[0]]
        linear = "ridge" if task == "regression" else "logistic"
        assert order[:3] == ["dummy", linear, "hist_gb"]
        cheap = [s.name for s in select(task, n_rows=1000)[0] if s.cost <= 2 and s.name != "dummy"]
        assert max(order.index(n) for n in cheap) < order.index("lightgbm")
        assert order.index("mlp") > order.index("xgboost")
        assert order[-1].startswith(("svr_rbf", "svc_rbf"))


def test_infinite_values_are_missing_in_features_and_refused_in_the_target() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=600), "z": rng.normal(size=600)})
    frame["y"] = 3 * frame["x"] + rng.normal(scale=0.1, size=600)
    frame.loc[[5, 17], "x"] = np.inf
    frame.loc[[8, 9], "z"] = [1e308, -1e200]  # finite, but a scaler's squares of them overflow
    result = train(frame, "y", models=["dummy", "ridge"], tune=False, ensemble=False)
    assert "column 'x': 2 infinite values treated as missing" in result.notes
    assert any(n.startswith("column 'z': 2 values infinite or beyond ±1e+150 treated as missing") for n in result.notes)
    assert next(e for e in result.entries if e.name == "ridge").status == "ok"
    with pytest.raises(SchemaError, match=r"target 'y' is infinite in 1 rows \(e\.g\. row 3\)"):
        train(frame.assign(y=frame["y"].where(frame.index != 3, -np.inf)), "y", models=["dummy"])
    with pytest.raises(SchemaError, match=r"only the target column 'y': there are no features"):
        train(frame[["y"]], "y", models=["dummy"])


def test_the_first_trial_holds_only_defaults_the_space_can_express() -> None:
    from trainyard.tabular.models.catalog import catalog
    from trainyard.tabular.training.tuning import default_trial

    svc = catalog("binary")["svc_rbf"]
    assert svc.defaults["gamma"] == "scale" and default_trial(svc.defaults, svc.space) == {"C": 1.0}
    lightgbm = catalog("binary")["lightgbm"]
    assert default_trial(lightgbm.defaults, lightgbm.space)["n_estimators"] == lightgbm.defaults["n_estimators"]


def test_when_every_model_fails_one_line_names_the_likely_cause() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"]).assign(y=rng.normal(size=200))
    recipe = {"name": "too-many", "features": {"reduce": "pca", "n_components": 50}}  # 50 of 3: every pipeline fails
    with pytest.raises(SchemaError, match=r"no model finished; the likely cause \(3 of 3 models: .*n_components=50"):
        train(frame, "y", recipe=recipe, models=["dummy", "ridge", "hist_gb"], tune=False, ensemble=False)


def test_a_run_where_only_the_baseline_could_fit_is_refused_with_the_cause() -> None:
    frame = pd.DataFrame({"x": np.arange(20.0), "y": ["a", "b"] * 10})  # k-NN wants 15 neighbours, folds hold 13 rows
    with pytest.raises(
        SchemaError, match=r"every model beyond the baseline failed; the likely cause \(1 of 2 models: knn\)"
    ):
        train(frame, "y", models=["dummy", "knn"], tune=False, ensemble=False)
