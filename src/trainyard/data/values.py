"""What a cell's value means, the one home of each rule: missing-value tokens, text columns, tri-state words.

The profiler (``data/schema.py``), the cleaning steps (``tabular/prep``), the row check at predict time
(``tabular/runs``) and the tri-state encoder all read these, so they never disagree.
"""

from __future__ import annotations

import re

import pandas as pd


def is_missing(value) -> bool:
    """None, pd.NA, NaT or NaN: ``pd.isna`` for one value, the per-value test of the few-rows paths."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


# Cells that mean "missing" when they are all a string cell holds, as a user writes them (a recipe's default).
MISSING_TOKENS = ("", "NA", "N/A", "null", "nan", "-", "?")
MISSING_LOWER = frozenset(token.lower() for token in MISSING_TOKENS)

# Tri-state vocabularies, normalised by ``normalise_word``: 1 (on), -1 (off), 0 (not available).
TRISTATE_POSITIVE = frozenset({"on", "yes", "y", "true", "up", "thumbsup", "enabled", "👍"})
TRISTATE_NEGATIVE = frozenset({"off", "no", "n", "false", "down", "thumbsdown", "disabled", "👎"})
TRISTATE_NEUTRAL = frozenset({"notavailable", "unavailable", "unknown", "notapplicable", "neutral", "na", "n/a"})
TRISTATE_VOCABULARY = {
    **{w: 1 for w in TRISTATE_POSITIVE},
    **{w: -1 for w in TRISTATE_NEGATIVE},
    **{w: 0 for w in TRISTATE_NEUTRAL},
}
_SEPARATORS = re.compile(r"[\s_\-]")


def normalise_word(value: object) -> str:
    """Lower case, without spaces, hyphens or underscores: "Not Available" and "not_available" are one word."""
    return _SEPARATORS.sub("", str(value)).lower()


def is_text_dtype(dtype: object) -> bool:
    """Strings, objects and categories: the columns whose cells may spell out a missing value."""
    return (
        pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def is_text(series: pd.Series) -> bool:
    """Whether a column holds text (object, string or category dtype)."""
    return is_text_dtype(series.dtype)


# Ordered vocabularies, each from least to most, normalised by ``normalise_word``. A column whose levels all lie
# on one of them is an ordered category: its encoding keeps the order instead of treating the levels as unrelated.
ORDERED_SCALES = (
    ("verylow", "low", "mid", "medium", "moderate", "high", "veryhigh"),
    ("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl"),
    ("extrasmall", "small", "medium", "large", "extralarge"),
    ("none", "minimal", "mild", "moderate", "severe", "critical"),
    ("verypoor", "poor", "fair", "average", "good", "verygood", "excellent"),
    ("never", "rarely", "sometimes", "often", "always"),
    ("stronglydisagree", "disagree", "neutral", "agree", "stronglyagree"),
    ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"),
)
# "1st", "2nd", "3rd", "4th"; "Q1".."Q4", "H1", "P2" (one prefix shared by every level, then a number)
_ORDINAL_NUMBER = re.compile(r"^(\d+)\s*(?:st|nd|rd|th)$", re.IGNORECASE)
_PREFIXED_NUMBER = re.compile(r"^([a-z]{1,3})\s?-?(\d+)$", re.IGNORECASE)
ORDER_MIN_SHARE = 0.01


def ordered_levels(values: pd.Series) -> list[str] | None:
    """The levels from least to most when they are ordinals ("1st".."3rd", "Q1".."Q4", "low".."high"), else None.

    Three distinct levels at least (two have no order worth keeping). A stray level held by under 1% of the
    values ("*" in a passenger class) does not spoil the order: it is encoded as unknown.
    """
    counts = values.dropna().astype(str).str.strip().value_counts()
    levels = sorted(counts[counts >= ORDER_MIN_SHARE * counts.sum()].index)
    if len(levels) < 3:
        return None
    numbered = [_ORDINAL_NUMBER.match(v) for v in levels]
    if all(numbered):
        return sorted(levels, key=lambda v: int(_ORDINAL_NUMBER.match(v).group(1)))  # type: ignore[union-attr]
    prefixed = [_PREFIXED_NUMBER.match(v) for v in levels]
    if all(prefixed) and len({m.group(1).lower() for m in prefixed if m}) == 1:
        return sorted(levels, key=lambda v: int(_PREFIXED_NUMBER.match(v).group(2)))  # type: ignore[union-attr]
    words = {v: normalise_word(v) for v in levels}
    if len(set(words.values())) < len(levels):
        return None  # "Low" and "low": one level written two ways is a matter for cleaning, not for order
    for scale in ORDERED_SCALES:
        if all(w in scale for w in words.values()):
            return sorted(levels, key=lambda v: scale.index(words[v]))
    return None
