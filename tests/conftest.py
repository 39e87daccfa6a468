"""Shared fixtures: real data from ../shared/data (skipped when absent) and the demo market."""

from __future__ import annotations

import os

# The suite runs in two processes on two cores (`make test`: pytest-xdist). OpenMP's threads (LightGBM, XGBoost,
# scikit-learn's HistGradientBoosting) spin while they wait by default, and two processes spinning against each
# other made the suite 2.5x slower than one process; passive waiting made it 1.3x faster (tests/README.md).
# Set before any OpenMP library loads; the worker processes inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import datetime as dt  # noqa: E402
from pathlib import Path

import pandas as pd
import pytest

from trainyard.data.synthetic import used_car_market

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AS_OF = dt.date(2026, 11, 27)


def shared(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when the folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (a fresh clone has no ../shared/data)")
    return path


@pytest.fixture(scope="session")
def cars_small() -> pd.DataFrame:
    """3,000 real rows of the UK used-car data, across all makes."""
    files = sorted(shared("uk_used_cars").glob("*.csv"))
    frames = [pd.read_csv(f).sample(frac=1, random_state=0).head(350) for f in files]
    return pd.concat(frames, ignore_index=True).head(3000)


@pytest.fixture(scope="session")
def market() -> pd.DataFrame:
    return used_car_market(4_000, seed=7, as_of=AS_OF)


CRAN_DOCS = 200  # documents 1..200: every query below has judged documents among them


@pytest.fixture(scope="session")
def cran_slice(tmp_path_factory) -> Path:
    """The first 200 Cranfield documents as a SMART file (real text, small enough to embed in seconds)."""
    source = shared("cranfield", "cran.all.1400").read_text(encoding="utf-8")
    records = source.split("\n.I ")
    out = tmp_path_factory.mktemp("cran") / "cran.200"
    out.write_text("\n.I ".join(records[:CRAN_DOCS]) + "\n", encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def cran_index(cran_slice, tmp_path_factory):
    """A real index of the slice: bm25s, TF-IDF, MiniLM vectors in a Milvus Lite file."""
    from trainyard.search.index import build_index

    index = build_index(cran_slice, tmp_path_factory.mktemp("idx") / "cran-index")
    yield index
    index.close()


@pytest.fixture(scope="session")
def car_run(market: pd.DataFrame, tmp_path_factory) -> Path:
    """A small run of the demo market (ridge, LightGBM, their ensemble), for serving."""
    from trainyard.tabular.runs.store import save_run
    from trainyard.tabular.training.trainer import train

    result = train(market.head(1200), "price", models=["dummy", "ridge", "lightgbm"], tune=False)
    return save_run(result, tmp_path_factory.mktemp("serve") / "cars")
