"""One model's unfitted pipeline from a Schema: the recipe's preprocessing, then the catalog's model.

``tabular_pipeline`` needs no training job and no data: the trainer's one-model job builds its pipelines
through it, and a user can fit one directly.
"""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

from trainyard.data.schema import Schema
from trainyard.tabular.models.catalog import catalog
from trainyard.tabular.prep.build import build
from trainyard.tabular.prep.clean import SafeNames
from trainyard.tabular.prep.target import log_target, nonnegative_target
from trainyard.tabular.recipe import Recipe


def tabular_pipeline(
    schema: Schema,
    model: str,
    recipe: str | dict | Recipe | None = "auto",
    *,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    threads: int = 1,
    log: bool = False,
    nonnegative: bool = False,
) -> Pipeline:
    """The unfitted Pipeline of catalog model ``model`` for the table ``schema`` describes.

    ``recipe``: a recipe name (``auto``, ``notes-basic``, ``notes-winning``), a TOML path, a dict or a Recipe.
    ``params`` override the catalog's defaults; ``seed`` seeds the model and the encoders; ``threads`` is the
    model's thread count. ``log``: the model learns log(1 + y) of a regression target; ``nonnegative``: its
    predictions are clipped at zero (the baseline ``dummy`` takes neither). Classifiers expect class codes
    0..k-1 as ``y``; ``trainyard.AutoClassifier`` takes the labels themselves.

    Example::

        schema = trainyard.profile(frame, "price")
        pipe = tabular_pipeline(schema, "lightgbm").fit(frame.drop(columns="price"), frame["price"])
    """
    spec = catalog(schema.required_task())[model]
    prep = build(schema, recipe, needs=spec.needs, seed=seed)
    estimator = spec.make(seed=seed, threads=threads, **(params or {}))
    if log and model != "dummy":  # the baseline stays the plain mean
        estimator = log_target(estimator)
    elif nonnegative and model != "dummy":
        estimator = nonnegative_target(estimator)
    steps = [("prep", prep)] + ([("names", SafeNames())] if spec.safe_names else []) + [("model", estimator)]
    return Pipeline(steps)
