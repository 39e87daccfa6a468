"""Numbers hidden in text: " £8,000" -> 8000.0, "51,000 mi." -> 51000.0, "300.0HP" -> 300.0.

The parsers are vectorised over a pandas Series (one regular expression pass),
so they are as fast on a million rows as ``pd.to_numeric``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

CURRENCIES = r"£|\$|€|¥|₹|GBP|USD|EUR|CHF"
# Units we strip after a number. A closed list on purpose: an open "any word"
# would turn " 3 Series" (a BMW model) into the number 3.
UNITS = (
    r"mi\.?|miles?|km|kms|kilometres?|kilometers?|mph|kph|km/h|bhp|hp|ps|kw|cc|l|ltrs?|litres?|liters?|"
    r"kg|g|lbs?|mpg|%|in|cm|mm|m|sec|s|min|h|hrs?|years?|yrs?|months?|days?"
)


def _number_pattern(decimal_comma: bool) -> re.Pattern[str]:
    if decimal_comma:  # 1.234,5 or 1 234,5 or 1234,5
        body = r"\d{1,3}(?:[. \u00a0]\d{3})+(?:,\d+)?|\d+(?:,\d+)?|,\d+"
    else:  # 1,234.5 or 1234.5
        body = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
    return re.compile(
        rf"^\s*(?P<sign>[-+−])?\s*(?:{CURRENCIES})?\s*(?P<sign2>[-+−])?\s*(?P<num>{body})"
        rf"\s*(?:[eE](?P<exp>[-+]?\d+))?\s*(?:{UNITS})?\s*$",
        re.IGNORECASE,
    )


_PATTERNS = {False: _number_pattern(False), True: _number_pattern(True)}


def parse_numbers(values: pd.Series, *, decimal_comma: bool = False) -> pd.Series:
    """Parse each cell as one number with optional currency, sign, separators and unit.

    Cells that are missing or do not hold exactly one number become NaN.
    Numeric input is returned as float unchanged.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = values.astype("string")
    parts = text.str.extract(_PATTERNS[decimal_comma])
    number = parts["num"].astype("string")
    if decimal_comma:
        number = number.str.replace(r"[. \u00a0]", "", regex=True).str.replace(",", ".", regex=False)
    else:
        number = number.str.replace(",", "", regex=False)
    result = pd.to_numeric(number, errors="coerce").astype("float64")
    exponent = pd.to_numeric(parts["exp"], errors="coerce").fillna(0).to_numpy(dtype="float64")
    result = result * np.power(10.0, exponent)
    negative = parts["sign"].isin(["-", "−"]) ^ parts["sign2"].isin(["-", "−"])
    result = result.where(~negative.fillna(False).to_numpy(dtype=bool), -result)
    result.index = values.index
    result.name = values.name
    return result


def parse_share(values: pd.Series, *, decimal_comma: bool = False) -> float:
    """The share of non-missing cells that parse as one number."""
    present = values.dropna()
    if present.empty:
        return 0.0
    return float(parse_numbers(present, decimal_comma=decimal_comma).notna().mean())


def extract_named(values: pd.Series, patterns: dict[str, str]) -> pd.DataFrame:
    """Named extraction where one cell holds several numbers.

    ``extract_named(s, {"hp": r"([\\d.]+)\\s*HP", "litres": r"([\\d.]+)\\s*L\\b"})``
    turns "300.0HP 3.7L V6" into hp=300.0, litres=3.7. Each pattern has one group.
    """
    text = values.astype("string")
    out = {}
    for name, pattern in patterns.items():
        compiled = re.compile(pattern, re.IGNORECASE)
        if compiled.groups != 1:
            raise ValueError(f"pattern for {name!r} must have exactly one group, has {compiled.groups}")
        out[name] = parse_numbers(text.str.extract(compiled, expand=False))
    return pd.DataFrame(out, index=values.index)
