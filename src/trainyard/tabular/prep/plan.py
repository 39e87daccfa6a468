"""The plan: every preprocessing step, the columns it touched, what it did and why.

``explain`` reads a fitted pipeline and returns plain data (``Plan``) that the
CLI renders as a table and the report renders as HTML.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sklearn.pipeline import Pipeline

from trainyard.data.schema import Schema


@dataclass
class PlanStep:
    """One line of the preprocessing plan: the step, its columns, what it does and why."""

    step: str
    columns: list[str]
    action: str
    reason: str

    def columns_shown(self, most: int = 8) -> str:
        """The first ``most`` columns, and how many more."""
        more = f" (+{len(self.columns) - most})" if len(self.columns) > most else ""
        return ", ".join(self.columns[:most]) + more


@dataclass
class Plan:
    """What preprocessing does to a table, step by step, and the features that come out."""

    recipe: str
    steps: list[PlanStep]
    n_features: int
    features: list[str]
    split: dict[str, Any] = field(default_factory=dict)
    choices: list[dict[str, Any]] = field(default_factory=list)  # what the folds decided (choices.py)

    def _repr_html_(self) -> str:
        from trainyard.notebook import plan_html

        return plan_html(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def explain(pipeline: Pipeline, schema: Schema, recipe_name: str, split: dict[str, Any] | None = None) -> Plan:
    """The plan of a built preprocessing pipeline, with each column's reason from the Schema."""
    reasons = {c.name: c.reason for c in schema.columns}
    steps: list[PlanStep] = []
    for name, step in pipeline.steps:
        steps += _describe(name, step, reasons)
    features = [str(f) for f in pipeline.get_feature_names_out()]
    return Plan(recipe=recipe_name, steps=steps, n_features=len(features), features=features, split=split or {})


def _describe(name: str, step: Any, reasons: dict[str, str]) -> list[PlanStep]:
    kind = type(step).__name__
    if kind == "MissingTokens":
        return (
            [
                PlanStep(
                    "missing tokens",
                    list(step.text_columns_),
                    "cells that only say missing (" + ", ".join(repr(t) for t in step.tokens) + ") -> missing",
                    "text columns; tri-state columns keep their 'not available' level",
                )
            ]
            if step.text_columns_
            else []
        )
    if kind == "Coalesce":
        return [
            PlanStep(
                "coalesce",
                list(cols),
                f"merged into {target!r} (first non-missing value)",
                "the same quantity spread over several columns",
            )
            for target, cols in step.groups.items()
        ]
    if kind == "ParseNumbers":
        return [
            PlanStep(
                "parse numbers",
                list(step.columns),
                "numbers parsed from text (currency, units, separators)",
                "; ".join(reasons.get(c, "") for c in step.columns),
            )
        ]
    if kind == "ExtractNumbers":
        return [
            PlanStep("extract numbers", [c], f"-> {', '.join(f'{c}_{k}' for k in p)}", "several numbers in one cell")
            for c, p in step.patterns.items()
        ]
    if kind == "DropColumns":
        return [PlanStep("drop", [c], "dropped", why) for c, why in step.dropped_.items()]
    if kind == "ColumnTransformer":
        return [
            _describe_branch(branch, transformer, list(columns), reasons)
            for branch, transformer, columns in step.transformers_
            if branch != "remainder" and len(columns)
        ]
    if kind == "CorrelationFilter":
        return [PlanStep("correlation filter", [c], "dropped", why) for c, why in step.dropped_.items()]
    described = {
        "PolynomialFeatures": ("interactions", "degree-2 products of features", "optional interactions"),
        "PCA": ("PCA", f"{getattr(step, 'n_components_', '?')} components", "dimensionality reduction"),
        "KernelPCA": ("kernel PCA", "rbf kernel components", "non-linear dimensionality reduction"),
        "SelectKBest": ("select", "k best by univariate test", "feature selection"),
        "SelectFromModel": ("select", "L1-based selection", "feature selection"),
    }
    if kind in described:
        label, action, why = described[kind]
        return [PlanStep(label, [], action, why)]
    return [PlanStep(name, [], kind, "")]


def _describe_branch(branch: str, transformer: Any, columns: list[str], reasons: dict[str, str]) -> PlanStep:
    parts = (
        [type(s).__name__ for _, s in transformer.steps]
        if isinstance(transformer, Pipeline)
        else ["passthrough" if transformer == "passthrough" else type(transformer).__name__]
    )
    words = {
        "SimpleImputer": "impute median",
        "StandardScaler": "standard-scale",
        "RobustScaler": "robust-scale",
        "MinMaxScaler": "min-max scale",
        "OneHotEncoder": "one-hot (rare levels grouped, unknown levels tolerated)",
        "OrdinalEncoder": "ordinal codes",
        "TargetEncoder": "target encoding (cross-fitted)",
        "TriStateEncoder": "ON / OFF / NotAvailable -> 1 / -1 / 0",
        "AsCategory": "categories, split on by the model",
        "TextTfidf": "TF-IDF terms",
        "TextWords": "word themes (TF-IDF of words, SVD)",
        "DateParts": "year, month, day of week, months since 2000 (and the hour, where the values hold times)",
        "AgeFromYear": "age from the year",
        "ExpFeatures": "add exp(-x / median)",
        "LogFeatures": "add log(1 + x)",
        "passthrough": "as is",
        "FunctionTransformer": "as is",
    }
    steps = transformer.steps if isinstance(transformer, Pipeline) else [("", transformer)]
    for _, part in steps:
        if type(part).__name__ == "OneHotEncoder" and not part.min_frequency:
            words["OneHotEncoder"] = "one-hot (unknown levels tolerated)"
        elif type(part).__name__ == "OneHotEncoder":
            rare = f"{part.min_frequency} rows" if part.min_frequency >= 1 else f"{part.min_frequency:.0%}"
            words["OneHotEncoder"] = f"one-hot (levels under {rare} grouped, unknown levels tolerated)"
    action = " -> ".join(words.get(p, p) for p in parts)
    reason = "; ".join(dict.fromkeys(reasons.get(c, "") for c in columns if reasons.get(c)))
    return PlanStep(branch, columns, action, reason[:200])
