"""The number parser: fixed cases from the notes' data, and randomly formatted numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainyard.prep.parse import extract_named, parse_numbers, parse_share


@pytest.mark.parametrize("text,value", [
    (" £8,000", 8000.0), ("51,000 mi.", 51000.0), ("$10,300", 10300.0), ("300.0HP", 300.0),
    ("1.6 L", 1.6), ("2,500 km", 2500.0), ("-5", -5.0), ("£-12.50", -12.5), ("1.5e3", 1500.0),
    ("  42  ", 42.0), ("15%", 15.0),
])
def test_known_formats(text: str, value: float) -> None:
    assert parse_numbers(pd.Series([text])).iloc[0] == pytest.approx(value)


@pytest.mark.parametrize("text", [" 3 Series", "abc", "1,2,3", "12 apples", "", "N/A"])
def test_not_a_single_number(text: str) -> None:
    assert pd.isna(parse_numbers(pd.Series([text])).iloc[0])


def test_decimal_comma_only_when_asked() -> None:
    values = pd.Series(["1.234,5", "12,5 km"])
    assert parse_numbers(values, decimal_comma=True).tolist() == [1234.5, 12.5]
    assert parse_numbers(values).isna().all()


def test_named_extraction() -> None:
    frame = extract_named(pd.Series(["300.0HP 3.7L V6", "150HP 1.6L", "electric"]),
                          {"hp": r"([\d.]+)\s*HP", "litres": r"([\d.]+)\s*L\b"})
    assert frame.loc[0].tolist() == [300.0, 3.7]
    assert frame.loc[1].tolist() == [150.0, 1.6]
    assert frame.loc[2].isna().all()


def test_share_and_missing_values() -> None:
    assert parse_share(pd.Series([" £1,000", "£2,000", None, "call"])) == pytest.approx(2 / 3)


def _format(value: float, decimals: int, thousands: bool, currency: str, unit: str, spaces: str) -> str:
    body = f"{abs(value):,.{decimals}f}" if thousands else f"{abs(value):.{decimals}f}"
    sign = "-" if value < 0 else ""
    return f"{spaces}{sign}{currency}{body}{unit}{spaces}"


@settings(max_examples=300, deadline=None)
@given(
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda v: round(v, 2)),
    decimals=st.integers(0, 2),
    thousands=st.booleans(),
    currency=st.sampled_from(["", "£", "$", "€"]),
    unit=st.sampled_from(["", " mi.", " km", "HP", " L", " miles", "%"]),
    spaces=st.sampled_from(["", " ", "  "]),
)
def test_randomly_formatted_numbers_parse_back(value, decimals, thousands, currency, unit, spaces) -> None:
    text = _format(value, decimals, thousands, currency, unit, spaces)
    expected = float(f"{value:.{decimals}f}")
    assert parse_numbers(pd.Series([text])).iloc[0] == pytest.approx(expected, rel=1e-12, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(value=st.floats(min_value=0, max_value=1e7, allow_nan=False).map(lambda v: round(v, 2)))
def test_decimal_comma_numbers_parse_back(value) -> None:
    text = f"{value:,.2f}".replace(",", " ").replace(".", ",")
    assert parse_numbers(pd.Series([text]), decimal_comma=True).iloc[0] == pytest.approx(value)
