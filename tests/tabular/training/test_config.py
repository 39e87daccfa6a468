"""TrainConfig is the one declaration of the training options: every other place that names them agrees."""

from __future__ import annotations

import inspect
import json
from dataclasses import fields

import pytest
import typer

from trainyard.errors import SchemaError
from trainyard.tabular.estimators import AutoClassifier, AutoRegressor
from trainyard.tabular.training.config import TrainConfig
from trainyard.tabular.training.trainer import train
from trainyard.tabular.workflow import train_run

OPTIONS = TrainConfig.names()
# Where an estimator departs from the library default, and why: a scikit-learn fit is expected to end.
ESTIMATOR_DEFAULTS = {"time_limit": 60.0}
ESTIMATOR_ONLY = {"mlflow"}  # not a training option: where the fitted run is logged


def _cli_params() -> dict[str, object]:
    from trainyard.cli.app import app

    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    return {p.name: p for p in command.params}


def test_every_option_is_a_flag_of_trainyard_train_with_its_default_and_help() -> None:
    params = _cli_params()
    for name in OPTIONS:
        default, help = TrainConfig.default(name), TrainConfig.help(name)
        if isinstance(default, bool) and default:  # an option that is on: the flag turns it off
            param = params[f"no_{name}"]
            assert param.default is False and param.help == f"Off: {help}", name
        else:
            param = params[name]
            assert param.default == default and help in param.help, name
        assert param.help, name


def test_train_and_train_run_take_the_options_and_nothing_else_by_those_names() -> None:
    for fn in (train, train_run):
        signature = inspect.signature(fn)
        assert "config" in signature.parameters and "options" in signature.parameters, fn.__name__
        assert not set(OPTIONS) & set(signature.parameters), fn.__name__  # declared once: in TrainConfig
    for name in OPTIONS:  # train's documentation lists each option with its help
        assert f"``{name}`` (default {TrainConfig.default(name)!r}): {TrainConfig.help(name)}" in train.__doc__


@pytest.mark.parametrize("estimator", [AutoRegressor, AutoClassifier])
def test_the_estimators_parameters_are_options_with_their_defaults(estimator) -> None:
    params = estimator().get_params()
    assert set(params) - ESTIMATOR_ONLY <= set(OPTIONS)
    for name in set(params) - ESTIMATOR_ONLY:
        assert params[name] == ESTIMATOR_DEFAULTS.get(name, TrainConfig.default(name)), name


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"folds": 1}, r"folds=1: cross-validation needs at least 2 folds"),
        ({"task": "ranking"}, r"task='ranking': the task is one of regression, binary, multiclass"),
        ({"models": "ridge"}, r"models='ridge': give a list of catalog names"),
        ({"max_predict_ms": 0}, r"max_predict_ms=0: give a positive number"),
        ({"jobs": 0}, r"jobs=0: at least one fold runs at a time"),
        ({"seed": -1}, r"seed=-1: a seed is 0 or more"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_it(options, message) -> None:
    with pytest.raises(SchemaError, match=message):
        TrainConfig.build(None, options)


def test_a_name_that_is_no_option_is_refused_with_the_nearest() -> None:
    with pytest.raises(TypeError, match=r"'time_limt' is not a training option; did you mean time_limit"):
        TrainConfig.build(None, {"time_limt": 30})


def test_keywords_replace_a_config_s_values_and_it_goes_to_json_whole() -> None:
    base = TrainConfig(folds=3, seed=7)
    config = TrainConfig.build(base, {"seed": 8, "models": ["ridge"]})
    assert (config.folds, config.seed, config.models) == (3, 8, ["ridge"])
    assert json.loads(json.dumps(config.to_dict())) == {f.name: getattr(config, f.name) for f in fields(config)}


def test_train_takes_a_config_whole_and_its_keywords_replace_values() -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300)}).assign(y=lambda f: 2 * f["x"] + rng.normal(0, 0.1, 300))
    config = TrainConfig(models=["dummy", "ridge"], tune=False, ensemble=False, folds=3, seed=4)
    result = train(frame, "y", config, refit_full=False)
    assert result.config == TrainConfig.build(config, {"refit_full": False}) and result.seed == 4
    assert {e.name for e in result.entries} == {"dummy", "ridge"} and len(result.best.cv_scores) == 3
