"""Engineered features: age from a year, exponential and log transforms, date parts,
and a correlation filter. PCA, kernel PCA, interactions and feature selection are
scikit-learn's own; ``build.py`` configures them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from trainyard.tabular.prep.base import Columns, FrameTransformer, as_floats


class AgeFromYear(FrameTransformer):
    """``year`` -> ``year_age``: years before a reference date (default: the current month).

    The reference is fixed in ``fit`` (``as_of_``), so a fitted pipeline gives the
    same features next month as today.
    """

    def __init__(self, *, as_of: dt.date | str | None = None):
        self.as_of = as_of

    def fit(self, X, y=None):
        X = self._start_fit(X)
        as_of = pd.Timestamp(self.as_of) if self.as_of is not None else pd.Timestamp(dt.date.today())
        self.as_of_ = as_of.to_period("M").to_timestamp().isoformat()
        self.feature_names_out_ = [f"{c}_age" for c in X.columns]
        return self

    def transform(self, X):
        X = self._start_transform(X)
        ref = pd.Timestamp(self.as_of_)
        reference = ref.year + (ref.month - 1) / 12
        ages = reference - X.astype("float64")
        ages.columns = self.feature_names_out_
        return ages

    def transform_arrays(self, columns: Columns) -> Columns:
        ref = pd.Timestamp(self.as_of_)
        reference = ref.year + (ref.month - 1) / 12
        return {
            out: reference - as_floats(columns[c]) for c, out in zip(self.feature_names_in_, self.feature_names_out_)
        }


class ExpFeatures(FrameTransformer):
    """Add ``exp(-x / scale)`` for each column; ``scale`` is the column's median |x| in ``fit``.

    For an age or a mileage this is the exponential depreciation curve, which a
    linear model can then fit with one coefficient.
    """

    def __init__(self, *, keep_original: bool = True):
        self.keep_original = keep_original

    def fit(self, X, y=None):
        X = self._start_fit(X)
        medians = X.astype("float64").abs().median()
        self.scale_ = {c: float(medians[c]) if medians[c] > 0 else 1.0 for c in X.columns}
        exp_names = [f"{c}_exp" for c in X.columns]
        self.feature_names_out_ = (list(X.columns) if self.keep_original else []) + exp_names
        return self

    def transform(self, X):
        X = self._start_transform(X).astype("float64")
        exp = pd.DataFrame({f"{c}_exp": np.exp(-X[c] / self.scale_[c]) for c in X.columns}, index=X.index)
        return pd.concat([X, exp], axis=1) if self.keep_original else exp

    def transform_arrays(self, columns: Columns) -> Columns:
        values = {c: as_floats(columns[c]) for c in self.feature_names_in_}
        out = dict(values) if self.keep_original else {}
        out.update({f"{c}_exp": np.exp(-v / self.scale_[c]) for c, v in values.items()})
        return out


class LogFeatures(FrameTransformer):
    """Add ``log1p(x)`` for each column (values below zero are clipped to zero first)."""

    def __init__(self, *, keep_original: bool = True):
        self.keep_original = keep_original

    def fit(self, X, y=None):
        X = self._start_fit(X)
        log_names = [f"{c}_log" for c in X.columns]
        self.feature_names_out_ = (list(X.columns) if self.keep_original else []) + log_names
        return self

    def transform(self, X):
        X = self._start_transform(X).astype("float64")
        logs = np.log1p(X.clip(lower=0))
        logs.columns = [f"{c}_log" for c in X.columns]
        return pd.concat([X, logs], axis=1) if self.keep_original else logs

    def transform_arrays(self, columns: Columns) -> Columns:
        values = {c: as_floats(columns[c]) for c in self.feature_names_in_}
        out = dict(values) if self.keep_original else {}
        out.update({f"{c}_log": np.log1p(np.clip(v, 0, None)) for c, v in values.items()})
        return out


class DateParts(FrameTransformer):
    """A date column -> its year, month, day of week and months since 2000 (a trend), and the hour of
    the day (with minutes as a fraction) when the training rows hold times, not only dates."""

    PARTS = ("year", "month", "dayofweek", "months")

    def fit(self, X, y=None):
        X = self._start_fit(X)
        self.hours_ = [c for c in X.columns if _has_times(_dates(X[c]))]
        self.feature_names_out_ = [
            f"{c}_{p}" for c in X.columns for p in (*self.PARTS, "hour") if p != "hour" or c in self.hours_
        ]
        return self

    def transform(self, X):
        X = self._start_transform(X)
        hours = set(getattr(self, "hours_", []))  # runs saved before hours were learned have none
        out: Columns = {}
        for column in X.columns:
            out.update(_parts(pd.DatetimeIndex(_dates(X[column])), column, column in hours))
        return pd.DataFrame(out, index=X.index)

    def transform_arrays(self, columns: Columns) -> Columns:
        hours = set(getattr(self, "hours_", []))
        out: Columns = {}
        for column in self.feature_names_in_:
            dates = pd.DatetimeIndex(_dates(pd.Series(columns[column], dtype=object)))
            out.update(_parts(dates, column, column in hours))
        return out


def _parts(dates: pd.DatetimeIndex, column: str, hour: bool) -> Columns:
    """A date column's parts as floats (NaN where it is not a date)."""
    year, month = dates.year.to_numpy(float), dates.month.to_numpy(float)
    parts = {
        f"{column}_year": year,
        f"{column}_month": month,
        f"{column}_dayofweek": dates.day_of_week.to_numpy(float),
        f"{column}_months": (year - 2000) * 12 + month,
    }
    if hour:
        parts[f"{column}_hour"] = dates.hour.to_numpy(float) + dates.minute.to_numpy(float) / 60
    return parts


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce", format="mixed")


def _has_times(dates: pd.Series) -> bool:
    """Whether the values carry a time of day: some are not at midnight."""
    present = dates.dropna()
    return bool(len(present)) and bool(((present.dt.hour != 0) | (present.dt.minute != 0)).any())


class CorrelationFilter(FrameTransformer):
    """Drop one column of each pair whose absolute correlation on the training rows is above ``threshold``.

    The notes: linear and logistic regression suffer from highly correlated attributes.
    The later column of a pair goes; ``dropped_`` says which and why.
    """

    def __init__(self, *, threshold: float = 0.95):
        self.threshold = threshold

    def fit(self, X, y=None):
        X = self._start_fit(X)
        numeric = X.astype("float64")
        corr = numeric.corr().abs().to_numpy()
        columns = list(X.columns)
        dropped: dict[str, str] = {}
        for j in range(len(columns)):
            for i in range(j):
                if columns[i] in dropped:
                    continue
                if corr[i, j] > self.threshold:
                    dropped[columns[j]] = f"|r| = {corr[i, j]:.3f} with {columns[i]}"
                    break
        self.dropped_ = dropped
        self.feature_names_out_ = [c for c in columns if c not in dropped]
        return self

    def transform(self, X):
        X = self._start_transform(X)
        return X[self.feature_names_out_]

    def transform_arrays(self, columns: Columns) -> Columns:
        return {c: columns[c] for c in self.feature_names_out_}
