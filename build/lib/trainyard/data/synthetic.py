"""A seeded used-car market, so that the main job runs with no download.

The price follows the story the notes tell: exponential depreciation in age and
mileage, a manufacturer premium, equipment effects (tri-state ON / OFF /
NotAvailable fields), month-to-month market drift and noise. A free-text seller
comment carries no signal, one column is mostly empty, and listings span the 24
months up to the current month, so that "fresh data" means the newest month.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

# make -> (premium, market share, {model: new price in GBP, engine size in litres})
MAKES: dict[str, tuple[float, float, dict[str, tuple[int, float]]]] = {
    "ford": (1.00, 0.19, {"Fiesta": (15000, 1.0), "Focus": (19000, 1.5), "Kuga": (25000, 2.0), "Mondeo": (23000, 2.0)}),
    "vauxhall": (
        0.92,
        0.14,
        {"Corsa": (14000, 1.2), "Astra": (17500, 1.4), "Insignia": (22000, 1.6), "Mokka": (20000, 1.4)},
    ),
    "vw": (1.08, 0.15, {"Polo": (16000, 1.0), "Golf": (22000, 1.5), "Passat": (27000, 2.0), "Tiguan": (31000, 2.0)}),
    "toyota": (
        1.05,
        0.09,
        {"Aygo": (11500, 1.0), "Yaris": (16000, 1.5), "Corolla": (23000, 1.8), "RAV4": (31000, 2.5)},
    ),
    "skoda": (
        0.97,
        0.08,
        {"Fabia": (13500, 1.0), "Octavia": (21000, 1.5), "Superb": (27000, 2.0), "Kodiaq": (31000, 2.0)},
    ),
    "hyundai": (0.90, 0.07, {"i10": (11000, 1.0), "i20": (14000, 1.2), "i30": (18500, 1.4), "Tucson": (26000, 1.6)}),
    "audi": (1.25, 0.10, {"A1": (21000, 1.0), "A3": (27000, 1.5), "A4": (33000, 2.0), "Q5": (44000, 2.0)}),
    "bmw": (
        1.30,
        0.09,
        {"1 Series": (25000, 1.5), "3 Series": (34000, 2.0), "5 Series": (43000, 2.0), "X3": (45000, 2.0)},
    ),
    "mercedes": (
        1.35,
        0.09,
        {"A Class": (27000, 1.3), "C Class": (36000, 2.0), "E Class": (46000, 2.0), "GLC": (49000, 2.0)},
    ),
}
FUELS = {"Petrol": (0.52, 1.00), "Diesel": (0.33, 0.97), "Hybrid": (0.10, 1.08), "Electric": (0.05, 1.15)}
TRANSMISSIONS = {"Manual": (0.55, 1.00), "Automatic": (0.30, 1.08), "Semi-Auto": (0.15, 1.06)}
# equipment field -> (P(ON), P(OFF), P(NotAvailable), price effect of ON, of OFF)
EQUIPMENT = {
    "air_conditioning": (0.70, 0.20, 0.10, 0.04, -0.03),
    "navigation": (0.45, 0.40, 0.15, 0.05, -0.01),
    "parking_sensors": (0.50, 0.35, 0.15, 0.03, -0.01),
    "heated_seats": (0.30, 0.55, 0.15, 0.04, 0.00),
}
COLOURS = ["Black", "White", "Silver", "Grey", "Blue", "Red", "Green"]
COMMENT_WORDS = (
    "lovely drive clean inside outside recently valeted viewing welcome call anytime genuine reason "
    "for sale garage kept smoker pet free new tyres long mot family car first to see will buy "
    "quick sale no time wasters px welcome finance available warranty included great condition"
).split()


def used_car_market(n_rows: int = 20_000, *, seed: int = 0, as_of: dt.date | None = None) -> pd.DataFrame:
    """Generate ``n_rows`` used-car listings; ``as_of`` is the current month (default: today)."""
    rng = np.random.default_rng(seed)
    as_of = as_of or dt.date.today()
    makes = list(MAKES)
    make = rng.choice(makes, size=n_rows, p=_normalised([MAKES[m][1] for m in makes]))
    model = np.empty(n_rows, dtype=object)
    base_price = np.empty(n_rows)
    base_engine = np.empty(n_rows)
    for name in makes:
        rows = np.flatnonzero(make == name)
        models = list(MAKES[name][2])
        picks = rng.choice(len(models), size=len(rows))
        model[rows] = [models[i] for i in picks]
        base_price[rows] = [MAKES[name][2][models[i]][0] * MAKES[name][0] for i in picks]
        base_engine[rows] = [MAKES[name][2][models[i]][1] for i in picks]

    listing_date, month_index = _listing_dates(rng, n_rows, as_of)
    age = np.clip(rng.gamma(2.0, 2.0, n_rows), 0, 16)
    year = (listing_date.year.to_numpy() - np.floor(age)).astype(int)
    mileage = np.round(age * rng.lognormal(np.log(8500), 0.35, n_rows) + rng.uniform(5, 900, n_rows)).astype(int)
    fuel = _pick(rng, FUELS, n_rows)
    transmission = _pick(rng, TRANSMISSIONS, n_rows)
    engine_size = np.where(
        fuel == "Electric", 0.0, np.round(base_engine * rng.choice([0.8, 1.0, 1.0, 1.25], n_rows), 1)
    )
    mpg = np.where(
        fuel == "Electric",
        np.nan,
        np.round(
            75
            - 12 * engine_size
            + np.where(fuel == "Diesel", 8, 0)
            + np.where(fuel == "Hybrid", 15, 0)
            + rng.normal(0, 3, n_rows),
            1,
        ),
    )

    price = base_price * np.exp(-0.11 * age) * np.exp(-0.32 * mileage / 100_000)
    price *= np.array([FUELS[f][1] for f in fuel]) * np.array([TRANSMISSIONS[t][1] for t in transmission])
    equipment = {}
    for field, (p_on, p_off, p_na, on_effect, off_effect) in EQUIPMENT.items():
        values = rng.choice(["ON", "OFF", "NotAvailable"], size=n_rows, p=[p_on, p_off, p_na])
        price *= np.where(values == "ON", 1 + on_effect, np.where(values == "OFF", 1 + off_effect, 1.0))
        equipment[field] = values
    drift = 1 + 0.004 * month_index + 0.015 * np.sin(month_index / 2.0)
    price *= drift * rng.lognormal(0, 0.07, n_rows)
    price = np.round(price / 5) * 5

    frame = pd.DataFrame(
        {
            "listing_id": [f"L{seed % 100:02d}{i:06d}" for i in range(n_rows)],
            "listing_date": listing_date.strftime("%Y-%m-%d"),
            "make": make,
            "model": model,
            "year": year,
            "mileage": mileage,
            "fuel": fuel,
            "transmission": transmission,
            "engine_size": engine_size,
            "mpg": mpg,
            "colour": rng.choice(COLOURS, n_rows),
            **equipment,
            "previous_owners": np.where(rng.random(n_rows) < 0.85, np.nan, rng.integers(1, 5, n_rows)),
            "seller_comment": _comments(rng, n_rows),
            "price": price,
        }
    )
    frame.loc[rng.random(n_rows) < 0.03, "engine_size"] = np.nan
    return frame


def _normalised(weights: list[float]) -> np.ndarray:
    array = np.asarray(weights, dtype=float)
    return array / array.sum()


def _pick(rng: np.random.Generator, table: dict[str, tuple[float, float]], n: int) -> np.ndarray:
    names = list(table)
    return rng.choice(names, size=n, p=_normalised([table[k][0] for k in names]))


def _listing_dates(rng: np.random.Generator, n: int, as_of: dt.date) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Dates over the 24 months up to and including ``as_of``'s month, never after ``as_of``."""
    first = (pd.Timestamp(as_of).to_period("M") - 23).to_timestamp()
    span = (pd.Timestamp(as_of) - first).days + 1
    dates = first + pd.to_timedelta(rng.integers(0, span, n), unit="D")
    index = pd.DatetimeIndex(dates)
    months = (index.year - first.year) * 12 + (index.month - first.month)
    return index, months.to_numpy()


def _comments(rng: np.random.Generator, n: int) -> list[str]:
    lengths = rng.integers(4, 14, n)
    words = rng.choice(COMMENT_WORDS, size=int(lengths.sum()))
    out, start = [], 0
    for length in lengths:
        out.append(" ".join(words[start : start + length]).capitalize())
        start += length
    return out
