"""``build(schema, recipe, needs)``: the preprocessing pipeline for one model.

The result is a scikit-learn ``Pipeline``: cleaning steps that change which
columns exist (missing tokens, coalescing, numbers in text, drops), then one
``ColumnTransformer`` that encodes each column by its role, then optional steps
over all features (correlation filter, interactions, PCA, selection). DESIGN.md
draws a single ColumnTransformer; cross-column steps cannot live inside one, so
the ColumnTransformer is the middle step of this Pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, KernelPCA
from sklearn.feature_selection import SelectFromModel, SelectKBest, f_classif, f_regression
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from trainyard.data.schema import Role, Schema
from trainyard.errors import SchemaError
from trainyard.tabular.prep.clean import (
    Coalesce,
    DropColumns,
    ExtractNumbers,
    MissingTokens,
    ParseNumbers,
    coalesce_candidates,
)
from trainyard.tabular.prep.encoders import AsCategory, TextTfidf, TextWords, TriStateEncoder
from trainyard.tabular.prep.features import AgeFromYear, CorrelationFilter, DateParts, ExpFeatures, LogFeatures
from trainyard.tabular.recipe import Recipe, load_recipe
from trainyard.tabular.saved import saved

SCALER_CLASSES = {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler}


@dataclass(frozen=True)
class ModelNeeds:
    """What a model asks of its inputs (from the model catalog)."""

    scaled: bool = False
    imputed: bool = True  # True: the model cannot take missing values
    native_categorical: bool = False  # the model splits on pandas categories itself
    one_hot: bool = False  # one-hot every categorical, however many levels (the MLP learns one weight each)
    max_levels: int | None = None  # native categories only up to this many levels (HistGradientBoosting: 255)


@saved
class Present:
    """A column selector for the ColumnTransformer: the named columns that survived cleaning."""

    def __init__(self, columns: list[str]):
        self.columns = list(columns)

    def __call__(self, X) -> list[str]:
        return [c for c in self.columns if c in X.columns]

    def __repr__(self) -> str:
        return f"Present({self.columns})"


def build(
    schema: Schema, recipe: str | dict | Recipe | None = "auto", *, needs: ModelNeeds = ModelNeeds(), seed: int = 0
) -> Pipeline:
    """The preprocessing Pipeline for one model, from the Schema and a recipe."""
    recipe = load_recipe(recipe)
    layout = column_layout(schema, recipe)
    steps = _cleaning_steps(schema, recipe, layout, needs)
    steps.append(("encode", _encoder(recipe, layout, needs, schema.task, seed)))
    steps += _feature_steps(schema, recipe, seed)
    pipeline = Pipeline(steps)
    pipeline.set_output(transform="pandas")
    return pipeline


@dataclass
class Layout:
    """The columns after cleaning, by role, and what cleaning does to get there."""

    roles: dict[str, Role]
    coalesce: dict[str, list[str]]
    parse: list[str]
    extract: dict[str, dict[str, str]]
    keep: tuple[str, ...]  # extracted columns that stay, holding the words left after the numbers
    drop: dict[str, str]
    unique: dict[str, int]
    n_rows: int = 0
    order: dict[str, list[str]] = field(default_factory=dict)  # ordered categories: their levels, least first


def column_layout(schema: Schema, recipe: Recipe) -> Layout:
    """Work out, from the Schema alone, which column ends up in which role."""
    roles: dict[str, Role] = {c.name: c.role for c in schema.columns if c.role is not Role.TARGET}
    known = set(roles)
    coalesce = recipe.clean.coalesce
    groups = coalesce_candidates(list(roles)) if isinstance(coalesce, str) else dict(coalesce)
    for name, members in groups.items():
        _check_known(members, known, f"[clean] coalesce {name!r}")
        numeric = all(roles[m] in (Role.NUMERIC, Role.NUMBER_IN_TEXT) for m in members)
        useful = [roles[m] for m in members if roles[m] not in (Role.CONSTANT, Role.ID)]
        merged_role = Role.NUMERIC if numeric else (useful[0] if useful else roles[members[0]])
        for member in members:
            roles.pop(member)
        roles[name] = merged_role
    parse = [c for c, r in roles.items() if r is Role.NUMBER_IN_TEXT]
    for column in parse:
        roles[column] = Role.NUMERIC
    extract, keep = _extractions(schema, recipe, roles, known)
    for column, patterns in extract.items():
        if column not in keep:
            roles.pop(column, None)
        roles.update({f"{column}_{k}": Role.NUMERIC for k in patterns})
    drop = _fixed_drops(schema, recipe, roles, known)
    unique = {c.name: c.details.get("words_unique", c.unique) if c.name in keep else c.unique for c in schema.columns}
    for name, members in groups.items():
        unique[name] = max(unique[m] for m in members)
    return Layout(
        roles=roles,
        coalesce=groups,
        parse=parse,
        extract=extract,
        keep=keep,
        drop=drop,
        unique=unique,
        n_rows=schema.n_rows,
        order={c.name: c.details["order"] for c in schema.columns if c.details.get("order") and c.name in roles},
    )


def _extractions(
    schema: Schema, recipe: Recipe, roles: dict[str, Role], known: set[str]
) -> tuple[dict[str, dict[str, str]], tuple[str, ...]]:
    """Named numbers to pull out of text: the recipe's patterns (which replace the column), or on "auto"
    the units the profile found in most cells (the column stays, holding the words that remain)."""
    extract = recipe.clean.extract
    if not isinstance(extract, str):  # anything but "auto" (the recipe refuses other strings)
        _check_known(list(extract), known, "[clean] extract")
        return dict(extract), ()
    found = {
        c.name: c.details["numbers"]
        for c in schema.columns
        if c.details.get("numbers") and roles.get(c.name) in (Role.CATEGORICAL, Role.TEXT)
    }
    return found, tuple(found)


def _fixed_drops(schema: Schema, recipe: Recipe, roles: dict[str, Role], known: set[str]) -> dict[str, str]:
    reasons = {c.name: c.reason for c in schema.columns}
    drop: dict[str, str] = {}
    drop_roles = {Role(r) for r in recipe.clean.drop_roles}
    chosen = {c for c, o in recipe.columns.items() if o.get("encoder", "drop") != "drop"}  # the user's word wins
    for column, role in roles.items():
        if column in chosen:
            continue
        if role is Role.TEXT and role in drop_roles:
            drop[column] = f"free text without a clear pattern ({reasons.get(column, 'text')})"
        elif role in drop_roles:
            drop[column] = f"{role.value}: {reasons.get(column, 'merged column')}"
    _check_known(recipe.clean.drop_columns, known | set(roles), "[clean] drop_columns")
    for column in recipe.clean.drop_columns:
        drop.setdefault(column, "named in the recipe")
    _check_known(list(recipe.columns), known | set(roles), "[columns]")
    for column, override in recipe.columns.items():
        if override.get("encoder") == "drop":
            drop.setdefault(column, "the recipe says drop")
    for column, role in roles.items():
        if column in chosen:
            continue
        if role is Role.TEXT and recipe.encode.text == "drop" and column not in drop:
            drop[column] = "free text without a clear pattern"
        if role is Role.TEXT and recipe.encode.text == "auto" and column not in drop:
            drop[column] = "free text: kept as word features only where the folds say they help (train decides)"
        if role is Role.DATETIME and recipe.encode.datetime == "drop" and column not in drop:
            drop[column] = "a date (the recipe drops dates)"
    return {c: r for c, r in drop.items() if c in roles}


def _check_known(columns: list[str], known: set[str], where: str) -> None:
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise SchemaError(
            f"recipe {where}: unknown column(s) {', '.join(map(repr, unknown))}; columns: {', '.join(sorted(known))}"
        )


def _cleaning_steps(schema: Schema, recipe: Recipe, layout: Layout, needs: ModelNeeds) -> list[tuple[str, object]]:
    tristate = tuple(schema.by_role(Role.TRISTATE))
    steps: list[tuple[str, object]] = [
        ("tokens", MissingTokens(tokens=tuple(recipe.clean.missing_tokens), keep=tristate))
    ]
    if layout.coalesce:
        steps.append(("coalesce", Coalesce(groups=layout.coalesce)))
    if layout.extract:
        steps.append(("extract", ExtractNumbers(patterns=layout.extract, keep=layout.keep)))
    if layout.parse:
        steps.append(("parse", ParseNumbers(columns=tuple(layout.parse), decimal_comma=recipe.clean.decimal_comma)))
    native = recipe.clean.max_missing_native
    max_missing = native if not needs.imputed and not isinstance(native, str) else recipe.clean.max_missing
    steps.append(("drop", DropColumns(columns=layout.drop, max_missing=max_missing)))
    return steps


def _encoder(recipe: Recipe, layout: Layout, needs: ModelNeeds, task: str | None, seed: int) -> ColumnTransformer:
    kept = {c: r for c, r in layout.roles.items() if c not in layout.drop}
    scaler = _scaler(recipe, needs)
    # interactions, PCA and selection see every feature and take no missing values, whatever the model
    whole_table = recipe.features.interactions or recipe.features.reduce != "none" or recipe.features.select != "none"
    impute = recipe.clean.impute is True or (recipe.clean.impute == "auto" and (needs.imputed or whole_table))
    branches: list[tuple[str, object, Present]] = []
    numeric = [
        c for c, r in kept.items() if r is Role.NUMERIC and _encoder_name(recipe, c, r, layout, needs) == "numeric"
    ]
    branches += _numeric_branches(recipe, numeric, scaler, impute, kept)
    by_encoder: dict[str, list[str]] = {}
    plain = set(numeric)
    for column, role in kept.items():
        if role is Role.NUMERIC and column in plain:
            continue
        by_encoder.setdefault(_encoder_name(recipe, column, role, layout, needs), []).append(column)
    for column in by_encoder.pop("ordered", []):  # each with its own order
        branches.append((f"ordered_{column}", _ordered(layout.order[column], scaler, impute), Present([column])))
    for name, columns in by_encoder.items():
        branches.append((name, _categorical_pipeline(name, recipe, scaler, impute, task, seed), Present(columns)))
    return ColumnTransformer(branches, remainder="drop", verbose_feature_names_out=False)


def _encoder_name(recipe: Recipe, column: str, role: Role, layout: Layout, needs: ModelNeeds) -> str:
    override = recipe.columns.get(column, {}).get("encoder")
    if override:
        return override
    if role is Role.NUMERIC:
        return "numeric"
    if role is Role.TRISTATE:
        return recipe.encode.tristate
    if role is Role.TEXT:
        return recipe.encode.text if recipe.encode.text in ("tfidf", "words") else "tfidf"
    if role is Role.DATETIME:
        return "parts"
    if recipe.encode.categorical == "auto":
        if column in layout.order:
            return "ordered"
        if (
            needs.native_categorical
            and _rows_per_level(layout, column) >= recipe.encode.native_min_rows
            and layout.unique.get(column, 0) < (needs.max_levels or float("inf"))
        ):
            return "native"
        if needs.one_hot:
            return "onehot"
        return "target" if layout.unique.get(column, 0) > recipe.encode.high_cardinality else "onehot"
    return recipe.encode.categorical


def _ordered(order: list[str], scaler, impute: bool) -> Pipeline:
    """An ordered category as its rank (0 for the least level); a level outside the order is missing."""
    rank = OrdinalEncoder(
        categories=[order], handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
    )
    head = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))] if impute else []
    tail = [("scale", scaler)] if scaler is not None else []
    return Pipeline([("rank", rank), *head, *tail])


def _rows_per_level(layout: Layout, column: str) -> float:
    """Rows per level on average: with a few rows a level, a model's own category splits overfit."""
    return layout.n_rows / max(layout.unique.get(column, 1), 1) if layout.n_rows else float("inf")


