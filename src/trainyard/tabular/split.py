"""Splitters: random, stratified by the target or any column, grouped, and a
time-based fresh holdout (the newest months), with cross-validation folds to match.

Every split reports its sizes and, when stratified, each stratum's share on both
sides. Rare strata are merged into one "(other)" stratum rather than failing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from trainyard.data.schema import Role, Schema
from trainyard.errors import SchemaError
from trainyard.tabular.recipe import SplitSpec

OTHER = "(other)"


@dataclass
class Split:
    """Row positions (``iloc``) of the train, test and fresh sets, and how they were made."""

    train: np.ndarray
    test: np.ndarray
    fresh: np.ndarray
    kind: str
    stratify: str | None = None
    group: str | None = None
    date_column: str | None = None
    fresh_period: str | None = None
    shares: dict[str, dict[str, float]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("train", "test", "fresh"):
            data[name] = len(getattr(self, name))
        return data


def split_rows(df: pd.DataFrame, schema: Schema, spec: SplitSpec | None = None, *, seed: int = 0) -> Split:
    """Split ``df`` (target rows already present) into train, test and fresh sets."""
    spec = spec or SplitSpec()
    positions = np.arange(len(df))
    date_column = resolve_date_column(df, schema, spec)
    fresh = np.array([], dtype=int)
    period = None
    if date_column is not None and spec.fresh_months > 0:
        fresh_mask, period = fresh_rows(df[date_column], spec.fresh_months, date_column)
        fresh = positions[fresh_mask]
        positions = positions[~fresh_mask]
    kind = resolve_kind(spec, schema)
    rest = df.iloc[positions]
    if kind == "stratified":
        column = spec.stratify or schema.required_target()
        strata = strata_labels(_stratum_values(rest, column, schema), min_count=2, name=column)
        train, test = train_test_split(positions, test_size=spec.test_size, random_state=seed, stratify=strata)
        result = Split(np.sort(train), np.sort(test), fresh, kind, stratify=column)
        result.shares = _shares(df, column, result)
    elif kind == "group":
        groups = _column(rest, spec.group, "[split] group")
        splitter = GroupShuffleSplit(n_splits=1, test_size=spec.test_size, random_state=seed)
        train_at, test_at = next(splitter.split(positions, groups=groups.astype("string").fillna(OTHER)))
        result = Split(positions[train_at], positions[test_at], fresh, kind, group=spec.group)
    else:
        train, test = train_test_split(positions, test_size=spec.test_size, random_state=seed)
        result = Split(np.sort(train), np.sort(test), fresh, kind)
    result.date_column, result.fresh_period = date_column, period
    if len(result.train) == 0 or len(result.test) == 0:
        raise SchemaError(
            f"the split left no rows for {'training' if len(result.train) == 0 else 'testing'}; "
            "use a smaller test_size or fewer fresh months"
        )
    return result


def resolve_kind(spec: SplitSpec, schema: Schema) -> str:
    """The split kind a recipe's 'auto' means for this Schema: group, stratified or random."""
    if spec.kind != "auto":
        return spec.kind
    if spec.group:
        return "group"
    if spec.stratify or schema.task in ("binary", "multiclass"):
        return "stratified"
    return "random"


FRESH_MIN_SHARE = 0.05  # a fresh set holds at least this share of the dated rows,
FRESH_MIN_ROWS = 500  # or this many rows, whichever is smaller
FRESH_MAX_SHARE = 0.3  # a newest stretch that needs more of the rows than this makes no fresh set


def fresh_rows(dates: pd.Series, months: int, name: str) -> tuple[np.ndarray, str | None]:
    """Rows of the newest stretch of whole months that holds enough rows to score ("fresh data").

    At least ``months`` months; a month that has barely begun (its newest date in the first half of
    the month while earlier months run past it) does not count as one; then older months are added
    until the stretch holds ``FRESH_MIN_SHARE`` of the rows or ``FRESH_MIN_ROWS``, whichever is
    smaller. When that would take more than ``FRESH_MAX_SHARE`` of the rows, there is no fresh set
    (an empty mask and no label): a score on a few dozen rows is noise.
    """
    parsed = parse_dates(dates, name)
    if parsed.dt.tz is not None:  # months in the dates' own local time; a period has no time zone
        parsed = parsed.dt.tz_localize(None)
    periods = parsed.dt.to_period("M")
    dated = int(periods.notna().sum())
    latest, oldest = periods.max(), periods.min()
    first = latest - (months - 1) - (1 if _barely_begun(parsed, periods, latest) else 0)
    need = min(int(np.ceil(FRESH_MIN_SHARE * dated)), FRESH_MIN_ROWS)
    while first > oldest and int((periods >= first).sum()) < need:
        first -= 1
    mask = (periods >= first).fillna(False).to_numpy(dtype=bool)
    if mask.sum() > FRESH_MAX_SHARE * dated or mask.sum() < min(need, dated):
        return np.zeros(len(dates), dtype=bool), None
    return mask, str(latest) if first == latest else f"{first}..{latest}"


