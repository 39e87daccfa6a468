"""The root Typer app: composes the command groups and turns user errors into one line."""

from __future__ import annotations

import os
import sys
import warnings

# torch.distributed's C++ layer logs every store timeout and dropped peer with a stack trace; the
# pipeline's errors say it in one line instead. Read once, when torch is first imported.
os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")

import typer
from typer.core import TyperGroup

from trainyard.cli.options import as_flags, optional_values
from trainyard.errors import TrainyardError, TrainyardWarning, disk_full

try:  # typer 0.2x carries its own copy of click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - an older typer over click
    from click import UsageError  # type: ignore[assignment]


class TrainyardGroup(TyperGroup):
    """Runs a command; a ``TrainyardError`` or an option out of its range becomes ``error: ...`` on
    stderr and exit 2 (the ranges and choices are declared once, on the options themselves)."""

    def invoke(self, ctx):  # click's Context (typer's own copy of click, or click itself)
        try:
            return self._invoke(ctx)
        except UsageError as err:
            if (ctx.obj or {}).get("debug") or os.environ.get("TRAINYARD_DEBUG"):
                raise
            where = f" (see: {err.ctx.command_path} --help)" if err.ctx is not None else ""
            typer.echo(f"error: {err.format_message()}{where}", err=True)
            ctx.exit(2)

    def _invoke(self, ctx):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TrainyardWarning)
                try:
                    return super().invoke(ctx)
                finally:
                    for warning in caught:
                        if issubclass(warning.category, TrainyardWarning):
                            typer.echo(f"note: {as_flags(str(warning.message))}", err=True)
        except TrainyardError as err:
            if (ctx.obj or {}).get("debug") or os.environ.get("TRAINYARD_DEBUG"):
                raise
            typer.echo(f"error: {as_flags(str(err))}", err=True)
            ctx.exit(2)
        except Exception as err:  # a full disk surfaces in whatever library was writing
            line = disk_full(err)
            if line is None or (ctx.obj or {}).get("debug") or os.environ.get("TRAINYARD_DEBUG"):
                raise
            typer.echo(f"error: {line}", err=True)
            ctx.exit(2)


app = typer.Typer(
    cls=TrainyardGroup,
    help="trainyard: give it a table and a target; it reads, cleans, trains, validates and explains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error."),
) -> None:
    """trainyard: read a table, train and validate models side by side; search and ask a folder of documents."""
    ctx.obj = {"debug": debug}


def _register() -> None:
    from trainyard.cli import ask, demo, export, lm, prep, profile, report, search, serve, train

    profile.register(app)
    prep.register(app)
    train.register(app)
    report.register(app)
    export.register(app)
    demo.register(app)
    search.register(app)
    ask.register(app)
    lm.register(app)
    serve.register(app)


_register()


def main() -> None:
    """The console script: flags that take an optional value are completed, then the Typer app runs."""
    sys.argv[1:] = optional_values(sys.argv[1:])
    app()
