"""Options shared by several commands, declared once so every command spells them the same."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

Source = Annotated[
    str, typer.Argument(help="A file, a glob, a directory of same-shaped files, or a SQL query (DuckDB).")
]
Target = Annotated[Optional[str], typer.Option("--target", "-t", help="The column to predict.")]
Task = Annotated[
    Optional[str], typer.Option("--task", help="Override the inferred task: regression, binary or multiclass.")
]
Format = Annotated[
    Optional[str],
    typer.Option(
        "--format", help="Override the format the suffix implies (csv, parquet, json, jsonl, excel, sqlite, feather)."
    ),
]
Sheet = Annotated[Optional[str], typer.Option("--sheet", help="Excel: the sheet to read (name or 0-based number).")]
Table = Annotated[Optional[str], typer.Option("--table", help="SQLite: the table to read.")]
Query = Annotated[Optional[str], typer.Option("--query", help="SQLite: a query to run instead of reading a table.")]
SourceColumn = Annotated[
    Optional[str],
    typer.Option("--source-column", help="For several files: a column naming the file each row came from."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
Seed = Annotated[int, typer.Option("--seed", min=0, help="The one seed that drives every random choice.")]
TrustTypes = Annotated[
    Optional[str],
    typer.Option(
        "--trust-types",
        help="Comma-separated exact type names to trust beyond those trainyard writes; only for a "
        "run you made yourself (see docs/security.md).",
    ),
]
_IMPORTED = time.monotonic()
OutDir = Annotated[Path, typer.Option("--out", "-o", help="Where to write the output.")]


def process_seconds() -> float:
    """Seconds since this process started (Linux: from /proc), so that a time limit covers start-up too."""
    try:
        start_ticks = float(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


def trusted(names: str | None) -> tuple[str, ...]:
    """``--trust-types a,b`` as a tuple of names."""
    return tuple(n.strip() for n in (names or "").split(",") if n.strip())


def read_options(
    format: str | None, sheet: str | None, table: str | None, query: str | None, source_column: str | None
) -> dict[str, Any]:
    """Collect the reader options a command received into ``read()``'s keywords."""
    options: dict[str, Any] = {"format": format, "source_column": source_column}
    if sheet is not None:
        options["sheet"] = int(sheet) if sheet.isdigit() else sheet
    if table is not None:
        options["table"] = table
    if query is not None:
        options["query"] = query
    return {k: v for k, v in options.items() if v is not None}


# Library errors name Python parameters (``time_limit=5``); the CLI says the same with its flags.
FLAGS = (
    "time_limit",
    "folds",
    "task",
    "models",
    "cluster",
    "overwrite",
    "resume",
    "target",
    "metric",
    "trust_types",
    "max_predict_ms",
    "strict",
    "name",
    "seed",
    "recipe",
    "jobs",
    "format",
    "table",
    "query",
    "sheet",
    "mlflow",
)
_PARAMETER = re.compile(r"\b(" + "|".join(FLAGS) + r")=(True\b|\[[^\]]*\]|'[^']*'|\"[^\"]*\"|[^\s;,)]*)")


def as_flags(message: str) -> str:
    """``time_limit=5`` -> ``--time-limit 5``, ``overwrite=True`` -> ``--overwrite``, ``models=['knn']`` ->
    ``--models knn``: a library message, in the words of the command line."""

    def flag(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        option = "--" + name.replace("_", "-")
        if value in ("", "True"):
            return option
        if value.startswith("["):
            value = ",".join(v.strip().strip("'\"") for v in value[1:-1].split(",") if v.strip())
        return f"{option} {value.strip(chr(39) + chr(34))}"

    return _PARAMETER.sub(flag, message)


# Options that may stand alone or take a value: ``--mlflow`` alone logs to the local store.
OPTIONAL_VALUES = {"--mlflow": "local"}


def optional_values(argv: list[str]) -> list[str]:
    """Give a bare optional-value option its default. What follows counts as its value only when it is a URI
    (it has a ``:``, as http://host:port, sqlite:///x.db and file:./mlruns do), so a data path after it stays
    the data path."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg in OPTIONAL_VALUES:
            following = argv[i + 1] if i + 1 < len(argv) else ""
            if following.startswith("-") or ":" not in following:
                out.append(OPTIONAL_VALUES[arg])
    return out
