"""The number parser: fixed cases from the notes' data, and randomly formatted numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainyard.data.parse import extract_named, find_unit_numbers, parse_numbers, parse_share, remove_patterns


@pytest.mark.parametrize(
    "text,value",
    [
        (" £8,000", 8000.0),
        ("51,000 mi.", 51000.0),
        ("$10,300", 10300.0),
        ("300.0HP", 300.0),
        ("1.6 L", 1.6),
        ("2,500 km", 2500.0),
        ("-5", -5.0),
        ("£-12.50", -12.5),
        ("1.5e3", 1500.0),
        ("  42  ", 42.0),
        ("15%", 15.0),
    ],
)
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
    frame = extract_named(
        pd.Series(["300.0HP 3.7L V6", "150HP 1.6L", "electric"]), {"hp": r"([\d.]+)\s*HP", "litres": r"([\d.]+)\s*L\b"}
    )
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


def test_several_numbers_in_one_cell_are_found_by_their_units() -> None:
    engines = pd.Series(
        [
            "378.0HP 4.6L 8 Cylinder Engine Gasoline Fuel",
            "300.0HP 3.7L V6 Cylinder Engine",
            "2.0L I4 16V GDI DOHC Turbo",
            None,
            "6-Speed A/T 250HP 2.5L",
        ]
    )
    patterns, clashes = find_unit_numbers(engines)
    assert set(patterns) == {"hp", "l"} and clashes == []  # "cylinder" and "speed": in under half the cells
    extracted = extract_named(engines, patterns)
    assert extracted["hp"].tolist()[:2] == [378.0, 300.0] and np.isnan(extracted["hp"].iloc[2])
    assert extracted["l"].tolist()[:3] == [4.6, 3.7, 2.0]
    words = remove_patterns(engines, patterns)
    assert (
        words.iloc[0] == "8 Cylinder Engine Gasoline Fuel" and words.iloc[4] == "6-Speed A/T" and pd.isna(words.iloc[3])
    )


def test_a_unit_with_two_different_numbers_in_a_cell_is_left_in_the_text() -> None:
    sizes = pd.Series([f"{i} GB RAM {i * 8} GB disk" for i in range(1, 40)])
    patterns, clashes = find_unit_numbers(sizes)
    assert "gb" not in patterns and clashes == ["gb"]


def test_codes_and_plain_words_hold_no_units() -> None:
    assert find_unit_numbers(pd.Series([f"B00{i}EFX{i}" for i in range(50)])) == ({}, [])
    assert find_unit_numbers(pd.Series(["red", "green", None])) == ({}, [])


def test_words_of_prose_after_a_number_are_not_units() -> None:
    notes = pd.Series([f"free words number {i} with no pattern, {i % 5} of them" for i in range(50)])
    assert find_unit_numbers(notes) == ({}, [])