def _barely_begun(parsed: pd.Series, periods: pd.Series, latest) -> bool:
    """True when the newest month's dates stop in its first half while earlier months' run on past it."""
    earlier = periods < latest
    if not earlier.any():
        return False
    typical_last_day = parsed[earlier].groupby(periods[earlier]).max().dt.day.median()
    return parsed[periods == latest].dt.day.max() < typical_last_day / 2


def parse_dates(values: pd.Series, name: str) -> pd.Series:
    """A column as dates; one line naming the column when more than 5% of its values do not parse."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    present = values.notna()
    bad = present & parsed.isna()
    if present.sum() == 0 or bad.sum() > 0.05 * present.sum():
        example = values[bad].iloc[0] if bad.any() else None
        raise SchemaError(
            f"date column {name!r} does not parse as dates (e.g. {example!r}); "
            "fix it or choose another [split] date_column"
        )
    return parsed


def strata_labels(values: pd.Series, *, min_count: int, name: str) -> np.ndarray:
    """Stratum labels with strata smaller than ``min_count`` merged into "(other)"."""
    labels = values.astype("string").fillna("(missing)")
    counts = labels.value_counts()
    if len(counts) < 2:
        raise SchemaError(
            f'cannot stratify by {name!r}: it has a single level; choose another column or kind = "random"'
        )
    rare = counts[counts < min_count].index
    labels = labels.where(~labels.isin(rare), OTHER)
    if (labels == OTHER).sum() and (labels == OTHER).sum() < min_count:
        # Still too small: fold the merged stratum into the largest one.
        labels = labels.where(labels != OTHER, counts.index[0])
    return labels.to_numpy(dtype=object)


def cv_folds(
    df: pd.DataFrame,
    y: pd.Series,
    schema: Schema,
    split: Split,
    *,
    folds: int = 5,
    seed: int = 0,
    time_ordered: bool = False,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds over the training rows that match how the split was made.

    Returned positions index into ``df.iloc[split.train]``.
    """
    train = df.iloc[split.train]
    n = len(train)
    if time_ordered and split.date_column:
        order = np.argsort(parse_dates(train[split.date_column], split.date_column).to_numpy(), kind="stable")
        return [(order[a], order[b]) for a, b in TimeSeriesSplit(n_splits=folds).split(order)]
    if split.kind == "group":
        groups = train[split.group].astype("string").fillna(OTHER)
        return list(GroupKFold(n_splits=folds).split(np.zeros(n), groups=groups))
    if split.kind == "stratified":
        column = split.stratify or schema.required_target()
        values = _stratum_values(
            train.assign(**{column: y.iloc[split.train].to_numpy()}) if column == schema.target else train,
            column,
            schema,
        )
        strata = strata_labels(values, min_count=folds, name=column)
        return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(n), strata))
    return list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(n)))


def resolve_date_column(df: pd.DataFrame, schema: Schema, spec: SplitSpec) -> str | None:
    """The column that orders rows in time for the fresh holdout: the recipe's, else the first date column, or None."""
    if spec.date_column in (None, "", "none"):
        return None
    if spec.date_column == "auto":
        dates = schema.by_role(Role.DATETIME)
        return dates[0] if dates else None
    _column(df, spec.date_column, "[split] date_column")
    return spec.date_column


def _stratum_values(df: pd.DataFrame, column: str, schema: Schema) -> pd.Series:
    """The values to stratify on: a regression target is cut into ten quantile bins."""
    values = _column(df, column, "[split] stratify")
    if column == schema.target and schema.task == "regression":
        from trainyard.data.schema import target_values

        return pd.qcut(target_values(values), 10, duplicates="drop")
    return values


def _column(df: pd.DataFrame, name: str | None, where: str) -> pd.Series:
    if name is None or name not in df.columns:
        raise SchemaError(f"recipe {where}: unknown column {name!r}; columns: {', '.join(map(str, df.columns))}")
    return df[name]


def _shares(df: pd.DataFrame, column: str, split: Split) -> dict[str, dict[str, float]]:
    values = df[column].astype("string").fillna("(missing)")
    train = values.iloc[split.train].value_counts(normalize=True)
    test = values.iloc[split.test].value_counts(normalize=True)
    levels = train.index.union(test.index)
    top = train.reindex(levels).fillna(0).sort_values(ascending=False).index[:30]
    return {
        str(level): {"train": round(float(train.get(level, 0.0)), 4), "test": round(float(test.get(level, 0.0)), 4)}
        for level in top
    }