def _numeric_branches(
    recipe: Recipe, numeric: list[str], scaler, impute: bool, kept: dict[str, Role]
) -> list[tuple[str, object, Present]]:
    features = recipe.features
    engineered = {*features.age_from_year, *features.exp, *features.log}
    for column in sorted(engineered):
        if column not in kept:
            raise SchemaError(
                f"recipe [features]: column {column!r} is not a kept column; kept: {', '.join(sorted(kept))}"
            )
        if kept[column] is not Role.NUMERIC:
            raise SchemaError(
                f"recipe [features]: {column!r} is {kept[column].value}, but exp, log and age apply to numeric columns"
            )
        if column in features.exp and column in features.log:
            raise SchemaError(f"recipe [features]: choose exp or log for {column!r}, not both")
    branches = []
    plain = [c for c in numeric if c not in engineered]
    branches.append(("numeric", _numeric_pipeline([], scaler, impute), Present(plain)))
    for column in sorted(engineered):
        steps = []
        if column in features.age_from_year:
            steps.append(("age", AgeFromYear(as_of=features.as_of)))
        if column in features.exp:
            steps.append(("exp", ExpFeatures()))
        if column in features.log:
            steps.append(("log", LogFeatures()))
        branches.append((f"features_{column}", _numeric_pipeline(steps, scaler, impute), Present([column])))
    return branches


