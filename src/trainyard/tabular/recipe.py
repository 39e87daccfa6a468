"""Recipes: which cleaning, encoding, features and split a table gets, as data.

A recipe is a TOML file or a Python dict with the sections ``[clean]``,
``[encode]``, ``[features]``, ``[target]`` and ``[split]``, plus optional
per-column overrides in ``[columns.<name>]``. Three ship with trainyard:
``auto``, ``notes-basic`` and ``notes-winning`` (see ``src/trainyard/tabular/recipes``).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from trainyard.data.values import MISSING_TOKENS
from trainyard.errors import SchemaError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CATEGORICAL_ENCODERS = ("onehot", "ordinal", "target", "native", "drop")
COLUMN_ENCODERS = CATEGORICAL_ENCODERS + ("tristate", "tfidf", "words", "parts", "numeric")
TEXT_ENCODERS = ("drop", "tfidf", "words", "auto")  # auto: the trainer keeps word features where the folds say so
SCALERS = ("auto", "standard", "robust", "minmax", "none")
SPLITS = ("random", "stratified", "group")
REDUCERS = ("none", "pca", "kernel_pca")
SELECTORS = ("none", "kbest", "l1")
SHIPPED = ("auto", "notes-basic", "notes-winning")


@dataclass
class Clean:
    """The recipe's [clean] table: missing tokens, merged columns, numbers in text, drops, imputation."""

    missing_tokens: list[str] = field(default_factory=lambda: list(MISSING_TOKENS))
    coalesce: dict[str, list[str]] | str = "auto"  # "auto": pairs like mileage / mileage2
    decimal_comma: bool = False
    # column -> {name: pattern}, or "auto": the units the profile found after numbers in most cells
    extract: dict[str, dict[str, str]] | str = field(default_factory=dict)
    drop_roles: list[str] = field(default_factory=lambda: ["id", "constant", "text"])
    drop_columns: list[str] = field(default_factory=list)
    max_missing: float | None = 0.5  # None: never drop for missing values
    # the same for models that take missing values themselves (boosters): for them a mostly-missing
    # column still says something; "same" applies max_missing to every model
    max_missing_native: float | str | None = "same"
    impute: str | bool = "auto"  # "auto": when the model cannot take missing values


@dataclass
class Encode:
    """The recipe's [encode] table: how categories, tri-states, text and dates become numbers, and scaling."""

    categorical: str = "onehot"
    high_cardinality: int = 30  # above this many levels, auto uses target encoding
    # models that split on categories natively get them only where levels average this many rows;
    # below it (a 1,900-level column in 4,000 rows) they get cross-fitted target encoding
    native_min_rows: float = 20
    rare_share: float = 10  # one-hot groups levels rarer than this: a share (< 1) or a row count (>= 1)
    tristate: str = "tristate"
    text: str = "drop"
    datetime: str = "parts"
    scale: str = "auto"  # "auto": only for models that need scaled inputs


@dataclass
class Features:
    """The recipe's [features] table: ages, exp and log features, correlation filter, interactions, reduction,
    selection."""

    age_from_year: list[str] = field(default_factory=list)
    as_of: str | None = None  # reference date for ages (default: the current month)
    exp: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    interactions: bool = False
    correlation_threshold: float | None = None
    reduce: str = "none"
    n_components: float = 0.95
    select: str = "none"
    k: int = 20


@dataclass
class Target:
    """The recipe's [target] table: the target as it is, or its log."""

    transform: str = "auto"  # "auto": log for a positive target when the metric is relative (rmsle, mape)


@dataclass
class SplitSpec:
    """The recipe's [split] table: how the test and fresh rows are held out."""

    kind: str = "auto"  # auto: stratified by the target for classification, else random
    stratify: str | None = None
    group: str | None = None
    test_size: float = 0.2
    fresh_months: int = 1  # 0: no fresh holdout
    date_column: str | None = "auto"  # "auto": the Schema's (first) datetime column
    folds: int = 5


