"""Request bodies to a typed table: JSON rows or CSV, checked column by column against the Schema.

Everything a client can get wrong is a ``RowsError`` with an HTTP status and one line naming the
column (and the row) and what to send instead, before the model sees anything.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from trainyard.data.schema import ColumnProfile, Schema
from trainyard.errors import first_line

JSON_TYPES = {"number": "number", "boolean": "boolean", "string": "string"}


class RowsError(Exception):
    """A request body that cannot be predicted: the HTTP status and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def json_type(column: ColumnProfile) -> str:
    """What a client sends for this column: number, boolean or string (dates and text are strings)."""
    dtype = column.dtype.lower()
    if dtype.startswith(("int", "uint", "float")):
        return "number"
    if dtype == "bool" or dtype == "boolean":
        return "boolean"
    return "string"


def features(schema: Schema) -> list[ColumnProfile]:
    """The Schema's feature columns (all but the target)."""
    return [c for c in schema.columns if c.name != schema.target]


def row_schema(schema: Schema) -> dict[str, Any]:
    """The JSON Schema of one row, for the OpenAPI description."""
    properties = {}
    for column in features(schema):
        kind = json_type(column)
        prop: dict[str, Any] = {"type": [kind, "null"], "description": f"{column.role.value}: {column.reason}"[:200]}
        if column.details.get("levels") and kind == "string":
            prop["examples"] = column.details["levels"][:5]
        properties[column.name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": [c.name for c in features(schema)],
        "additionalProperties": True,
    }


Columns = dict[str, np.ndarray]  # a request's rows as column -> array: floats for numbers, objects otherwise


def rows_frame(columns: Columns, n_rows: int) -> pd.DataFrame:
    """Parsed columns as a DataFrame (object columns stay object: pandas would make them its string dtype)."""
    if not columns:
        return pd.DataFrame(index=pd.RangeIndex(n_rows))
    return pd.DataFrame({c: v if v.dtype != object else pd.Series(v, dtype=object) for c, v in columns.items()})


def parse_json(body: bytes, schema: Schema, max_rows: int) -> pd.DataFrame:
    """Rows from a JSON body (a list of row objects, one object, or {"rows": [...]}), typed by the Schema; RowsError
    otherwise."""
    return rows_frame(*parse_json_columns(body, schema, max_rows))


def parse_json_columns(body: bytes, schema: Schema, max_rows: int) -> tuple[Columns, int]:
    """``parse_json`` as column -> array and the row count: the server's form, without a DataFrame."""
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as err:
        raise RowsError(
            400, f'the body is not valid JSON ({str(err)[:120]}); send a list of rows or {{"rows": [...]}}'
        ) from None
    rows = payload.get("rows") if isinstance(payload, dict) and "rows" in payload else payload
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise RowsError(422, 'send a JSON object per row: [{"column": value, ...}, ...] or {"rows": [...]}')
    _check_count(len(rows), max_rows)
    columns = {}
    for column in features(schema):
        values = []
        kind = json_type(column)
        for i, row in enumerate(rows):
            if column.name not in row:
                raise RowsError(422, f"row {i} lacks column {column.name!r} (send null for a missing value)")
            values.append(_check_value(row[column.name], kind, column.name, i))
        columns[column.name] = _column(values, kind)
    return columns, len(rows)


def _column(values: list, kind: str) -> np.ndarray:
    """One column's values as an array; a missing value is NaN whatever the type, as in a table read for
    training (scikit-learn's encoders read None and NaN as different values)."""
    if kind == "number":
        return np.array(values, dtype=float)
    column = np.empty(len(values), dtype=object)
    column[:] = [np.nan if v is None else v for v in values]
    return column


def parse_csv(body: bytes, schema: Schema, max_rows: int) -> tuple[Columns, int]:
    """Rows from a CSV body with a header, typed by the Schema, as column -> array and the row count; RowsError
    otherwise."""
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise RowsError(400, f"the body is not CSV with a header row ({first_line(err, 120)})") from None
    _check_count(len(frame), max_rows)
    missing = [c.name for c in features(schema) if c.name not in frame.columns]
    if missing:
        raise RowsError(422, f"the CSV lacks column(s) {', '.join(map(repr, missing))}")
    columns = {}
    for column in features(schema):
        text = frame[column.name]
        empty = text.str.strip() == ""
        kind = json_type(column)
        if kind == "number":
            values = pd.to_numeric(text.where(~empty), errors="coerce")
            bad = values.isna() & ~empty | ~np.isfinite(values.fillna(0))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise RowsError(422, f"column {column.name!r} row {i}: {text.iloc[i]!r} is not a number")
            columns[column.name] = values.astype(float)
        elif kind == "boolean":
            lowered = text.str.strip().str.lower()
            known = lowered.isin(["true", "false"]) | empty
            if not known.all():
                i = int(np.flatnonzero(~known.to_numpy())[0])
                raise RowsError(422, f"column {column.name!r} row {i}: {text.iloc[i]!r} is not true or false")
            columns[column.name] = lowered.map({"true": True, "false": False}).astype(object).where(~empty, np.nan)
        else:
            columns[column.name] = text.astype(object).where(~empty, np.nan)
    return {name: values.to_numpy() for name, values in columns.items()}, len(frame)


def example_rows(schema: Schema, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows made from the Schema as a client would send them (known levels, values across the training
    range, some missing, some levels never seen), parsed like a request: to check a fast path against the
    library path before serving."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for column in features(schema):
        kind = json_type(column)
        for i, row in enumerate(rows):
            row[column.name] = None if rng.random() < 0.1 else _example_value(column, kind, rng, i)
    return parse_json(json.dumps(rows).encode(), schema, n)


def _example_value(column: ColumnProfile, kind: str, rng: np.random.Generator, i: int) -> Any:
    if kind == "number":
        low, high = column.details.get("min", 0.0), column.details.get("max", 1.0)
        value = float(rng.uniform(low, high))
        return round(value) if column.dtype.lower().startswith(("int", "uint")) else value
    if kind == "boolean":
        return bool(rng.random() < 0.5)
    known = column.details.get("levels") or column.examples or ["a"]
    return "a level never seen" if i % 7 == 3 else str(known[int(rng.integers(len(known)))])


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _check_count(count: int, max_rows: int) -> None:
    if count > max_rows:
        raise RowsError(413, f"{count:,} rows in one request; send at most {max_rows:,}")


def _check_value(value: Any, kind: str, name: str, row: int) -> Any:
    if value is None:
        return None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RowsError(422, f"column {name!r} row {row}: {_show(value)} is not a number")
        try:
            number = float(value)
        except OverflowError:  # JSON allows an integer of any length
            raise RowsError(
                422, f"column {name!r} row {row}: a whole number of {len(str(value))} digits is beyond any float"
            ) from None
        if not math.isfinite(number):
            raise RowsError(422, f"column {name!r} row {row}: {_show(value)} is not a finite number")
        return number
    if kind == "boolean":
        if not isinstance(value, bool):
            raise RowsError(422, f"column {name!r} row {row}: {_show(value)} is not true or false")
        return value
    if not isinstance(value, str):
        raise RowsError(422, f"column {name!r} row {row}: {_show(value)} is not a string")
    return value


def _show(value: Any) -> str:
    return repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
