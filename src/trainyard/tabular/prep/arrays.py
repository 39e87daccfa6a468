"""The small-input form of every fitted preprocessing step: 2-D array in, 2-D array out, no pandas.

A prediction request of a few rows spends more in pandas and in scikit-learn's input checks than in the
work itself. ``block_form(step)`` gives the same rule as ``step.transform`` on an array whose columns are
the step's fitted inputs in order:

- trainyard's steps bring their own (``FrameTransformer.transform_arrays``, beside ``transform``);
- scikit-learn's steps that trainyard builds have theirs here (imputing, scaling, and the per-column
  encoders: one-hot, ordinal, target), each made from the fitted step's own numbers; the encoders' tables
  are read off the fitted encoder itself, one probe per level, so a rule never has a second copy to keep
  in step with scikit-learn's;
- any other step runs its own ``transform`` on the array (scikit-learn set to return arrays).

tests/tabular/prep/test_arrays.py checks every form against ``transform`` on generated rows (missing
values, levels never seen, extremes).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from trainyard.data.values import is_missing
from trainyard.tabular.prep.base import FrameTransformer, as_floats

BlockForm = Callable[[np.ndarray], np.ndarray]


class NoArrayForm(Exception):
    """A step with no form on arrays (a ColumnTransformer nested in a branch, a step from another library)."""


def block_form(step) -> BlockForm:
    """The fitted ``step`` as a function of a 2-D array (its fitted input columns, in order)."""
    if isinstance(step, FrameTransformer):
        return _frame_step(step)
    if isinstance(step, Pipeline):
        return _chain([block_form(s) for _, s in step.steps])
    if isinstance(step, ColumnTransformer):
        raise NoArrayForm("a ColumnTransformer inside a branch")
    maker = FORMS.get(type(step))
    form = maker(step) if maker is not None else None
    return form if form is not None else library_form(step)


def library_form(step) -> BlockForm:
    """The step's own ``transform`` fed an array: a copy set to return arrays, not DataFrames."""
    if not type(step).__module__.startswith("sklearn."):
        raise NoArrayForm(f"the step {type(step).__name__}")
    plain = copy.deepcopy(step)
    if hasattr(plain, "set_output"):
        plain.set_output(transform="default")

    def transform(block: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():  # fitted on named columns, fed an array in the same order
            warnings.simplefilter("ignore", UserWarning)
            out = plain.transform(block)
        return out.toarray() if hasattr(out, "toarray") else np.asarray(out)

    return transform


def _chain(forms: list[BlockForm]) -> BlockForm:
    def chained(block: np.ndarray) -> np.ndarray:
        for form in forms:
            block = form(block)
        return block

    return chained


def _frame_step(step: FrameTransformer) -> BlockForm:
    names_in, names_out = [str(c) for c in step.feature_names_in_], list(step.feature_names_out_)

    def transform(block: np.ndarray) -> np.ndarray:
        out = step.transform_arrays({name: block[:, i] for i, name in enumerate(names_in)})
        if not names_out:
            return np.empty((len(block), 0))
        return np.column_stack([out[name] for name in names_out])

    return transform


# --- scikit-learn's steps ---------------------------------------------------------------------------


def _imputer(step: SimpleImputer) -> BlockForm | None:
    missing = step.missing_values
    if step.add_indicator or not (isinstance(missing, float) and np.isnan(missing)):
        return None
    try:
        statistics = np.asarray(step.statistics_, dtype=float)
    except (TypeError, ValueError):  # the most frequent level of a text column: the library's own form
        return None
    if np.isnan(statistics).any() and not step.keep_empty_features:
        return None  # columns without a statistic are dropped: the library's own form

    def transform(block: np.ndarray) -> np.ndarray:
        values = as_floats(block)
        return np.where(np.isnan(values), statistics, values)

    return transform


def _standard(step: StandardScaler) -> BlockForm:
    return _centre_and_scale(step.mean_ if step.with_mean else None, step.scale_ if step.with_std else None)


def _robust(step: RobustScaler) -> BlockForm:
    return _centre_and_scale(step.center_, step.scale_)


def _centre_and_scale(centre: np.ndarray | None, scale: np.ndarray | None) -> BlockForm:
    """(x - centre) / scale, either part absent when the scaler was fitted without it."""

    def transform(block: np.ndarray) -> np.ndarray:
        values = as_floats(block)
        if centre is not None:
            values = values - centre
        return values / scale if scale is not None else values

    return transform


def _min_max(step: MinMaxScaler) -> BlockForm:
    low, high = step.feature_range

    def transform(block: np.ndarray) -> np.ndarray:
        values = as_floats(block) * step.scale_ + step.min_
        return np.clip(values, low, high) if step.clip else values

    return transform


def _identity(step: FunctionTransformer) -> BlockForm | None:
    return (lambda block: block) if step.func is None else None


# The per-column encoders: each level's output row read off the fitted encoder, once per level.
_UNSEEN = "\x00a level never seen"


def _widths(step) -> list[int]:
    if isinstance(step, OneHotEncoder):
        return [int(w) for w in step._n_features_outs]
    if isinstance(step, TargetEncoder):
        return [len(step.encodings_) // step.n_features_in_] * step.n_features_in_
    return [1] * step.n_features_in_


def _lookup(step) -> BlockForm | None:
    """A per-column encoder as tables: level -> output row, and the rows for None, NaN and a level never seen."""
    if step.n_features_in_ != len(step.categories_):
        return None
    widths = _widths(step)
    starts = np.concatenate([[0], np.cumsum(widths)])
    library = library_form(step)
    known = [_first_level(levels) for levels in step.categories_]
    tables = []
    every_numeric = all(_numeric(c) for c in step.categories_)

    def probe(j: int, values: list) -> np.ndarray:
        block = np.empty((len(values), len(known)), dtype=object)
        block[:] = np.array(known, dtype=object)
        column = np.empty(len(values), dtype=object)
        column[:] = values
        block[:, j] = column
        out = library(as_floats(block) if every_numeric else block)
        return np.asarray(out, dtype=float)[:, starts[j] : starts[j + 1]]

    for j, levels in enumerate(step.categories_):
        numeric = _numeric(levels)
        probes = [v for v in levels if not is_missing(v)]
        try:
            # None and NaN each in a probe of its own: scikit-learn reads a column holding both differently
            out = probe(j, probes + [np.nan, _unseen_number(probes) if numeric else _UNSEEN])
            none = out[-2] if numeric else probe(j, [None])[0]
        except (ValueError, TypeError):  # an encoder that refuses an unseen level: its own form says so
            return None
        table = {value: out[i] for i, value in enumerate(probes)}
        tables.append((table, {"nan": out[len(probes)], "unseen": out[len(probes) + 1], "none": none}))

    def transform(block: np.ndarray) -> np.ndarray:
        out = np.empty((len(block), int(starts[-1])))
        for j, (table, rows) in enumerate(tables):
            segment = out[:, starts[j] : starts[j + 1]]
            for i, value in enumerate(block[:, j]):
                if value is None:
                    segment[i] = rows["none"]
                elif isinstance(value, float) and value != value:
                    segment[i] = rows["nan"]
                else:
                    found = table.get(value)
                    segment[i] = found if found is not None else rows["unseen"]
        return out

    return transform


def _first_level(levels) -> object:
    present = [v for v in levels if not is_missing(v)]
    return present[0] if present else np.nan


def _numeric(levels) -> bool:
    return np.asarray(levels).dtype.kind in "iuf"


def _unseen_number(levels: list) -> float:
    return float(max(levels, default=0.0)) + 1.5


FORMS: dict[type, Callable[..., BlockForm | None]] = {
    SimpleImputer: _imputer,
    StandardScaler: _standard,
    RobustScaler: _robust,
    MinMaxScaler: _min_max,
    FunctionTransformer: _identity,
    OneHotEncoder: _lookup,
    OrdinalEncoder: _lookup,
    TargetEncoder: _lookup,
}
