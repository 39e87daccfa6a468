"""Rich renderings shared by commands: the Schema table and its findings."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from trainyard.data.schema import Role, Schema

ROLE_STYLE = {
    Role.TARGET: "bold magenta", Role.NUMERIC: "cyan", Role.CATEGORICAL: "green", Role.TRISTATE: "yellow",
    Role.TEXT: "blue", Role.DATETIME: "bright_cyan", Role.ID: "dim", Role.CONSTANT: "dim",
    Role.NUMBER_IN_TEXT: "bright_yellow",
}


def schema_table(schema: Schema, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("column", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("why")
    table.add_column("missing", justify="right")
    table.add_column("distinct", justify="right")
    table.add_column("examples")
    for column in schema.columns:
        style = ROLE_STYLE.get(column.role, "")
        table.add_row(column.name, f"[{style}]{column.role.value}[/]", column.reason,
                      f"{column.missing:.1%}", str(column.unique), ", ".join(column.examples))
    return table


def print_schema(console: Console, schema: Schema, title: str) -> None:
    console.print(schema_table(schema, title))
    if schema.target:
        console.print(f"task: [bold]{schema.task}[/] ({schema.task_reason})")
    if schema.findings:
        console.print("[bold]warnings[/]")
        for finding in schema.findings:
            console.print(f"  [yellow]![/] {finding.message}", highlight=False)
    else:
        console.print("no warnings")
