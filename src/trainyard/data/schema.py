"""Column profiling: ``profile(df, target=None) -> Schema``.

Every column gets a role and a one-sentence reason; the Schema also records the
task inferred from the target and the findings a careful analyst would raise.
The Schema serialises to JSON so that a trained run can check new rows against it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from trainyard.data.values import MISSING_LOWER, TRISTATE_VOCABULARY, is_text, normalise_word, ordered_levels
from trainyard.errors import SchemaError

SCHEMA_VERSION = 1
TASKS = ("regression", "binary", "multiclass")
_ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key|ref|reference)$|^(id|uuid|guid)([_\s-]|$)|[a-z]Id$", re.IGNORECASE)
_DATE_LIKE = re.compile(
    r"^\s*(\d{4}-\d{1,2}(-\d{1,2})?([ T]\d{1,2}:\d{2}.*)?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{4}/\d{1,2}/\d{1,2})\s*$"
)
_YEAR_NAME = re.compile(r"year|yr$", re.IGNORECASE)
_NONNEGATIVE_NAME = re.compile(r"price|mileage|miles|km|age|amount|count|quantity|size|duration|weight", re.IGNORECASE)
SAMPLE_ROWS = 20_000
# A text column with at least this share of distinct values (and more than 20 of them) is names or notes, not
# categories: at about one row per level a category can only be learned by heart (a target encoding of a name
# seen once returns that row's own outcome), so it is free text (words, kept when the folds say they help) or an
# identifier, never a categorical.
NEAR_UNIQUE = 0.9
MAX_ORDERED_LEVELS = 30  # more levels than this are not a scale someone ranks by hand


class Role(str, Enum):
    """What a column is to the model: numeric, categorical, tri-state, text, date, id, constant or the target."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    TRISTATE = "tristate"
    TEXT = "text"
    DATETIME = "datetime"
    ID = "id"
    CONSTANT = "constant"
    NUMBER_IN_TEXT = "number_in_text"
    TARGET = "target"


@dataclass
class ColumnProfile:
    """One column as the profiler saw it: its role and the reason, dtype, missing share, distinct values, examples."""

    name: str
    role: Role
    reason: str
    dtype: str
    missing: float
    unique: int
    examples: list[str] = field(default_factory=list)
    # Role-specific facts: numeric range, tri-state mapping, date range.
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finding:
    """A warning a careful analyst would raise about the data."""

    code: str
    message: str
    column: str | None = None


