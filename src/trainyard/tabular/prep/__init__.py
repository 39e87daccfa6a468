"""Preprocessors: numbers hidden in text, cleaning, encoders, features, recipes and the plan."""

from trainyard.prep.build import ModelNeeds, build, column_layout
from trainyard.prep.clean import Coalesce, DropColumns, ExtractNumbers, MissingTokens, ParseNumbers
from trainyard.prep.encoders import AsCategory, TextTfidf, TriStateEncoder
from trainyard.prep.features import AgeFromYear, CorrelationFilter, DateParts, ExpFeatures, LogFeatures
from trainyard.prep.parse import extract_named, parse_numbers
from trainyard.prep.plan import Plan, PlanStep, explain
from trainyard.prep.prepare import Prepared, prepare
from trainyard.prep.recipe import Recipe, load_recipe
from trainyard.prep.target import log_target, prepare_target

__all__ = [
    "build", "ModelNeeds", "column_layout", "prepare", "Prepared", "Recipe", "load_recipe", "Plan", "PlanStep",
    "explain", "MissingTokens", "Coalesce", "ParseNumbers", "ExtractNumbers", "DropColumns", "TriStateEncoder",
    "TextTfidf", "AsCategory", "AgeFromYear", "ExpFeatures", "LogFeatures", "DateParts", "CorrelationFilter", "parse_numbers",
    "extract_named", "log_target", "prepare_target",
]
