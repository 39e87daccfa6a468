"""The app over the shared small run (tests/conftest.py::car_run), with small limits to test them."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainyard.tabular.runs.store import load_run


@pytest.fixture(scope="session")
def app(car_run: Path):
    from trainyard.tabular.serve.app import create_app

    return create_app(load_run(car_run), max_body_bytes=200_000, max_rows=500)
