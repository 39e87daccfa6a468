"""Predicting with a run: new rows are checked against the Schema, then the model answers.

Missing columns are refused; text in a column the model saw as numbers is one line naming the column,
the row and the value; unseen categories and values outside the training range are counted.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trainyard.data.readers import read
from trainyard.data.schema import ColumnProfile, Role, Schema
from trainyard.data.values import MISSING_LOWER, MISSING_TOKENS
from trainyard.errors import SchemaError, TrainyardWarning
from trainyard.tabular.models.ensemble import LabelledModel
from trainyard.tabular.prep.base import SMALL_FRAME, is_missing

if TYPE_CHECKING:  # a Run calls into this module: only the annotation names it
    from trainyard.tabular.runs.store import Run


@dataclass
class Checked:
    """New rows checked against the Schema: the rows to predict, notes, unseen categories, values out of range."""

    rows: pd.DataFrame
    notes: list[str]
    unseen: dict[str, int]
    out_of_range: dict[str, int]


def check_rows(frame: pd.DataFrame, schema: Schema) -> Checked:
    """Check new rows against the Schema: missing columns fail; the rest is counted and reported."""
    features = [c for c in schema.columns if c.role is not Role.TARGET]
    missing = [c.name for c in features if c.name not in frame.columns]
    if missing:
        raise SchemaError(f"the rows lack column(s) {', '.join(missing)} that the model was trained with")
    notes = []
    extra = [c for c in frame.columns if c not in {f.name for f in features} and c != schema.target]
    if extra:
        notes.append(f"ignored {len(extra)} extra column(s): {', '.join(map(str, extra[:5]))}")
    unseen, out_of_range, numbers = {}, {}, {}
    small = len(frame) <= SMALL_FRAME  # a prediction request: per-value Python is cheaper than pandas here
    for column in features:
        values = frame[column.name]
        if _trained_on_numbers(column) and not pd.api.types.is_numeric_dtype(values):
            values = numbers[column.name] = _as_numbers(column.name, values)
        if column.role in (Role.CATEGORICAL, Role.TRISTATE) and column.details.get("levels"):
            # a token that only says "missing" ("NA", "-") is read as missing, not as a level never seen
            known = _level_set(tuple(column.details["levels"]) + MISSING_TOKENS)
            if small:
                count = sum(1 for v in values if not is_missing(v) and str(v) not in known)
            else:
                count = int((~values.dropna().astype(str).isin(known)).sum())
            if count:
                unseen[column.name] = count
        if column.role is Role.NUMERIC and "min" in column.details and pd.api.types.is_numeric_dtype(values):
            low, high = column.details["min"], column.details["max"]
            if small:
                count = sum(1 for v in values.tolist() if v < low or v > high)
            else:
                count = int(((values < low) | (values > high)).sum())
            if count:
                out_of_range[column.name] = count
    if unseen:
        notes.append("unseen categories: " + ", ".join(f"{k} ({v} rows)" for k, v in unseen.items()))
    if out_of_range:
        notes.append(
            "values outside the training range: " + ", ".join(f"{k} ({v} rows)" for k, v in out_of_range.items())
        )
    names = [f.name for f in features]
    rows = frame if list(frame.columns) == names else frame[names]  # selecting costs a request more than its checks
    if numbers:
        rows = rows.assign(**numbers)
    return Checked(rows=rows, notes=notes, unseen=unseen, out_of_range=out_of_range)


def _trained_on_numbers(column: ColumnProfile) -> bool:
    """The column held plain numbers when the model was trained (not numbers inside text)."""
    return column.role is Role.NUMERIC and column.dtype.lower().startswith(("int", "uint", "float"))


def _as_numbers(name: str, values: pd.Series) -> pd.Series:
    """A column the model saw as numbers, given as text: numbers and missing-value tokens pass, any other
    value is one line naming the column, the row and the value."""
    missing = values.map(lambda v: is_missing(v) or str(v).strip().lower() in MISSING_LOWER).astype(bool)
    parsed = pd.to_numeric(values.where(~missing), errors="coerce")
    bad = parsed.isna() & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SchemaError(
            f"column {name!r}, row {i + 1} of the new rows: {values.iloc[i]!r} is not a number, and the "
            f"model was trained on numbers there; correct it or leave the cell empty"
        )
    return parsed.astype(float)


@functools.lru_cache(maxsize=1024)
def _level_set(levels: tuple[str, ...]) -> frozenset[str]:
    return frozenset(levels)


def predict(run: Run, rows: Any) -> pd.DataFrame:
    """Predictions (and ``proba_<label>`` columns) for new rows (a table or anything ``read`` takes), checked
    against the run's Schema first; what the check found is a ``TrainyardWarning``."""
    frame, notes = predict_with_notes(run, read(rows))
    for note in notes:
        warnings.warn(note, TrainyardWarning, stacklevel=2)
    return frame


def predict_with_notes(run: Run, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Predictions for new rows, and what their check found (for the CLI and the server to print)."""
    checked = check_rows(frame, run.schema)
    return predict_frame(run, checked.rows), checked.notes


def predict_frame(run: Run, rows: pd.DataFrame) -> pd.DataFrame:
    """Predictions (and class probabilities) for rows already checked by ``check_rows``."""
    return output_frame(run, predict_output(run, rows), rows.index)


def predict_output(run: Run, rows: pd.DataFrame) -> np.ndarray:
    """The model's output for checked rows: values for regression, class probabilities otherwise."""
    return LabelledModel(run.estimator, run.classes, run.task).predict_output(rows)


def output_frame(run: Run, output: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Regression values, or class probabilities, as the prediction (the likeliest class) and proba_ columns."""
    classes = run.classes
    result = pd.DataFrame(index=index)
    if classes is None:
        result["prediction"] = output
    else:
        result["prediction"] = np.asarray(classes, dtype=object)[output.argmax(axis=1)]
        for i, label in enumerate(classes):
            result[f"proba_{label}"] = output[:, i]
    return result
