"""Predicting with a run: new rows are checked against the Schema, then the model answers.

Missing columns are refused; text in a column the model saw as numbers is one line naming the column,
the row and the value; unseen categories and values outside the training range are counted.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trainyard.data.readers import read
from trainyard.data.schema import ColumnProfile, Role, Schema
from trainyard.data.values import MISSING_LOWER, MISSING_TOKENS, is_missing
from trainyard.errors import DataError, SchemaError, TrainyardWarning, first_line
from trainyard.tabular.models.compiled import FEW_ROWS, CompiledModel, NotCompiled, check_compiled, compile_model
from trainyard.tabular.models.ensemble import LabelledModel
from trainyard.tabular.prep.base import SMALL_FRAME

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
    numbers = {}
    for column in features:
        values = frame[column.name]
        if _trained_on_numbers(column) and not pd.api.types.is_numeric_dtype(values):
            numbers[column.name] = _as_numbers(column.name, values)
    unseen, out_of_range = count_unusual({**{c.name: frame[c.name] for c in features}, **numbers}, schema)
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


def count_unusual(columns: Mapping[str, Any], schema: Schema) -> tuple[dict[str, int], dict[str, int]]:
    """Per column, the values that are levels never seen and the numbers outside the training range.
    ``columns`` maps each feature to its values (Series or arrays: the server passes arrays)."""
    unseen, out_of_range = {}, {}
    for column in schema.columns:
        if column.role is Role.TARGET:
            continue
        values = columns[column.name]
        if column.role in (Role.CATEGORICAL, Role.TRISTATE) and column.details.get("levels"):
            # a token that only says "missing" ("NA", "-") is read as missing, not as a level never seen
            known = _level_set(tuple(column.details["levels"]) + MISSING_TOKENS)
            if len(values) <= SMALL_FRAME:  # a prediction request: per-value Python is cheaper than pandas here
                count = sum(1 for v in values if not is_missing(v) and str(v) not in known)
            else:
                count = int((~pd.Series(values).dropna().astype(str).isin(known)).sum())
            if count:
                unseen[column.name] = count
        if column.role is Role.NUMERIC and "min" in column.details and pd.api.types.is_numeric_dtype(values):
            numbers = np.asarray(values, dtype=float)
            with np.errstate(invalid="ignore"):
                count = int(((numbers < column.details["min"]) | (numbers > column.details["max"])).sum())
            if count:
                out_of_range[column.name] = count
    return unseen, out_of_range


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
    against the run's Schema first; what the check found is a ``TrainyardWarning``. A few rows (up to
    SMALL_FRAME) go through the compiled model once it is built and checked (``compiled_model``)."""
    frame, notes = predict_with_notes(run, read(rows), compiled=True)
    for note in notes:
        warnings.warn(note, TrainyardWarning, stacklevel=2)
    return frame


def predict_with_notes(run: Run, frame: pd.DataFrame, *, compiled: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Predictions for new rows, and what their check found (for the CLI and the server to print). The CLI
    predicts once per process, where compiling would cost more than it saves: ``compiled`` is the library's."""
    checked = check_rows(frame, run.schema)
    return predict_frame(run, checked.rows, compiled=compiled), checked.notes


def predict_frame(run: Run, rows: pd.DataFrame, *, compiled: bool = False) -> pd.DataFrame:
    """Predictions (and class probabilities) for rows already checked by ``check_rows``."""
    return output_frame(run, predict_output(run, rows, compiled=compiled), rows.index)


def predict_output(run: Run, rows: pd.DataFrame, *, compiled: bool = False) -> np.ndarray:
    """The model's output for checked rows: values for regression, class probabilities otherwise. With
    ``compiled``, a few rows take the compiled model (the steps' array forms) when it is built and checked."""
    fast = compiled_model(run) if compiled and len(rows) <= SMALL_FRAME else None
    if fast is not None:
        return fast.predict_output(rows)
    return LabelledModel(run.estimator, run.classes, run.task).predict_output(rows)


COMPILE_CHECK_ROWS = 64  # the run's own sample rows on which the compiled model must agree with the pipelines


def compiled_model(run: Run) -> CompiledModel | None:
    """The run's model compiled for a few rows, built once per loaded run and checked on the run's sample rows;
    None where it does not compile or disagrees (the pipelines answer)."""
    if run.compiled is None:
        try:
            rows = check_rows(run.sample_rows().iloc[:COMPILE_CHECK_ROWS], run.schema).rows
        except DataError as err:
            run.compiled = (None, str(err))
        else:
            run.compiled = compile_run(run, rows)
    return run.compiled[0]


def compile_run(run: Run, rows: pd.DataFrame) -> tuple[CompiledModel | None, str]:
    """The run's model compiled and checked against the pipelines on ``rows`` (one row, FEW_ROWS and all of
    them, so both the few-rows and the many-rows paths are checked), or None and why not."""
    try:
        compiled = compile_model(run.estimator, run.manifest["task"], len(run.classes or []))
    except NotCompiled as err:
        return None, f"{err} cannot be compiled"
    except Exception as err:  # a converter's own refusal (Treelite, a library's format): the library path stays
        return None, f"compiling failed ({type(err).__name__}: {first_line(err, 120)})"
    for subset in (rows.iloc[:1], rows.iloc[:FEW_ROWS], rows):
        differs = check_compiled(compiled, lambda r: predict_output(run, r), subset)
        if differs:
            return None, f"the compiled model disagreed with the pipelines on {len(subset)} example rows ({differs})"
    return compiled, ""


def output_columns(run: Run, output: np.ndarray) -> dict[str, np.ndarray]:
    """The model's output as ``prediction`` (the likeliest class for classes) and one ``proba_<label>`` per class."""
    classes = run.classes
    if classes is None:
        return {"prediction": output}
    columns = {"prediction": np.asarray(classes, dtype=object)[output.argmax(axis=1)]}
    columns.update({f"proba_{label}": output[:, i] for i, label in enumerate(classes)})
    return columns


def output_frame(run: Run, output: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Regression values, or class probabilities, as the prediction (the likeliest class) and proba_ columns."""
    return pd.DataFrame(output_columns(run, output), index=index)
