"""Every numeric option declares its range once, on the option; a value outside it is one line and exit 2."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trainyard.cli.app import app

runner = CliRunner()


def _commands(command, path: tuple[str, ...] = ()):
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, command


def _is_option(param) -> bool:
    return type(param).__name__ == "TyperOption"


def _kind(param) -> type | None:
    annotation = param.type_descriptor.annotation
    inner = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return inner[0] if inner[0] in (int, float) else None


COMMANDS = list(_commands(typer.main.get_command(app)))
NUMERIC = [
    (path, command, param)
    for path, command in COMMANDS
    for param in command.params
    if _is_option(param) and _kind(param) is not None
]


def test_every_numeric_option_declares_its_range() -> None:
    assert len(NUMERIC) > 30  # the walk really found the options
    unbounded = [
        f"{' '.join(path)} {param.opts[0]}" for path, _, param in NUMERIC if param.min is None and param.max is None
    ]
    assert not unbounded, f"numeric options without a declared range: {unbounded}"


def _required(command) -> list[str]:
    """Placeholder values for the command's required arguments and options."""
    args: list[str] = []
    for param in command.params:
        if param.required and _is_option(param):
            args += [param.opts[0], "x"]
        elif param.required:
            args.append("x")
    return args


@pytest.mark.parametrize(
    ("path", "command", "param"), NUMERIC, ids=[f"{' '.join(p)} {o.opts[0]}" for p, _, o in NUMERIC]
)
def test_out_of_range_values_are_refused_in_one_line(path, command, param, tmp_path: Path) -> None:
    bad = [param.min - 1] if param.min is not None else []
    bad += [param.max + 1] if param.max is not None else []
    for value in bad:
        value = int(value) if _kind(param) is int else value
        result = runner.invoke(app, [*path, *_required(command), param.opts[0], str(value)])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: Invalid value for") and param.opts[0] in lines[0], lines
        assert "Traceback" not in result.output


def test_a_choice_error_names_the_choices(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "t.csv"
    pd.DataFrame({"x": range(40), "y": [0, 1] * 20}).to_csv(path, index=False)
    result = runner.invoke(app, ["train", str(path), "--target", "y", "--metric", "nosuch", "--runs", str(tmp_path)])
    assert result.exit_code == 2
    assert "metric 'nosuch' does not apply to binary; choose one of" in result.stderr
    assert not (tmp_path / "t").exists() and not list(tmp_path.glob(".t*"))  # refused before any work


def test_lm_train_refuses_a_width_heads_cannot_split_and_a_trained_checkpoint(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text("some text " * 50)
    result = runner.invoke(app, ["lm", "train", str(text), "-o", str(tmp_path / "c"), "--dim", "30", "--heads", "4"])
    assert result.exit_code == 2 and "dim=30 is not divisible by heads=4" in result.stderr
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.json").write_text("{}")
    result = runner.invoke(app, ["lm", "train", str(text), "-o", str(tmp_path / "c")])
    assert result.exit_code == 2 and "a trained checkpoint is there; pass --resume" in result.stderr
    assert (tmp_path / "c" / "config.json").read_text() == "{}"