def _numeric_pipeline(steps: list, scaler, impute: bool):
    head = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))] if impute else []
    tail = [("scale", scaler)] if scaler is not None else []
    all_steps = head + steps + tail
    return Pipeline(all_steps) if all_steps else "passthrough"


def _categorical_pipeline(name: str, recipe: Recipe, scaler, impute: bool, task: str | None, seed: int):
    if name == "onehot":
        share = recipe.encode.rare_share
        # A share (< 1) or a row count (>= 1): levels rarer than this are grouped.
        rare = None if not share else (int(share) if share >= 1 else share)
        return OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=rare, sparse_output=False)
    if name == "ordinal":
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1)
    if name == "target":
        # Cross-fitted: each training row is encoded by a model of the other folds.
        target_type = {"regression": "continuous", "binary": "binary", "multiclass": "multiclass"}.get(
            task or "", "auto"
        )
        folds = (
            KFold(5, shuffle=True, random_state=seed)
            if target_type == "continuous"
            else StratifiedKFold(5, shuffle=True, random_state=seed)
        )
        encoder = TargetEncoder(target_type=target_type, cv=folds)
        return Pipeline([("target", encoder), ("scale", scaler)]) if scaler is not None else encoder
    if name == "native":
        return AsCategory()
    if name == "tristate":
        return TriStateEncoder()
    if name == "tfidf":
        return TextTfidf()
    if name == "words":
        return TextWords(seed=seed)
    if name == "parts":
        steps = [("parts", DateParts())]
        steps += [("impute", SimpleImputer(strategy="median", keep_empty_features=True))] if impute else []
        steps += [("scale", scaler)] if scaler is not None else []
        return Pipeline(steps)
    raise SchemaError(f"encoder {name!r} does not apply here")