@dataclass
class Schema:
    """What a table is: each column's profile, the rows, the target and the task with its reason, and findings."""

    columns: list[ColumnProfile]
    n_rows: int
    target: str | None = None
    task: str | None = None
    task_reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    version: int = SCHEMA_VERSION

    def _repr_html_(self) -> str:
        from trainyard.notebook import schema_html

        return schema_html(self)

    def __getitem__(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise SchemaError(f"no column {name!r} in the schema; columns: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def required_target(self) -> str:
        """The target column's name; an error for a Schema profiled without one."""
        if self.target is None:
            raise SchemaError("no target: pass the column to predict (target=)")
        return self.target

    def required_task(self) -> str:
        """The task (regression, binary or multiclass); an error for a Schema profiled without a target."""
        if self.task is None:
            raise SchemaError("no target: pass the column to predict (target=)")
        return self.task

    def by_role(self, *roles: Role | str) -> list[str]:
        wanted = {Role(r) for r in roles}
        return [c.name for c in self.columns if c.role in wanted]

    @property
    def features(self) -> list[str]:
        return [c.name for c in self.columns if c.role is not Role.TARGET]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for column in data["columns"]:
            column["role"] = column["role"].value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        if data.get("version") != SCHEMA_VERSION:
            raise SchemaError(f"schema version {data.get('version')} is not supported (expected {SCHEMA_VERSION})")
        columns = [ColumnProfile(**{**c, "role": Role(c["role"])}) for c in data["columns"]]
        findings = [Finding(**f) for f in data.get("findings", [])]
        rest = {k: v for k, v in data.items() if k not in ("columns", "findings")}
        return cls(columns=columns, findings=findings, **rest)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=_json_default)

    @classmethod
    def from_json(cls, text: str) -> Schema:
        return cls.from_dict(json.loads(text))


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return str(value)


# --- profiling -------------------------------------------------------------------------


def profile(
    df: pd.DataFrame, target: str | None = None, *, task: str | None = None, as_of: dt.date | None = None
) -> Schema:
    """Give each column a role and a reason, infer the task, and raise findings.

    ``as_of`` is the date that "now" means for impossible-value checks (default: today).
    """
    if target is not None and target not in df.columns:
        raise SchemaError(f"target {target!r} is not a column; columns: {', '.join(map(str, df.columns))}")
    if task is not None and task not in TASKS:
        raise SchemaError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    as_of = as_of or dt.date.today()
    df = without_attrs(df)
    columns = [_profile_column(df[name], name == target) for name in df.columns]
    schema = Schema(columns=columns, n_rows=len(df), target=target)
    y = None
    if target is not None:
        raw = df[target]
        y = target_values(raw)
        schema.task, schema.task_reason = infer_task(y, task)
        if y is not raw:
            schema[target].details["holds"] = Role.NUMBER_IN_TEXT.value
            schema.task_reason += " (parsed from text)"
    schema.findings = _findings(df, schema, as_of, y)
    return schema


def without_attrs(df: pd.DataFrame) -> pd.DataFrame:
    """The frame without ``attrs`` (the reader's source and encoding), sharing its data: pandas deep-copies
    ``attrs`` into every Series and frame an operation makes, a cost that wide tables multiply."""
    if not df.attrs:
        return df
    bare = df.copy(deep=False)
    bare.attrs = {}
    return bare


def target_values(y: pd.Series) -> pd.Series:
    """The target as the model will see it: numbers parsed out of text when it holds them."""
    from trainyard.data.parse import parse_numbers, parse_share  # prep imports schema: import late

    if is_text(y) and parse_share(y) >= 0.95:
        return parse_numbers(y)
    return y


def infer_task(y: pd.Series, override: str | None = None) -> tuple[str, str]:
    """Regression, binary or multiclass, from the target's values (or the override)."""
    present = y.dropna()
    levels = present.nunique()
    if override is not None:
        if override == "binary" and levels != 2:
            raise SchemaError(f"target {y.name!r} has {levels} classes, so it cannot be binary")
        return override, "set by the user"
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if levels == 2:
        return "binary", "the target has exactly two values"
    if numeric:
        integral = _whole(present)
        if integral and levels <= 10:
            return (
                "multiclass",
                f"the target has {levels} whole-number values; pass task='regression' if they are amounts",
            )
        return "regression", f"the target is numeric with {levels} distinct values"
    return "multiclass", f"the target has {levels} text classes"


def _whole(values: pd.Series) -> bool:
    """Whether every value is a whole number (an infinite one is not, and raises no warning)."""
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.mod(values.to_numpy(dtype="float64"), 1) == 0))


def _profile_column(series: pd.Series, is_target: bool) -> ColumnProfile:
    name = str(series.name)
    missing_mask = _missing_mask(series)
    present = series[~missing_mask]
    unique = int(present.nunique())
    base: dict[str, Any] = dict(
        name=name,
        dtype=str(series.dtype),
        missing=round(float(missing_mask.mean()), 4),
        unique=unique,
        examples=_examples(present),
    )
    if is_target:
        return ColumnProfile(role=Role.TARGET, reason="the column you want to predict", **base)
    role, reason, details = _assign_role(series, present, unique, len(series))
    if role in (Role.CATEGORICAL, Role.TRISTATE) and unique <= 500 and "numbers" not in details:
        details["levels"] = sorted(map(str, present.unique()))  # new rows are checked against these
    return ColumnProfile(role=role, reason=reason, details=details, **base)


def _missing_mask(series: pd.Series) -> pd.Series:
    mask = series.isna()
    if is_text(series):
        tokens = series.astype("string").str.strip().str.lower()
        mask = mask | tokens.isin(MISSING_LOWER).fillna(False)
    return mask.astype(bool)


def _examples(present: pd.Series, n: int = 3) -> list[str]:
    values = present.drop_duplicates().head(n)
    return [str(v)[:40] for v in values]


