"""The embedded used-car market: seeded, shaped like the notes' story."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.conftest import AS_OF
from trainyard.data.synthetic import EQUIPMENT, used_car_market


def test_same_seed_same_market_other_seed_other_market() -> None:
    a = used_car_market(500, seed=1, as_of=AS_OF)
    pd.testing.assert_frame_equal(a, used_car_market(500, seed=1, as_of=AS_OF))
    assert not a["price"].equals(used_car_market(500, seed=2, as_of=AS_OF)["price"])


def test_shape_dates_and_missing(market: pd.DataFrame) -> None:
    assert len(market) == 4_000
    assert len(used_car_market(as_of=AS_OF)) == 20_000
    dates = pd.to_datetime(market["listing_date"])
    assert dates.max() <= pd.Timestamp(AS_OF)
    assert dates.dt.to_period("M").nunique() == 24
    assert dates.max().to_period("M") == pd.Timestamp(AS_OF).to_period("M")
    assert market["previous_owners"].isna().mean() > 0.8
    for field in EQUIPMENT:
        assert set(market[field]) == {"ON", "OFF", "NotAvailable"}


def test_price_depreciates_with_age_and_mileage(market: pd.DataFrame) -> None:
    log_price = np.log(market["price"])
    assert np.corrcoef(market["year"], log_price)[0, 1] > 0.4
    assert np.corrcoef(market["mileage"], log_price)[0, 1] < -0.4
    premium = market.groupby("make")["price"].median()
    assert premium["mercedes"] > premium["hyundai"]
    assert (market["price"] > 0).all()
