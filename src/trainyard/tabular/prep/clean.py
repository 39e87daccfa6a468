"""Cleaning steps that run before encoding: missing tokens, coalescing, numbers in text,
and dropping columns with a reason. Each learns only in ``fit``."""

from __future__ import annotations

import functools
import re
import warnings

import numpy as np
import pandas as pd

from trainyard.data.parse import (
    compiled_patterns,
    extract_named,
    extract_number,
    parse_number,
    parse_numbers,
    remove_from_text,
    remove_patterns,
)
from trainyard.data.values import MISSING_TOKENS, is_missing, is_text_dtype
from trainyard.tabular.prep.base import Columns, FrameTransformer, check_columns

DEFAULT_MISSING_TOKENS = MISSING_TOKENS


# A number at least this large (or infinite) is treated as missing: no measurement reaches it, and a scaler's or
# a linear model's squares of it overflow to infinity, which would turn whole columns into NaN.
HUGE = 1e150


def beyond_huge(values: np.ndarray) -> np.ndarray:
    """Where float ``values`` are infinite or at least HUGE in size (NaN is not)."""
    with np.errstate(invalid="ignore"):
        return np.abs(values) >= HUGE


class MissingTokens(FrameTransformer):
    """Turn cells that only say "missing" (``data.values.MISSING_TOKENS``), and numbers that are infinite or at
    least ``HUGE`` in size, into NaN.

    Columns in ``keep`` (tri-state columns whose vocabulary has a "not available"
    level) are left alone, so that level stays a value.
    """

    def __init__(self, *, tokens: tuple[str, ...] = DEFAULT_MISSING_TOKENS, keep: tuple[str, ...] = ()):
        self.tokens = tokens
        self.keep = keep

    def fit(self, X, y=None):
        X = self._start_fit(X)
        dtypes = X.dtypes  # by dtype, not by column: selecting ten thousand columns one by one costs seconds
        self.text_columns_ = [c for c, d in dtypes.items() if c not in self.keep and is_text_dtype(d)]
        self.float_columns_ = [c for c, d in dtypes.items() if pd.api.types.is_float_dtype(d)]
        self.feature_names_out_ = list(X.columns)
        return self

    def transform_arrays(self, columns: Columns) -> Columns:
        columns = dict(columns)
        lowered = _lowered(tuple(self.tokens))
        for name in self.text_columns_:
            mask = missing_token_mask(columns[name], lowered)
            if mask.any():
                values = columns[name].astype(object, copy=True)
                values[mask] = np.nan
                columns[name] = values
        names = [n for n in getattr(self, "float_columns_", []) if n in columns and columns[n].dtype.kind == "f"]
        if names:  # one pass over every float column: a wide table has hundreds of them
            huge = beyond_huge(np.stack([columns[n] for n in names]))
            for i in np.flatnonzero(huge.any(axis=1)):
                columns[names[i]] = np.where(huge[i], np.nan, columns[names[i]])
        return columns

    def transform(self, X):
        X = self._start_transform(X).copy()
        lowered = _lowered(tuple(self.tokens))
        for column in self.text_columns_:
            values = X[column]
            mask = values.astype("string").str.strip().str.lower().isin(lowered).fillna(False).to_numpy(dtype=bool)
            if mask.any():
                X[column] = values.mask(mask)
        # runs saved before this step knew about infinity lack float_columns_
        dtypes = X.dtypes
        floats = [
            c
            for c in getattr(self, "float_columns_", [])
            if c in dtypes.index and pd.api.types.is_float_dtype(dtypes[c])
        ]
        if floats:  # one pass over the float block finds the few columns with infinities (a replace per column
            # costs milliseconds, which ten thousand columns turn into half a minute)
            infinite = beyond_huge(X[floats].to_numpy(dtype=float, na_value=np.nan)).any(axis=0)
            for column in np.asarray(floats, dtype=object)[infinite]:
                X[column] = X[column].mask(beyond_huge(X[column].to_numpy(dtype=float, na_value=np.nan)))
        return X