def _assign_role(series: pd.Series, present: pd.Series, unique: int, n_rows: int) -> tuple[Role, str, dict[str, Any]]:
    name = str(series.name)
    if present.empty:
        return Role.CONSTANT, "every value is missing", {}
    if unique == 1:
        return Role.CONSTANT, f"one value only ({str(present.iloc[0])[:30]})", {}
    if pd.api.types.is_datetime64_any_dtype(series):
        return Role.DATETIME, "stored as dates", _date_details(present)
    if pd.api.types.is_bool_dtype(series):
        return Role.CATEGORICAL, "true/false values", {}
    if pd.api.types.is_numeric_dtype(series):
        return _numeric_role(name, present, unique, n_rows)
    return _text_role(name, present, unique, n_rows)


def _numeric_role(name: str, present: pd.Series, unique: int, n_rows: int) -> tuple[Role, str, dict[str, Any]]:
    integral = pd.api.types.is_integer_dtype(present) or _whole(present)
    details = {"min": float(present.min()), "max": float(present.max()), "mean": float(present.mean())}
    if integral and unique == len(present) and n_rows >= 20:
        if _ID_NAME.search(name):
            return Role.ID, "a unique whole number per row with an id-like name", details
        values = np.sort(present.to_numpy(dtype="float64"))
        if values[-1] - values[0] == len(values) - 1:
            return Role.ID, "consecutive whole numbers, one per row: a row number", details
    return Role.NUMERIC, f"numbers ({'whole' if integral else 'decimal'}, {unique} distinct)", details


def _text_role(name: str, present: pd.Series, unique: int, n_rows: int) -> tuple[Role, str, dict[str, Any]]:
    sample = present.sample(min(len(present), SAMPLE_ROWS), random_state=0) if len(present) > SAMPLE_ROWS else present
    text = sample.astype("string")
    if unique <= 3:
        mapping = _tristate_mapping(present.astype("string").unique())
        if mapping is not None:
            vocab = " / ".join(mapping)
            return Role.TRISTATE, f"values within a small on/off vocabulary ({vocab})", {"mapping": mapping}
    if float(text.str.match(_DATE_LIKE).mean()) >= 0.95:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if float(parsed.notna().mean()) >= 0.95:
            return Role.DATETIME, "text that parses as dates", _date_details(parsed.dropna())
    from trainyard.data.parse import parse_share  # prep imports schema: import late

    if parse_share(sample) >= 0.95 and unique > 3:
        return Role.NUMBER_IN_TEXT, f"text that holds numbers (e.g. {str(sample.iloc[0]).strip()!r})", {}
    ratio = unique / len(present)
    if _ID_NAME.search(name) and ratio >= 0.5:
        return Role.ID, f"an id-like name with {unique} distinct values", {}
    order = ordered_levels(sample) if unique <= MAX_ORDERED_LEVELS else None
    if order is not None:  # before "numbers inside": "3rd" is a rank, not 3 of a unit "rd"
        return Role.CATEGORICAL, f"{len(order)} ordered levels ({' < '.join(order)})", {"order": order}
    numbers = _numbers_inside(sample)
    inside = f"; numbers inside: {', '.join(numbers['numbers'])}" if numbers.get("numbers") else ""
    if inside:  # the role is that of the words left once the numbers are out ("Cylinder Engine Gasoline Fuel")
        from trainyard.data.parse import remove_patterns

        text = remove_patterns(text, numbers["numbers"]).dropna()
        unique = numbers["words_unique"] = int(text.nunique())
        ratio = unique / max(len(text), 1)
    lengths = text.str.len()
    words = text.str.count(r"\s+") + 1
    if ratio >= 0.3 and unique > 20 and (float(words.mean()) >= 4 or float(lengths.mean()) >= 40):
        return Role.TEXT, f"free text ({words.mean():.0f} words on average, {ratio:.0%} distinct){inside}", numbers
    if unique == len(present) and n_rows >= 20 and not inside:
        return Role.ID, "a unique value per row", {}
    if ratio >= NEAR_UNIQUE and unique > 20:
        share = f"{unique:,} distinct in {len(text):,} values"
        if float(words.mean()) >= 2:
            return Role.TEXT, f"free text: nearly every value is distinct ({share}){inside}", numbers
        return Role.ID, f"nearly every value is distinct ({share}): an identifier, not a category", {}
    return Role.CATEGORICAL, f"{unique} distinct labels{inside}", numbers


