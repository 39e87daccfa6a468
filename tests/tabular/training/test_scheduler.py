"""The scheduler: every model seen before any is grown, fidelities said, the blend on the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainyard.tabular.training import cost
from trainyard.tabular.training.trainer import train


def _table(rows: int = 6_000, classes: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 8))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    signal = X[:, :3].sum(axis=1) + np.sin(2 * X[:, 3])
    if classes:
        return frame.assign(
            y=[f"c{v}" for v in np.digitize(signal, np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1]))]
        )
    return frame.assign(y=signal + rng.normal(scale=0.3, size=rows))


def test_every_model_is_seen_before_any_is_grown(monkeypatch) -> None:
    prior = cost.predicted_fold_seconds
    # hist_gb looks 100 times slower than it is: its first look is cheap, and the time left grows it
    monkeypatch.setattr(
        cost,
        "predicted_fold_seconds",
        lambda spec, *shape: prior(spec, *shape) * (100 if spec.name == "hist_gb" else 1),
    )
    fits: list[str] = []
    result = train(
        _table(),
        "y",
        models=["dummy", "hist_gb", "ridge", "decision_tree"],
        # the run ends when every model is done (~5 s quiet); a limit well above that keeps the growth inside
        # it when a busy machine (CI beside other tests) makes every fit look slower
        time_limit=80,
        tune=False,
        ensemble=False,
        progress=lambda kind, info: fits.append(info["model"]) if kind == "model" else None,
    )
    assert fits.count("hist_gb") == 2, fits  # seen once cheaply, then grown
    assert set(fits[: fits.index("hist_gb", fits.index("hist_gb") + 1)]) == {
        "dummy",
        "hist_gb",
        "ridge",
        "decision_tree",
    }
    entries = {e.name: e for e in result.entries}
    assert all(e.status == "ok" and len(e.cv_scores) == 5 for e in entries.values())


def test_without_a_time_limit_every_model_is_fitted_once_in_full() -> None:
    fits: list[str] = []
    result = train(
        _table(2_000),
        "y",
        models=["dummy", "ridge", "hist_gb"],
        tune=False,
        ensemble=False,
        progress=lambda kind, info: fits.append(info["model"]) if kind == "model" else None,
    )
    assert fits == ["dummy", "ridge", "hist_gb", "hist_gb (refit on every row)"]
    assert all(e.rows_share == 1.0 and e.work_share == 1.0 and e.message == "" for e in result.entries)


@pytest.mark.parametrize("limit", [None, 30])
def test_the_blend_is_built_on_the_rows_every_member_was_scored_on(limit) -> None:
    result = train(
        _table(3_000, classes=4),
        "y",
        models=["dummy", "logistic", "hist_gb", "naive_bayes"],
        time_limit=limit,
        tune=False,
    )
    for entry in result.entries:
        oof = result.results[entry.name].oof
        assert entry.status != "ok" or (oof is not None and not np.isnan(oof).any()), entry.name
    if result.ensemble:
        blend = next(e for e in result.entries if e.name == "ensemble")
        members = [e for e in result.entries if e.name in result.ensemble]
        assert blend.cv_mean <= min(m.cv_mean for m in members)  # log loss: never worse than its best member
