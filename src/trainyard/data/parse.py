"""Numbers hidden in text: " £8,000" -> 8000.0, "51,000 mi." -> 51000.0, "300.0HP" -> 300.0.

The parsers are vectorised over a pandas Series (one regular expression pass),
so they are as fast on a million rows as ``pd.to_numeric``. Each has a one-value twin
(``parse_number``, ``extract_number``, ``remove_from_text``) with the same rule, for the few rows
of a prediction request, where pandas' string machinery costs more than the work.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from trainyard.data.values import is_missing

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


def parse_number(value, *, decimal_comma: bool = False) -> float:
    """``parse_numbers`` for one value: the same pattern on the same text (a number's own ``str``)."""
    if is_missing(value):
        return np.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    match = _PATTERNS[decimal_comma].search(str(value))
    if match is None:
        return np.nan
    number = match["num"]
    number = re.sub(r"[. \u00a0]", "", number).replace(",", ".") if decimal_comma else number.replace(",", "")
    try:
        result = float(number)
    except ValueError:
        return np.nan
    if match["exp"] is not None:
        result *= 10.0 ** int(match["exp"])
    if (match["sign"] in ("-", "−")) != (match["sign2"] in ("-", "−")):
        result = -result
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


def extract_number(value, pattern: re.Pattern[str]) -> float:
    """``extract_named`` for one value and one compiled pattern (its group is the number)."""
    if is_missing(value):
        return np.nan
    match = pattern.search(str(value))
    return np.nan if match is None or match.group(1) is None else parse_number(match.group(1))


def compiled_patterns(patterns: dict[str, str]) -> dict[str, re.Pattern[str]]:
    """The named patterns compiled as ``extract_named`` and ``remove_patterns`` use them."""
    return {name: re.compile(pattern, re.IGNORECASE) for name, pattern in patterns.items()}


# A number followed by a unit word: "378.0HP", "4.6L", "8 Cylinder", "6-Speed", "16V".
_UNIT_NUMBER = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)\s?-?\s?([A-Za-z][A-Za-z/]{0,11})(?![A-Za-z])")
MIN_UNIT_SHARE = 0.5  # a unit is a feature when at least this share of the cells carry it
MAX_CLASH_SHARE = 0.05  # and at most this share of those cells give it two different numbers
# Words that follow a number in prose ("3 of them", "item 12 with") but never name a unit.
NOT_UNITS = frozenset(
    "a an and are as at be but by for from has have into is it its no nor not of on or per "
    "than that the their them then there these they this those to was were which while who will "
    "with without".split()
)


def unit_pattern(unit: str) -> str:
    """The extraction pattern (one group: the number) for a number followed by ``unit``."""
    return rf"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)\s?-?\s?{re.escape(unit)}(?![A-Za-z])"


def find_unit_numbers(values: pd.Series) -> tuple[dict[str, str], list[str]]:
    """The units that follow a number in most cells of a text column, as extraction patterns.

    "378.0HP 4.6L 8 Cylinder Engine" and "300.0HP 3.7L V6" give ``{"hp": ..., "l": ...}``
    (and "cylinder" when most cells have it). A unit that one cell in twenty gives two
    different numbers is not extracted consistently: it is returned in the second list
    and left in the text, never half-parsed.
    """
    text = values.dropna().astype(str)
    if text.empty:
        return {}, []
    cells = [_numbers_by_unit(pairs) for pairs in text.str.findall(_UNIT_NUMBER)]
    counts = Counter(unit for cell in cells for unit in cell)
    patterns: dict[str, str] = {}
    clashes: list[str] = []
    for unit, n in sorted(counts.items()):
        if n / len(text) < MIN_UNIT_SHARE or unit in NOT_UNITS:
            continue
        if len({number for cell in cells for number in cell.get(unit, ())}) < 2:
            continue  # one number only ("3rd", "2nd"): part of a label, which extracting would split
        if sum(len(cell.get(unit, ())) > 1 for cell in cells) / n > MAX_CLASH_SHARE:
            clashes.append(unit)
        else:
            patterns[re.sub(r"\W+", "_", unit)] = unit_pattern(unit)
    return patterns, clashes


def _numbers_by_unit(pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for number, unit in pairs:
        out.setdefault(unit.lower(), set()).add(number)
    return out


def remove_patterns(values: pd.Series, patterns: dict[str, str]) -> pd.Series:
    """The text with every extracted number and its unit taken out: the words that remain."""
    text = values.astype("string")
    for pattern in patterns.values():
        text = text.str.replace(re.compile(pattern, re.IGNORECASE), " ", regex=True)
    return text.str.replace(r"\s+", " ", regex=True).str.strip().replace("", pd.NA)


def remove_from_text(value, patterns: dict[str, re.Pattern[str]]) -> str | None:
    """``remove_patterns`` for one value: the words that remain, None where none do."""
    if is_missing(value):
        return None
    text = str(value)
    for pattern in patterns.values():
        text = pattern.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip() or None