def _numbers_inside(sample: pd.Series) -> dict[str, Any]:
    """Units that follow a number in most cells ("378.0HP 4.6L 8 Cylinder"): extracted as named features."""
    from trainyard.data.parse import find_unit_numbers  # prep imports schema: import late

    patterns, clashes = find_unit_numbers(sample)
    details: dict[str, Any] = {"numbers": patterns} if patterns else {}
    if clashes:
        details["numbers_left"] = clashes
    return details


def _tristate_mapping(values: Any) -> dict[str, int] | None:
    mapping: dict[str, int] = {}
    for value in values:
        if value is pd.NA:
            continue
        word = TRISTATE_VOCABULARY.get(normalise_word(value))
        if word is None:
            return None
        mapping[str(value)] = word
    if 1 not in mapping.values() or -1 not in mapping.values():
        return None
    return dict(sorted(mapping.items(), key=lambda kv: -kv[1]))


def _date_details(values: pd.Series) -> dict[str, Any]:
    return {"min": str(values.min())[:19], "max": str(values.max())[:19]}


# --- findings --------------------------------------------------------------------------


def _findings(df: pd.DataFrame, schema: Schema, as_of: dt.date, y: pd.Series | None) -> list[Finding]:
    findings: list[Finding] = []
    findings += _impossible_values(df, schema, as_of)
    duplicates = int(df.duplicated().sum())
    if duplicates:
        findings.append(
            Finding(
                "duplicate_rows",
                f"{duplicates} duplicated rows ({duplicates / len(df):.1%}); "
                "drop them or check how the table was built",
            )
        )
    for column in schema.columns:
        if column.role is not Role.TARGET and 0.5 < column.missing < 1:
            findings.append(Finding("mostly_missing", f"{column.name}: {column.missing:.0%} missing", column.name))
    if y is not None:
        findings += _target_findings(y, schema.task)
        findings += _leakage(df.assign(**{str(schema.target): y}), schema)
    return findings


def _impossible_values(df: pd.DataFrame, schema: Schema, as_of: dt.date) -> list[Finding]:
    findings = []
    for column in schema.columns:
        if column.role not in (Role.NUMERIC, Role.TARGET, Role.DATETIME):
            continue
        series = df[column.name]
        if column.role is Role.DATETIME and pd.api.types.is_datetime64_any_dtype(series):
            future = int((series > pd.Timestamp(as_of) + pd.Timedelta(days=1)).sum())
            if future:
                findings.append(
                    Finding("impossible_value", f"{column.name}: {future} dates after {as_of}", column.name)
                )
            continue
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        values = series.dropna()
        if _YEAR_NAME.search(column.name) and values.between(1800, 2200).mean() > 0.99:
            latest = as_of.year + 1
            bad = values[(values > latest) | (values < 1900)]
            if len(bad):
                shown = ", ".join(str(int(v)) for v in sorted(bad.unique())[:3])
                findings.append(
                    Finding(
                        "impossible_value",
                        f"{column.name}: {len(bad)} value(s) outside 1900..{latest} ({shown}); fix or drop those rows",
                        column.name,
                    )
                )
        elif _NONNEGATIVE_NAME.search(column.name) and (values < 0).any() and (values >= 0).mean() > 0.99:
            findings.append(
                Finding(
                    "impossible_value",
                    f"{column.name}: {int((values < 0).sum())} negative value(s) in a quantity that cannot be negative",
                    column.name,
                )
            )
    return findings


