"""Preprocessors: numbers hidden in text, cleaning, encoders, features, recipes and the plan."""

from trainyard.data.parse import extract_named, parse_numbers
from trainyard.tabular.prep.build import ModelNeeds, build, column_layout
from trainyard.tabular.prep.clean import Coalesce, DropColumns, ExtractNumbers, MissingTokens, ParseNumbers
from trainyard.tabular.prep.encoders import AsCategory, TextTfidf, TriStateEncoder
from trainyard.tabular.prep.features import AgeFromYear, CorrelationFilter, DateParts, ExpFeatures, LogFeatures
from trainyard.tabular.prep.plan import Plan, PlanStep, explain
from trainyard.tabular.prep.prepare import Prepared, prepare
from trainyard.tabular.prep.target import log_target, prepare_target
from trainyard.tabular.recipe import Recipe, load_recipe

__all__ = [
    "build",
    "ModelNeeds",
    "column_layout",
    "prepare",
    "Prepared",
    "Recipe",
    "load_recipe",
    "Plan",
    "PlanStep",
    "explain",
    "MissingTokens",
    "Coalesce",
    "ParseNumbers",
    "ExtractNumbers",
    "DropColumns",
    "TriStateEncoder",
    "TextTfidf",
    "AsCategory",
    "AgeFromYear",
    "ExpFeatures",
    "LogFeatures",
    "DateParts",
    "CorrelationFilter",
    "parse_numbers",
    "extract_named",
    "log_target",
    "prepare_target",
]