@dataclass
class Recipe:
    """Every preprocessing and split choice, from a shipped name, a TOML file or a dict."""

    name: str = "custom"
    description: str = ""
    clean: Clean = field(default_factory=Clean)
    encode: Encode = field(default_factory=Encode)
    features: Features = field(default_factory=Features)
    target: Target = field(default_factory=Target)
    split: SplitSpec = field(default_factory=SplitSpec)
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        sections = {"clean": Clean, "encode": Encode, "features": Features, "target": Target, "split": SplitSpec}
        _check_keys(data, {"name", "description", "columns", *sections}, "recipe")
        kwargs: dict[str, Any] = {k: data[k] for k in ("name", "description", "columns") if k in data}
        for key, section in sections.items():
            values = data.get(key, {})
            _check_keys(values, {f.name for f in fields(section)}, f"recipe [{key}]")
            kwargs[key] = section(**values)
        recipe = cls(**kwargs)
        recipe.validate()
        return recipe

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> None:
        _check_choice(self.encode.categorical, CATEGORICAL_ENCODERS + ("auto",), "[encode] categorical")
        _check_choice(self.encode.scale, SCALERS, "[encode] scale")
        _check_choice(self.encode.text, TEXT_ENCODERS, "[encode] text")
        _check_choice(self.split.kind, SPLITS + ("auto",), "[split] kind")
        _check_choice(self.features.reduce, REDUCERS, "[features] reduce")
        _check_choice(self.features.select, SELECTORS, "[features] select")
        _check_choice(self.target.transform, ("auto", "log", "none"), "[target] transform")
        for column, override in self.columns.items():
            _check_keys(override, {"encoder"}, f"recipe [columns.{column}]")
            _check_choice(override.get("encoder", "onehot"), COLUMN_ENCODERS, f"[columns.{column}] encoder")
        if isinstance(self.clean.extract, str) and self.clean.extract != "auto":
            raise SchemaError(
                f'recipe [clean] extract must be a table of patterns or "auto", got {self.clean.extract!r}'
            )
        if isinstance(self.clean.coalesce, str) and self.clean.coalesce != "auto":
            raise SchemaError(
                f'recipe [clean] coalesce must be a table of column groups or "auto", got {self.clean.coalesce!r}'
            )
        for key in ("max_missing", "max_missing_native"):
            value = getattr(self.clean, key)
            if value is not None and value != "same" and not (isinstance(value, (int, float)) and 0 <= value <= 1):
                raise SchemaError(f"recipe [clean] {key} must be between 0 and 1, got {value!r}")
        if not 0 < self.split.test_size < 1:
            raise SchemaError(f"recipe [split] test_size must be between 0 and 1, got {self.split.test_size}")


def load_recipe(recipe: str | Path | dict[str, Any] | Recipe | None = "auto") -> Recipe:
    """A recipe by shipped name, TOML path, dict, or ``Recipe`` (``None`` means ``auto``)."""
    if recipe is None:
        recipe = "auto"
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, dict):
        return Recipe.from_dict(recipe)
    text = str(recipe)
    if text in SHIPPED:
        source = resources.files("trainyard.tabular").joinpath("recipes", f"{text}.toml").read_text()
        return Recipe.from_dict(tomllib.loads(source))
    path = Path(text)
    if not path.exists():
        raise SchemaError(f"recipe {text!r} is neither a shipped recipe ({', '.join(SHIPPED)}) nor a file")
    try:
        return Recipe.from_dict(tomllib.loads(path.read_text()))
    except tomllib.TOMLDecodeError as err:
        raise SchemaError(f"{path}: not valid TOML ({err})") from err


def _check_keys(values: Any, allowed: set[str], where: str) -> None:
    if not isinstance(values, dict):
        raise SchemaError(f"{where} must be a table, got {values!r}")
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise SchemaError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _check_choice(value: Any, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise SchemaError(f"recipe {where}: {value!r} is not one of {', '.join(allowed)}")