def _target_findings(y: pd.Series, task: str | None) -> list[Finding]:
    findings = []
    present = y.dropna()
    name = str(y.name)
    if present.nunique() <= 1:
        return [Finding("constant_target", f"{name}: the target has a single value; there is nothing to learn", name)]
    if y.isna().any():
        findings.append(
            Finding(
                "missing_target",
                f"{name}: {int(y.isna().sum())} rows have no target; they will be dropped for training",
                name,
            )
        )
    if task in ("binary", "multiclass"):
        counts = present.value_counts()
        rare = counts[counts < 10]
        if len(rare):
            shown = ", ".join(f"{k!s} ({v})" for k, v in rare.head(5).items())
            findings.append(
                Finding(
                    "rare_class",
                    f"{name}: classes with fewer than 10 rows: {shown}; "
                    "5-fold cross-validation needs at least 5 per class: merge or collect more",
                    name,
                )
            )
    elif task == "regression":
        values = present.astype("float64")
        skew = float(values.skew())
        if values.min() > 0 and skew > 1:
            findings.append(
                Finding(
                    "skewed_target",
                    f"{name}: positive and right-skewed (skew {skew:.1f}); a log transform of the target usually helps",
                    name,
                )
            )
    return findings


def _leakage(df: pd.DataFrame, schema: Schema) -> list[Finding]:
    """Flag a feature that predicts the target almost perfectly on its own."""
    data = df.sample(SAMPLE_ROWS, random_state=0) if len(df) > SAMPLE_ROWS else df
    data = data[data[schema.target].notna()]
    if len(data) < 20:
        return []
    y = data[schema.target]
    findings = []
    usable = (Role.NUMERIC, Role.CATEGORICAL, Role.TRISTATE, Role.NUMBER_IN_TEXT)
    names = [c.name for c in schema.columns if c.role in usable]
    known = _rank_correlations(data[names], y) if schema.task == "regression" else {}
    for column in schema.columns:
        if column.role not in usable:
            continue
        score = known.get(column.name)
        if score is None:
            score = _single_column_power(data[column.name], y, schema.task)
        if score >= 0.98:
            findings.append(
                Finding(
                    "leakage",
                    f"{column.name}: predicts {schema.target} almost perfectly on its own "
                    f"(score {score:.3f}); is it known before the target? If not, drop it",
                    column.name,
                )
            )
    return findings


def _rank_correlations(X: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    """|Spearman| of every complete numeric column with the target at once: what ``_single_column_power``
    gives one column at a time, which costs a millisecond a column (ten seconds on a 10,000-column table)."""
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
    if len(y) < 20 or y.isna().any() or not numeric:
        return {}
    block = X[numeric]
    complete = block.columns[block.notna().all().to_numpy() & (block.nunique() >= 2).to_numpy()]
    if not len(complete):
        return {}
    ranks = block[complete].rank().to_numpy(dtype=float, copy=True)
    ranks -= ranks.mean(axis=0)
    target = y.rank().to_numpy(dtype=float, copy=True)
    target -= target.mean()
    spread = np.sqrt((ranks**2).sum(axis=0) * (target**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.abs(target @ ranks) / spread
    return {str(c): float(v) for c, v in zip(complete, np.nan_to_num(correlation))}


def _single_column_power(x: pd.Series, y: pd.Series, task: str | None) -> float:
    """How well per-group target summaries of one column predict the target (0..1)."""
    numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    if numeric and task == "regression":
        pair = pd.concat([x, y], axis=1).dropna()
        if len(pair) < 20 or pair.iloc[:, 0].nunique() < 2:
            return 0.0
        ranks = pair.rank()  # Spearman by hand: pandas' method="spearman" imports scipy (2 s)
        return float(abs(ranks.iloc[:, 0].corr(ranks.iloc[:, 1])))
    groups = pd.qcut(x, 20, duplicates="drop") if numeric and x.nunique() > 20 else x.astype("string")
    frame = pd.DataFrame({"g": groups.astype("string").fillna("<missing>").to_numpy(), "y": y.to_numpy()})
    if frame["g"].nunique() > len(frame) / 5:  # too many groups: would memorise rows
        return 0.0
    if task == "regression":
        means = frame.groupby("g")["y"].transform("mean")
        total = float(((frame["y"] - frame["y"].mean()) ** 2).sum())
        return 0.0 if total == 0 else 1 - float(((frame["y"] - means) ** 2).sum()) / total
    majority = frame.groupby("g")["y"].agg(lambda s: s.value_counts().iloc[0]).sum() / len(frame)
    base = frame["y"].value_counts().iloc[0] / len(frame)
    return 0.0 if base >= 1 else float((majority - base) / (1 - base))
