"""Shared fixtures: real data from ../shared/data (skipped when absent) and the demo market."""

from __future__ import annotations

import os

# The suite runs in two processes on two cores (`make test`: pytest-xdist). Each test process is pinned to its own
# share of the cores before any thread pool starts, and trainyard sizes its threads by the cores a process may
# use (trainyard.cores). Unpinned, the fits of two processes each start a thread per core and wait on each other's
# threads: one training ran in 31 s beside a second, against 13.5 s pinned (tests/README.md). Subprocesses (the
# CLI, training workers, servers) inherit the pinning.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw") and hasattr(os, "sched_setaffinity"):
    _cores = sorted(os.sched_getaffinity(0))
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    _share = _cores[int(_WORKER[2:]) % len(_cores) :: max(1, min(_workers, len(_cores)))]
    os.sched_setaffinity(0, _share)

import datetime as dt
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
CRAN_FEW = 30  # for tests of the index's files (damage, failed builds, add and remove): document 1 is among them


def _cran_head(tmp_path_factory, n: int) -> Path:
    source = shared("cranfield", "cran.all.1400").read_text(encoding="utf-8")
    records = source.split("\n.I ")
    out = tmp_path_factory.mktemp("cran") / f"cran.{n}"
    out.write_text("\n.I ".join(records[:n]) + "\n", encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def cran_slice(tmp_path_factory) -> Path:
    """The first 200 Cranfield documents as a SMART file (real text, small enough to embed in seconds)."""
    return _cran_head(tmp_path_factory, CRAN_DOCS)


@pytest.fixture(scope="session")
def cran_few(tmp_path_factory) -> Path:
    """The first 30 Cranfield documents: an index of them builds in a few seconds."""
    return _cran_head(tmp_path_factory, CRAN_FEW)


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
