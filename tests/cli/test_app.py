"""The CLI: exit status 2 and one-line errors, --debug, JSON output, documented commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trainyard.cli.app import app
from trainyard.errors import DataError

runner = CliRunner(env={"COLUMNS": "200"})  # wide enough that Rich does not wrap


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["profile", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'missing.csv'}: no such file; check the path"
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "content,message",
    [
        ("", "the file is empty"),
        ("a,b\n", "the table has a header but no rows"),
        ("a,b\n1,2\n3,4,5\n", "line 3 has 3 fields where the header has 2"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(app, ["profile", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "bad.csv" in lines[0]


def test_unknown_target_lists_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("make,price\nford,1\nbmw,2\n")
    result = runner.invoke(app, ["profile", str(path), "--target", "cost"])
    assert result.exit_code == 2
    assert "target 'cost' is not a column; columns: make, price" in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "profile", str(tmp_path / "missing.csv")])
    assert result.exit_code != 0
    assert isinstance(result.exception, DataError)


def test_profile_table_and_json(tmp_path: Path, market) -> None:
    path = tmp_path / "market.csv"
    market.to_csv(path, index=False)
    table = runner.invoke(app, ["profile", str(path), "--target", "price"])
    assert table.exit_code == 0, table.output
    assert "tristate" in table.stdout and "task: regression" in table.stdout and "warnings" in table.stdout
    as_json = runner.invoke(app, ["profile", str(path), "--target", "price", "--json"])
    data = json.loads(as_json.stdout)
    roles = {c["name"]: c["role"] for c in data["columns"]}
    assert roles["air_conditioning"] == "tristate" and data["task"] == "regression"


def test_latin1_note_reaches_the_user(tmp_path: Path) -> None:
    path = tmp_path / "l1.csv"
    path.write_bytes("make,price\nCitroën,1\nSkoda,2\n".encode("latin-1"))
    result = runner.invoke(app, ["profile", str(path)])
    assert result.exit_code == 0
    assert "note:" in result.stderr and "latin-1" in result.stderr


@pytest.mark.slow
def test_demo_reproduces_the_notes_experiment(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--rows", "800"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "used_cars.csv").exists()
    assert "the embedded used-car market" in result.stdout
    assert "final results, shaped like the notes' (R²)" in result.stdout
    for label in ("Simple Linear Regression", "Lasso Regression", "Random Forest", "XGBoost", "Deep learning"):
        assert label in result.stdout
    assert "leads on the fresh rows with R²" in result.stdout
    assert (tmp_path / "runs" / "notes-winning" / "model.skops").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def _commands(group, prefix=()):
    for name, command in getattr(group, "commands", {}).items():
        yield (*prefix, name), command
        yield from _commands(command, (*prefix, name))


def test_every_command_has_help_and_an_example() -> None:
    import typer.main

    root = typer.main.get_command(app)
    commands = list(_commands(root))
    assert commands
    for path, command in commands:
        if getattr(command, "commands", None):
            continue
        text = command.help or ""
        assert text.strip(), f"{' '.join(path)} has no help"
        assert "Example: trainyard" in text, f"{' '.join(path)} has no example"
