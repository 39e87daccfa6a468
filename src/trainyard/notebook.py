"""HTML for Jupyter: what a Schema, a plan and a run show in a notebook, the table the wings build on, and
the progress bar long work draws in a notebook.

Compact tables with inline styles only (no external assets, no script). Colours are inherited and
rules are a half-transparent grey, so the same HTML reads in light and dark themes. The classes
call these from their ``_repr_html_``; nothing here is imported until a notebook asks.
"""

from __future__ import annotations

import math
import sys
import time
from html import escape
from typing import Any

_CELL = "padding:2px 8px;border-bottom:1px solid rgba(127,127,127,.35);"
_NUMBER = _CELL + "text-align:right;font-variant-numeric:tabular-nums;"
_TEXT = _CELL + "text-align:left;"


def table(title: str, headers: list[str], rows: list[list[Any]], note: str = "") -> str:
    """One titled table; numbers right-aligned, everything escaped."""
    head = "".join(f'<th style="{_TEXT}font-weight:600">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    foot = f'<div style="opacity:.75;font-size:.9em">{escape(note)}</div>' if note else ""
    return (
        f'<div class="trainyard"><div style="font-weight:600">{escape(title)}</div>'
        f'<table style="border-collapse:collapse;font-size:.9em;color:inherit">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}</div>"
    )


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return f'<td style="{_TEXT}">{"" if value is None else escape(str(value))}</td>'
    if isinstance(value, float):
        text = "" if math.isnan(value) else (f"{value:.4f}" if abs(value) < 100 else f"{value:,.0f}")
        return f'<td style="{_NUMBER}">{text}</td>'
    if isinstance(value, int):
        return f'<td style="{_NUMBER}">{value:,}</td>'
    return f'<td style="{_TEXT}">{escape(str(value))}</td>'


def schema_html(schema) -> str:
    """A Schema as a compact HTML table for a notebook."""
    rows = [
        [c.name, c.role.value, f"{c.missing:.1%}", c.unique, c.reason, ", ".join(map(str, c.examples))]
        for c in schema.columns
    ]
    task = f"task {schema.task} ({schema.task_reason}); " if schema.target else ""
    warnings = "; ".join(f.message for f in schema.findings) or "no warnings"
    return table(
        f"Schema: {schema.n_rows:,} rows, {len(schema.columns)} columns",
        ["column", "role", "missing", "distinct", "why", "examples"],
        rows,
        task + warnings,
    )


def plan_html(plan) -> str:
    """A preprocessing plan as a compact HTML table for a notebook."""
    rows = [[s.step, s.columns_shown(), s.action, s.reason] for s in plan.steps]
    return table(
        f"preprocessing plan (recipe {plan.recipe}): {plan.n_features} features",
        ["step", "columns", "what", "why"],
        rows,
    )


def run_html(run) -> str:
    """A saved run's facts (task, target, metric, best model, seed, rows) as HTML for a notebook."""
    manifest = run.manifest
    rows = [[key, str(manifest.get(key, ""))] for key in ("task", "target", "metric", "best", "seed")]
    rows.append(["rows", manifest.get("data", {}).get("rows", "")])
    rows.append(["trained on", ", ".join(manifest.get("trained_on", {}).get("sets", []))])
    return table(f"run {run.path}", ["", ""], rows)


# --- progress in a notebook ---------------------------------------------------------------


def in_notebook() -> bool:
    """True inside a Jupyter kernel. Nothing is imported to find out: a kernel has IPython loaded already."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


class NotebookProgress:
    """A progress bar drawn as one HTML output of the cell and redrawn in place (no widgets, no stream of lines).

    ``update`` redraws at most every ``every`` seconds; ``close`` draws the final state.
    """

    def __init__(self, title: str, every: float = 0.25) -> None:
        from IPython.display import HTML, display

        _quiet_tqdm()
        self._html, self._every = HTML, every
        self.title, self.stage, self.done = title, "", 0
        self.total: int | None = None
        self._started = time.monotonic()
        self._drawn = 0.0
        self._handle = display(HTML(self.render()), display_id=True)

    def update(self, stage: str | None = None, done: int | None = None, total: int | None = None) -> None:
        self.stage = self.stage if stage is None else stage
        self.done = self.done if done is None else done
        self.total = self.total if total is None else total
        if time.monotonic() - self._drawn >= self._every:
            self._draw()

    def advance(self, stage: str | None = None) -> None:
        """One more done; work found on the way (tuned models, the ensemble) raises the total with it."""
        self.update(stage, self.done + 1, max(self.total or 0, self.done + 1))

    def close(self, stage: str = "done") -> None:
        self.stage = stage
        self._draw()

    def _draw(self) -> None:
        self._drawn = time.monotonic()
        if self._handle is not None:
            self._handle.update(self._html(self.render()))

    def render(self) -> str:
        share = min(self.done / self.total, 1.0) if self.total else 0.0
        count = f"{self.done:,}/{self.total:,}" if self.total else f"{self.done:,}"
        seconds = time.monotonic() - self._started
        return (
            f'<div class="trainyard-progress" style="font-size:.9em">'
            f'<span style="font-weight:600">{escape(self.title)}</span> {escape(self.stage)} '
            f'<progress value="{share:.3f}" max="1" style="width:16em;vertical-align:middle"></progress> '
            f"{count} · {seconds:.0f} s</div>"
        )


def _quiet_tqdm() -> None:
    """Libraries trainyard calls (Optuna, sentence-transformers) import ``tqdm.auto``, which warns in a notebook
    without ipywidgets. trainyard draws its own bar there, so the warning is only noise: import it quietly once."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import tqdm.auto  # noqa: F401
        except ImportError:
            pass
