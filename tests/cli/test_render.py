"""Tables fit any terminal: numbers and names are never cut; at narrow widths whole columns are left out,
least important first, and one line names them."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from rich.console import Console

from trainyard.cli.render import SCHEMA_COLUMNS, print_schema, schema_rows
from trainyard.cli.train import leaderboard_column, print_leaderboard
from trainyard.data.schema import profile
from trainyard.data.synthetic import used_car_market
from trainyard.tabular.leaderboard import to_frame
from trainyard.tabular.metrics import primary_metric

WIDTHS = [60, 80, 120, 200]


@pytest.fixture(scope="module")
def result():
    from trainyard.tabular.training.trainer import train

    market = used_car_market(900, seed=4, as_of=dt.date(2026, 11, 27))
    return train(market, "price", models=["dummy", "ridge", "random_forest"], tune=False)


def _render(width: int, draw) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=True, color_system=None)
    draw(console)
    return buffer.getvalue()


def _left_out(text: str) -> set[str]:
    match = re.search(r"left out at \d+ columns: (.*?) \(a wider", " ".join(text.split()))
    return set(match.group(1).split(", ")) if match else set()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_leaderboard_shows_every_number_in_full(result, width: int) -> None:
    text = _render(width, lambda console: print_leaderboard(console, result))
    metric = primary_metric(result.schema.task)
    frame = to_frame(result.entries, metric)
    left_out = _left_out(text)
    assert all(len(line) <= width for line in text.splitlines())
    assert {"rank", "model", "CV r2"}.isdisjoint(left_out)  # the columns the user came for are always there
    headers = [leaderboard_column(c, metric.name).header for c in frame.columns]
    assert left_out <= set(headers)
    shown = [h for h in headers if h not in left_out]
    header_line = next(line for line in text.splitlines() if "rank" in line and "model" in line)
    assert all(h.split()[0] in header_line for h in shown)
    for _, row in frame.iterrows():
        assert row["model"] in text
        for name in ("cv_r2", "cv_std", "test_r2", "fit_seconds", "size_kb"):
            if leaderboard_column(name, "r2").header in shown and row[name] == row[name]:
                value = row[name]
                cell = f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"
                assert cell in text, (name, cell)
    if width >= 200:
        assert not left_out


@pytest.mark.parametrize("width", WIDTHS)
def test_the_profile_table_keeps_names_and_numbers_whole(width: int) -> None:
    schema = profile(used_car_market(600, seed=2, as_of=dt.date(2026, 11, 27)), "price")
    text = _render(width, lambda console: print_schema(console, schema, "profile"))
    assert all(len(line) <= width for line in text.splitlines())
    for column in schema.columns:
        assert re.search(rf"\b{re.escape(column.name)}\b", text)
        assert f"{column.missing:.1%}" in text and re.search(rf"\b{column.unique}\b", text)
    assert {"why", "examples"} >= _left_out(text)
    assert len(schema_rows(schema)[0]) == len(SCHEMA_COLUMNS)


def test_piped_output_has_no_box_drawing(result) -> None:
    buffer = io.StringIO()
    print_leaderboard(Console(file=buffer, width=100, force_terminal=False), result)
    assert not set("┏┃━│┡└") & set(buffer.getvalue())