@functools.lru_cache(maxsize=64)
def _lowered(tokens: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t.strip().lower() for t in tokens)


def missing_token_mask(values, lowered: frozenset[str] | set[str]) -> np.ndarray:
    """Which values only say "missing", value by value (the array form of the rule)."""
    return np.fromiter((not is_missing(v) and str(v).strip().lower() in lowered for v in values), bool, len(values))


class Coalesce(FrameTransformer):
    """Merge columns that hold the same quantity into one.

    ``groups={"mileage": ["mileage", "mileage2"]}``. Where only one member has a
    value, it wins. Where several do, the member whose values there look most
    like the quantity (compared with rows where a single member is filled) wins:
    scraped tables such as the unclean UK files shift columns, so that on some
    rows ``engine size`` holds the tax and ``engine size2`` the engine size. The
    preference is learned in ``fit`` (``order_``). Numbers in text are parsed first.
    """

    def __init__(self, *, groups: dict[str, list[str]] | None = None):
        self.groups = groups

    def fit(self, X, y=None):
        X = self._start_fit(X)
        groups = self.groups or {}
        for name, columns in groups.items():
            check_columns(X, list(columns), f"coalesce {name!r}")
        merged = {c for columns in groups.values() for c in columns}
        self.numeric_ = {name: all(_parses(X[c]) for c in columns) for name, columns in groups.items()}
        self.order_ = {
            name: _preference(self._members(X, name, columns), self.numeric_[name]) for name, columns in groups.items()
        }
        out = [c for c in X.columns if c not in merged]
        self.feature_names_out_ = out + [n for n in groups if n not in out]
        return self

    def _members(self, X: pd.DataFrame, name: str, columns: list[str]) -> dict[str, pd.Series]:
        return {c: parse_numbers(X[c]) if self.numeric_[name] else X[c] for c in columns}

    def transform(self, X):
        X = self._start_transform(X)
        merged = {}
        for name, columns in (self.groups or {}).items():
            members = self._members(X, name, columns)
            value = members[self.order_[name][0]]
            for column in self.order_[name][1:]:
                value = value.where(value.notna(), members[column])
            merged[name] = value
        keep = [c for c in self.feature_names_out_ if c not in merged]
        return pd.concat([X[keep], pd.DataFrame(merged, index=X.index)], axis=1)[self.feature_names_out_]

    def transform_arrays(self, columns: Columns) -> Columns:
        out = dict(columns)
        for name, members in (self.groups or {}).items():
            parsed = {c: parse_array(columns[c]) if self.numeric_[name] else columns[c] for c in members}
            first, *rest = self.order_[name]
            value = parsed[first].astype(float if self.numeric_[name] else object, copy=True)
            for column in rest:
                empty = missing_mask(value)
                value[empty] = parsed[column][empty]
            out[name] = value
        return {c: out[c] for c in self.feature_names_out_}


def _preference(members: dict[str, pd.Series], numeric: bool) -> list[str]:
    """Order the members by how well they agree with the quantity where they overlap."""
    names = list(members)
    present = pd.DataFrame({c: s.notna() for c, s in members.items()})
    alone = present.sum(axis=1) == 1
    overlap = present.sum(axis=1) > 1
    if not alone.any() or not overlap.any():
        return names
    reference = pd.concat([members[c][alone & present[c]] for c in names])
    if numeric:
        centre = float(np.log1p(reference.abs().median()))

        def score(c: str) -> float:  # distance of the medians on a log scale: lower is better
            return abs(float(np.log1p(members[c][overlap].abs().median())) - centre)
    else:
        known = set(reference.astype("string").dropna())

        def score(c: str) -> float:  # share of values never seen alone: lower is better
            values = members[c][overlap].dropna().astype("string")
            return 1.0 - float(values.isin(known).mean()) if len(values) else 1.0

    return sorted(names, key=lambda c: (score(c), names.index(c)))


