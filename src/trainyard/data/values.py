"""What a cell's value means, the one home of each rule: missing-value tokens, text columns, tri-state words.

The profiler (``data/schema.py``), the cleaning steps (``tabular/prep``), the row check at predict time
(``tabular/runs``) and the tri-state encoder all read these, so they never disagree.
"""

from __future__ import annotations

import re

import pandas as pd

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