def _scaler(recipe: Recipe, needs: ModelNeeds):
    method = recipe.encode.scale
    if method == "auto":
        method = "standard" if needs.scaled else "none"
    return SCALER_CLASSES[method]() if method != "none" else None


def _feature_steps(schema: Schema, recipe: Recipe, seed: int) -> list[tuple[str, object]]:
    features = recipe.features
    steps: list[tuple[str, object]] = []
    if features.correlation_threshold is not None:
        steps.append(("correlation", CorrelationFilter(threshold=features.correlation_threshold)))
    if features.interactions:
        steps.append(("interactions", PolynomialFeatures(degree=2, interaction_only=True, include_bias=False)))
    if features.reduce == "pca":
        steps.append(("reduce", PCA(n_components=features.n_components, random_state=seed)))
    elif features.reduce == "kernel_pca":
        components = int(features.n_components) if features.n_components >= 1 else 20
        steps.append(("reduce", KernelPCA(n_components=components, kernel="rbf", random_state=seed)))
    classification = schema.task in ("binary", "multiclass")
    if features.select == "kbest":
        steps.append(("select", SelectKBest(f_classif if classification else f_regression, k=features.k)))
    elif features.select == "l1":
        if not classification:
            model = Lasso(alpha=0.01, random_state=seed)
        elif schema.task == "binary":
            model = LogisticRegression(penalty="l1", solver="liblinear", C=1.0, random_state=seed)
        else:  # liblinear's logistic regression refuses three or more classes; this L1 model is one-vs-rest
            from sklearn.svm import LinearSVC

            model = LinearSVC(penalty="l1", dual=False, C=1.0, random_state=seed)
        steps.append(("select", SelectFromModel(model)))
    return steps
