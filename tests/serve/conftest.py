"""A small run of the demo market (ridge, LightGBM, their ensemble) for the server to serve."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trainyard.runs import load_run, save_run
from trainyard.train import train


@pytest.fixture(scope="session")
def car_run(market: pd.DataFrame, tmp_path_factory) -> Path:
    result = train(market.head(1200), "price", models=["dummy", "ridge", "lightgbm"], tune=False)
    return save_run(result, tmp_path_factory.mktemp("serve") / "cars", seed=0)


@pytest.fixture(scope="session")
def app(car_run: Path):
    from trainyard.serve.app import create_app

    return create_app(load_run(car_run), max_body_bytes=200_000, max_rows=500)
