"""``prepare(df, target, recipe)``: profile, split and fit the preprocessing on the training rows."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.pipeline import Pipeline

from trainyard.data.schema import Schema, profile
from trainyard.tabular.prep.build import ModelNeeds, build
from trainyard.tabular.prep.plan import Plan, explain
from trainyard.tabular.prep.target import prepare_target
from trainyard.tabular.recipe import Recipe, load_recipe
from trainyard.tabular.split import Split, split_rows


@dataclass
class Prepared:
    """A table prepared as training would see it: the Schema, recipe, split, fitted pipeline and its plan."""

    schema: Schema
    recipe: Recipe
    split: Split
    pipeline: Pipeline  # fitted on the training rows only
    plan: Plan
    frame: pd.DataFrame  # the rows with a target
    y: pd.Series

    def features(self, part: str) -> pd.DataFrame:
        """The transformed features of ``train``, ``test`` or ``fresh``."""
        rows = self.frame.iloc[getattr(self.split, part)].drop(columns=[self.schema.target])
        return self.pipeline.transform(rows)

    def target(self, part: str) -> pd.Series:
        return self.y.iloc[getattr(self.split, part)]


def prepare(
    df: pd.DataFrame,
    target: str,
    recipe: str | dict | Recipe | None = "auto",
    *,
    seed: int = 0,
    needs: ModelNeeds = ModelNeeds(),
    task: str | None = None,
    strict: bool = False,
    schema: Schema | None = None,
) -> Prepared:
    """Profile, split and fit the preprocessing on the training rows (what `trainyard prep` shows)."""
    recipe = load_recipe(recipe)
    schema = schema or profile(df, target, task=task)
    frame, y = prepare_target(df, schema, strict=strict)
    split = split_rows(frame, schema, recipe.split, seed=seed)
    pipeline = build(schema, recipe, needs=needs, seed=seed)
    train = frame.iloc[split.train]
    pipeline.fit(train.drop(columns=[target]), y.iloc[split.train])
    plan = explain(pipeline, schema, recipe.name, split.report())
    return Prepared(schema, recipe, split, pipeline, plan, frame, y)
