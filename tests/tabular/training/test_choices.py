"""Choices made on the folds before training: free text kept or dropped, raw or log target, no negative price."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainyard.tabular.training.trainer import train

WORDS = ["engine", "rust", "clean", "leather", "sunroof", "dent", "service", "history", "owner", "warranty"]


def _with_notes(n: int, signal: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    notes = [" ".join(rng.choice(WORDS, 8)) for _ in range(n)]
    size = rng.normal(size=n)
    y = size + rng.normal(0, 0.3, n)
    if signal:  # the text carries most of the target: each "rust" costs, each "leather" pays
        y = y + np.array([3 * t.split().count("leather") - 3 * t.split().count("rust") for t in notes])
    return pd.DataFrame({"notes": notes, "size": size, "y": y})


def _quick(frame: pd.DataFrame, target: str, **kwargs):
    return train(frame, target, models=["dummy", "ridge", "hist_gb"], tune=False, ensemble=False, seed=0, **kwargs)


def test_free_text_is_kept_as_word_features_when_the_folds_say_it_helps() -> None:
    result = _quick(_with_notes(800, signal=True), "y")
    choice = next(c for c in result.choices if c.what == "text")
    assert choice.chosen == "words" and choice.options["words"] > choice.options["dropped"] + 0.1
    assert result.recipe.encode.text == "words"
    assert any(line.startswith("text: words") for line in result.notes)


def test_each_option_s_probe_seconds_are_kept_and_said() -> None:
    result = _quick(_with_notes(800, signal=True), "y", time_limit=60)
    choice = next(c for c in result.choices if c.what == "text")
    assert set(choice.seconds) == {"dropped", "words"} and all(s > 0 for s in choice.seconds.values())
    assert f"words {choice.options['words']:.4f} ({choice.seconds['words']:.1f} s)" in choice.why


def test_free_text_without_signal_stays_dropped() -> None:
    result = _quick(_with_notes(800, signal=False), "y")
    choice = next(c for c in result.choices if c.what == "text")
    assert choice.chosen == "dropped" and set(choice.options) == {"dropped", "words"}


def test_a_positive_target_is_raw_or_log_by_the_folds_and_the_choice_is_kept() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(900, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=np.exp(1.5 * x[:, 0] + x[:, 1] + rng.normal(0, 0.2, 900)))
    result = _quick(frame, "y")
    choice = next(c for c in result.choices if c.what == "target")
    best = max(choice.options, key=choice.options.get)
    assert set(choice.options) == {"raw", "log"}
    assert choice.chosen in (best, "raw")  # the default stays unless the other wins by the margin
    assert result.recipe.target.transform == ("log" if choice.chosen == "log" else "none")  # the run keeps it


def test_a_target_that_is_never_negative_gets_no_negative_prediction() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(700, 2))
    frame = pd.DataFrame(x, columns=["a", "b"]).assign(y=np.maximum(0, 2 * x[:, 0] + rng.normal(0, 0.5, 700)))
    result = _quick(frame, "y", metric="rmse")
    ridge = next(e for e in result.entries if e.name == "ridge")
    assert ridge.status == "ok"
    assert np.min(result.results["ridge"].test_output) >= 0  # a plain ridge goes below zero on half these rows


def test_mostly_missing_columns_are_kept_for_boosters_when_the_folds_say_so() -> None:
    rng = np.random.default_rng(3)
    n = 900
    budget = np.where(rng.random(n) < 0.2, rng.normal(size=n), np.nan)  # 80% missing, and decisive where known
    frame = pd.DataFrame({"size": rng.normal(size=n), "budget": budget})
    frame["y"] = frame["size"] + np.nan_to_num(3 * budget) + rng.normal(0, 0.2, n)
    result = _quick(frame, "y")
    choice = next(c for c in result.choices if c.what == "mostly-missing columns")
    assert choice.chosen == "kept" and result.recipe.clean.max_missing_native == 0.95
    hist_gb = next(e for e in result.entries if e.name == "hist_gb")
    ridge = next(e for e in result.entries if e.name == "ridge")  # imputes: the 50% rule still drops it for ridge
    assert hist_gb.cv_mean > ridge.cv_mean + 0.1
