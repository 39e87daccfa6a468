"""The target: rows without one, and a log transform of a positive target inverted at predict time."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor

from trainyard.data.schema import Schema, target_values
from trainyard.errors import SchemaError, TrainyardWarning
from trainyard.tabular.recipe import Recipe
from trainyard.tabular.saved import saved


def prepare_target(df: pd.DataFrame, schema: Schema, *, strict: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """The rows that have a target, and the target as the model sees it (numbers parsed from text)."""
    if schema.target is None:
        raise SchemaError("no target: pass the column to predict (target=)")
    y = target_values(df[schema.target])
    infinite = np.isinf(y.to_numpy(dtype=float)) if pd.api.types.is_numeric_dtype(y) else np.zeros(len(y), bool)
    if infinite.any():
        raise SchemaError(
            f"target {schema.target!r} is infinite in {int(infinite.sum())} rows (e.g. row "
            f"{int(np.flatnonzero(infinite)[0])}); fix those values or drop the rows"
        )
    missing = y.isna()
    if missing.all():
        raise SchemaError(
            f"every row was dropped: target {schema.target!r} is missing (or not a number) in all {len(y)} rows"
        )
    if missing.any():
        if strict:
            raise SchemaError(f"target {schema.target!r} is missing in {int(missing.sum())} rows (strict=True)")
        warnings.warn(
            f"target {schema.target!r} is missing in {int(missing.sum())} rows; dropped them",
            TrainyardWarning,
            stacklevel=2,
        )
        df, y = df[~missing.to_numpy()], y[~missing]
    if y.nunique() < 2:
        raise SchemaError(f"target {schema.target!r} has a single value ({y.iloc[0]!r}); there is nothing to learn")
    return df.reset_index(drop=True), y.reset_index(drop=True)


def wants_log(schema: Schema, recipe: Recipe, y: pd.Series, metric: str | None = None) -> bool:
    """Whether the recipe asks for a log target, or (on auto) the metric calls for one.

    On auto the log is taken only for relative metrics (RMSLE, MAPE): on
    uk_used_cars a log target cost LightGBM 0.0025 and XGBoost 0.004 test R²,
    because R² weighs the expensive cars' errors in pounds.
    """
    if schema.task != "regression" or recipe.target.transform == "none":
        return False
    positive = bool((y > 0).all())
    if recipe.target.transform == "log":
        if not positive:
            raise SchemaError(
                f"target {schema.target!r} has values <= 0, so it cannot be log-transformed; "
                'set [target] transform = "none"'
            )
        return True
    return positive and metric in ("rmsle", "mape")


def log_target(model) -> TransformedTargetRegressor:
    """Fit on log(y), predict exp(.): a price model never predicts a negative price."""
    return TransformedTargetRegressor(regressor=model, func=np.log, inverse_func=np.exp, check_inverse=False)


@saved
def unchanged(values):
    """The identity: the forward function of a target that stays as it is (kept in model files)."""
    return values


@saved
def clip_at_zero(values):
    """Predictions below zero raised to zero: for a target that is never negative (kept in model files)."""
    return np.maximum(values, 0.0)


def nonnegative_target(model) -> TransformedTargetRegressor:
    """Fit on y as it is, predict max(., 0): a target that is never negative gets no negative prediction."""
    return TransformedTargetRegressor(regressor=model, func=unchanged, inverse_func=clip_at_zero, check_inverse=False)


def can_log(schema: Schema, recipe: Recipe, y: pd.Series, metric: str | None) -> bool:
    """Whether raw against log is for the folds to decide: a positive target, the recipe on auto,
    and a metric that does not settle it (RMSLE and MAPE always take the log)."""
    return (
        schema.task == "regression"
        and recipe.target.transform == "auto"
        and metric not in ("rmsle", "mape")
        and bool((y > 0).all())
    )