class ParseNumbers(FrameTransformer):
    """Parse numbers hidden in text (" £8,000" -> 8000.0) in the named columns."""

    def __init__(self, *, columns: tuple[str, ...] = (), decimal_comma: bool = False):
        self.columns = columns
        self.decimal_comma = decimal_comma

    def fit(self, X, y=None):
        X = self._start_fit(X)
        check_columns(X, list(self.columns), "parse numbers")
        self.feature_names_out_ = list(X.columns)
        return self

    def transform(self, X):
        X = self._start_transform(X).copy()
        for column in self.columns:
            X[column] = parse_numbers(X[column], decimal_comma=self.decimal_comma)
        return X

    def transform_arrays(self, columns: Columns) -> Columns:
        parsed = {c: parse_array(columns[c], decimal_comma=self.decimal_comma) for c in self.columns}
        return {c: parsed.get(c, columns[c]) for c in self.feature_names_out_}


def parse_array(values: np.ndarray, *, decimal_comma: bool = False) -> np.ndarray:
    """``parse_numbers`` on an array, value by value: numbers stay numbers, text is parsed."""
    if values.dtype.kind in "iuf":
        return values.astype(float)
    return np.fromiter((parse_number(v, decimal_comma=decimal_comma) for v in values), float, len(values))


def missing_mask(values: np.ndarray) -> np.ndarray:
    """``pd.isna`` on an array of a few values, value by value."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.fromiter((is_missing(v) for v in values), bool, len(values))


NUMBERS_ONLY = "(numbers only)"  # the words of a cell whose text was all numbers and their units


class ExtractNumbers(FrameTransformer):
    """Named extraction where one cell holds several numbers: "300.0HP 3.7L V6" -> hp, litres.

    ``patterns={"engine": {"hp": r"([\\d.]+)\\s*HP", "litres": r"([\\d.]+)\\s*L\\b"}}``
    replaces column ``engine`` with ``engine_hp`` and ``engine_litres``.
    """

    def __init__(self, *, patterns: dict[str, dict[str, str]] | None = None, keep: tuple[str, ...] = ()):
        self.patterns = patterns
        self.keep = keep

    def fit(self, X, y=None):
        X = self._start_fit(X)
        patterns = self.patterns or {}
        check_columns(X, list(patterns), "extract numbers")
        out = []
        for column in X.columns:
            if column not in patterns:
                out.append(column)
                continue
            out += ([column] if column in self.keep else []) + [f"{column}_{name}" for name in patterns[column]]
        self.feature_names_out_ = out
        return self

    def transform(self, X):
        X = self._start_transform(X)
        parts = []
        for column in X.columns:
            if column in (self.patterns or {}):
                if column in self.keep:  # the words that remain, e.g. "Cylinder Engine Gasoline Fuel"
                    words = remove_patterns(X[column], self.patterns[column]).astype(object)
                    # a cell that held numbers only has no other words: a value of its own, not a missing one
                    # (else the column looks mostly missing and is dropped for a share it never had)
                    words = words.mask(words.isna() & X[column].notna(), NUMBERS_ONLY)
                    words = words.where(words.notna(), np.nan)  # pd.NA as NaN, which every encoder takes
                    parts.append(words.to_frame(column))
                extracted = extract_named(X[column], self.patterns[column])
                parts.append(extracted.add_prefix(f"{column}_"))
            else:
                parts.append(X[[column]])
        return pd.concat(parts, axis=1)

    def transform_arrays(self, columns: Columns) -> Columns:
        out = dict(columns)
        for column, patterns in (self.patterns or {}).items():
            values, compiled = columns[column], compiled_patterns(patterns)
            if column in self.keep:
                words = [np.nan if is_missing(v) else remove_from_text(v, compiled) or NUMBERS_ONLY for v in values]
                out[column] = np.array(words, dtype=object)
            for name, pattern in compiled.items():
                out[f"{column}_{name}"] = np.fromiter((extract_number(v, pattern) for v in values), float, len(values))
        return {c: out[c] for c in self.feature_names_out_}


class DropColumns(FrameTransformer):
    """Drop columns, each with its reason, deciding on the training rows only.

    ``columns`` maps a column to a fixed reason (id, constant, free text: from the
    Schema); ``max_missing`` drops any column whose missing share on the rows seen
    in ``fit`` is above it (0 reproduces the notes' "drop all the columns with
    missing values"); columns that are constant on those rows are dropped too.
    """

    def __init__(
        self, *, columns: dict[str, str] | None = None, max_missing: float | None = None, drop_constant: bool = True
    ):
        self.columns = columns
        self.max_missing = max_missing
        self.drop_constant = drop_constant

    def fit(self, X, y=None):
        X = self._start_fit(X)
        fixed = self.columns or {}
        check_columns(X, list(fixed), "drop")
        reasons = dict(fixed)
        shares = X.isna().mean()  # whole-frame passes: a wide table makes per-column selection the cost
        constant = _constant_columns(X) if self.drop_constant else set()
        for column in X.columns:
            if column in reasons:
                continue
            share = float(shares[column])
            if self.max_missing is not None and share > self.max_missing:
                reasons[column] = f"{share:.1%} missing (above {self.max_missing:.0%})"
            elif column in constant:
                reasons[column] = "constant on the training rows"
        self.dropped_ = reasons
        self.feature_names_out_ = [c for c in X.columns if c not in reasons]
        return self

    def transform(self, X):
        X = self._start_transform(X)
        return X[self.feature_names_out_]

    def transform_arrays(self, columns: Columns) -> Columns:
        return {name: columns[name] for name in self.feature_names_out_}


def _constant_columns(X: pd.DataFrame) -> set:
    """Columns with at most one distinct value (missing values aside); numbers in one pass over the block."""
    dtypes = X.dtypes
    numbers = [c for c, d in dtypes.items() if pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d)]
    constant = set()
    if numbers:
        block = X[numbers].to_numpy(dtype=float, na_value=np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: nanmin warns, and is constant
            low, high = np.nanmin(block, axis=0), np.nanmax(block, axis=0)
        constant |= {c for c, a, b in zip(numbers, low, high) if not a < b}
    counted = set(numbers)
    others = [c for c in X.columns if c not in counted]
    return constant | {c for c in others if X[c].nunique(dropna=True) <= 1}


def _parses(series: pd.Series) -> bool:
    present = series.dropna()
    return present.empty or bool(parse_numbers(present).notna().mean() >= 0.95)


def coalesce_candidates(columns: list[str]) -> dict[str, list[str]]:
    """Pairs like ``mileage`` / ``mileage2`` or ``fuel type`` / ``fuel type2``."""
    groups: dict[str, list[str]] = {}
    names = set(columns)
    for column in columns:
        stripped = column.rstrip("0123456789").rstrip(" _")
        if stripped != column and stripped in names:
            groups.setdefault(stripped, [stripped]).append(column)
    return groups


class SafeNames(FrameTransformer):
    """Rename columns to letters, digits and underscores (unique), for models that reject
    other characters in feature names (XGBoost: ``[ ] <``; LightGBM: JSON characters)."""

    def fit(self, X, y=None):
        X = self._start_fit(X)
        seen: dict[str, int] = {}
        names = []
        for column in X.columns:
            name = re.sub(r"[^0-9A-Za-z_]+", "_", str(column)).strip("_") or "f"
            seen[name] = seen.get(name, 0) + 1
            names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
        self.feature_names_out_ = names
        return self

    def transform(self, X):
        X = self._start_transform(X)
        return X.set_axis(self.feature_names_out_, axis=1)

    def transform_arrays(self, columns: Columns) -> Columns:
        return {new: columns[old] for old, new in zip(self.feature_names_in_, self.feature_names_out_)}
