"""TrainConfig: every training option, declared once, with its type, default, check and one line of help.

``train()`` and ``train_run()`` take the options as keywords (or a TrainConfig whole) and build one;
``trainyard train`` takes its flags' defaults and help from here; AutoRegressor and AutoClassifier pass
theirs through. ``tests/tabular/training/test_config.py`` checks each of them against this declaration,
and a saved run's manifest holds the config it was trained with. Light on purpose: the CLI imports it
before any command runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from trainyard.errors import SchemaError

TASKS = ("regression", "binary", "multiclass")


def _option(default: Any, help: str, check: Callable[[Any], str] | None = None) -> Any:
    """A field with its one line of help and its check (the problem with a value, "" when fine; None passes)."""
    return field(default=default, metadata={"help": help, "check": check})


def _at_least(low: float, why: str) -> Callable[[Any], str]:
    return lambda value: "" if value >= low else why


def _positive(value: float) -> str:
    return "" if value > 0 else "give a positive number, or leave it out for none"


def _task(value: str) -> str:
    return "" if value in TASKS else f"the task is one of {', '.join(TASKS)}"


def _names(value: Any) -> str:
    ok = isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value)
    return "" if ok else "give a list of catalog names, such as ['ridge', 'lightgbm']"


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained: which task and models, how it is validated and ranked, within what time."""

    task: str | None = _option(
        None, "regression, binary or multiclass; None infers it from the target (the Schema says why).", _task
    )
    recipe: Any = _option("auto", "auto, notes-basic, notes-winning, a TOML file, a dict or a Recipe.")
    models: list[str] | None = _option(
        None, "Catalog names; None takes every model that suits the table's size, cheapest first.", _names
    )
    time_limit: float | None = _option(
        None,
        "Wall-clock seconds for the whole call (a command's: start to exit), reading, training, saving and the "
        "report included; each model gets at most half of the time fitting has left. None: no limit.",
        _positive,
    )
    folds: int = _option(
        5, "Cross-validation folds on the training rows.", _at_least(2, "cross-validation needs at least 2 folds")
    )
    seed: int = _option(
        0,
        "The one seed that drives every random choice (split, folds, models, tuning).",
        _at_least(0, "a seed is 0 or more"),
    )
    jobs: int | None = _option(
        None,
        "Folds fitted at once, in threads (default 1: each fit uses every core, which measured faster on 2 cores).",
        _at_least(1, "at least one fold runs at a time"),
    )
    metric: str | None = _option(
        None,
        "The ranking metric (default r2, roc_auc for two classes, log_loss for more); one of another task is "
        "refused before any work.",
    )
    tune: bool = _option(True, "Optuna (TPE, seeded) on the best few models, within the time left.")
    ensemble: bool = _option(
        True, "A greedy weighted blend of out-of-fold predictions, kept when it beats the best single model."
    )
    refit_full: bool = _option(
        True,
        "After scoring, refit the final choice on every labelled row (train, test and fresh) with its settings "
        "and tree counts; the scores stay those of the held-out rows. Off: keep the fits on the training rows.",
    )
    max_predict_ms: float | None = _option(
        None,
        "The chosen model (or ensemble) answers one row within this many milliseconds, as measured on the test "
        "rows; slower models are ranked but not chosen.",
        _positive,
    )
    cluster: str | None = _option(
        None, "Fit on a Dask cluster: tcp://HOST:8786, or local:N for N worker processes here."
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value, check = getattr(self, f.name), f.metadata["check"]
            problem = check(value) if check is not None and value is not None else ""
            if problem:
                raise SchemaError(f"{f.name}={value!r}: {problem}")

    @classmethod
    def build(cls, config: TrainConfig | None = None, options: Mapping[str, Any] | None = None) -> TrainConfig:
        """``config`` (default: every default) with ``options`` in place of its values; a name that is not an
        option is refused, naming the nearest ones."""
        options = dict(options or {})
        known = cls.names()
        for name in options:
            if name not in known:
                near = difflib.get_close_matches(name, known, n=2)
                hint = f"did you mean {' or '.join(near)}? " if near else ""
                raise TypeError(f"{name!r} is not a training option; {hint}the options: {', '.join(known)}")
        return replace(config or cls(), **options)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def help(cls, name: str) -> str:
        return next(f.metadata["help"] for f in fields(cls) if f.name == name)

    @classmethod
    def default(cls, name: str) -> Any:
        return next(f.default for f in fields(cls) if f.name == name)

    @classmethod
    def doc(cls) -> str:
        """The options as docstring lines: "- ``name`` (default): help"."""
        return "\n".join(f"    - ``{f.name}`` (default {f.default!r}): {f.metadata['help']}" for f in fields(cls))

    def to_dict(self) -> dict[str, Any]:
        """The options as JSON holds them (a Recipe object by its settings)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if hasattr(self.recipe, "to_dict"):
            out["recipe"] = self.recipe.to_dict()
        if self.models is not None:
            out["models"] = list(self.models)
        return out
