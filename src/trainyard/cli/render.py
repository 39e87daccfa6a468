"""Rich renderings shared by commands: tables that fit the terminal, the Schema table and its findings.

A table is built from columns that say what they hold. Numbers and names are never cut or wrapped;
text (reasons, flags, examples) wraps. When the terminal is too narrow for every column, the least
important columns are left out, and one line under the table names them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # the CLI imports no pandas before a command runs
    from trainyard.data.schema import Schema

ROLE_STYLE = {  # by Role value
    "target": "bold magenta",
    "numeric": "cyan",
    "categorical": "green",
    "tristate": "yellow",
    "text": "blue",
    "datetime": "bright_cyan",
    "id": "dim",
    "constant": "dim",
    "number_in_text": "bright_yellow",
}


@dataclass(frozen=True)
class Column:
    """One column of a fitted table. ``kind``: "number" or "name" (shown whole, never wrapped) or "text"
    (wraps); ``rank``: 0 is always shown, a higher rank is left out first when the terminal is narrow."""

    header: str
    kind: str = "number"
    rank: int = 0


TEXT_MIN = 14  # the narrowest a wrapping text column gets before columns are left out
# Rich pads each cell by one space on both sides and draws a rule between and around the columns
PAD, RULE = 2, 1


def plain(console: Console) -> bool:
    """Piped output or NO_COLOR: no box drawing, only the columns."""
    return not console.is_terminal or bool(os.environ.get("NO_COLOR"))


def fitted_table(console: Console, title: str, columns: list[Column], rows: list[list[str]]) -> tuple[Table, str]:
    """A Rich table of ``rows`` (cells as text; markup allowed) that fits ``console.width``, and the
    line naming the columns left out ("" when every column fits)."""
    needed = [_needed(column, [row[i] for row in rows]) for i, column in enumerate(columns)]
    shown = list(range(len(columns)))
    while sum(needed[i] + PAD + RULE for i in shown) + RULE > console.width:
        droppable = [i for i in shown if columns[i].rank > 0]
        if not droppable:
            break
        shown.remove(max(droppable, key=lambda i: (columns[i].rank, i)))
    table = Table(title=title, title_justify="left", box=None if plain(console) else box.HEAVY_HEAD)
    for i in shown:
        column = columns[i]
        whole = column.kind != "text"
        table.add_column(
            column.header,
            justify="right" if column.kind == "number" else "left",
            no_wrap=whole,
            min_width=needed[i] if whole else None,
            overflow="fold",
        )
    for row in rows:
        table.add_row(*[row[i] for i in shown])
    left_out = [columns[i].header for i in range(len(columns)) if i not in shown]
    note = (
        f"left out at {console.width} columns: {', '.join(left_out)} (a wider terminal shows them)" if left_out else ""
    )
    return table, note


def print_table(console: Console, title: str, columns: list[Column], rows: list[list[str]]) -> None:
    """Print rows as a table fitted to the terminal, and the note that names the columns left out."""
    table, note = fitted_table(console, title, columns, rows)
    console.print(table)
    if note:
        console.print(note, highlight=False)


def _needed(column: Column, cells: list[str]) -> int:
    """The width a column needs: whole cells for numbers and names, a wrap width for text; the header
    may wrap between its words."""
    from rich.text import Text

    header = max((len(word) for word in column.header.split()), default=0)
    widest = max((Text.from_markup(cell).cell_len for cell in cells), default=0)
    if column.kind == "text":
        return max(header, min(widest, TEXT_MIN))
    return max(header, widest)


SCHEMA_COLUMNS = [
    Column("column", "name"),
    Column("role", "name"),
    Column("missing", "number", 1),
    Column("distinct", "number", 2),
    Column("why", "text", 3),
    Column("examples", "text", 4),
]


def schema_rows(schema: Schema) -> list[list[str]]:
    """One row per column of the Schema: name, role, reason, missing share, distinct values, examples."""
    rows = []
    for column in schema.columns:
        style = ROLE_STYLE.get(column.role.value, "")
        rows.append(
            [
                escape(str(column.name)),
                f"[{style}]{column.role.value}[/]",
                f"{column.missing:.1%}",
                str(column.unique),
                escape(column.reason),
                escape(", ".join(map(str, column.examples))),
            ]
        )
    return rows


def print_schema(console: Console, schema: Schema, title: str) -> None:
    """Print the Schema's table, the task with its reason, and its findings as warnings."""
    print_table(console, title, SCHEMA_COLUMNS, schema_rows(schema))
    if schema.target:
        console.print(f"task: [bold]{schema.task}[/] ({schema.task_reason})")
    if schema.findings:
        console.print("[bold]warnings[/]")
        for finding in schema.findings:
            console.print(f"  [yellow]![/] {finding.message}", highlight=False)
    else:
        console.print("no warnings")
