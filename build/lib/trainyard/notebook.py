"""HTML for Jupyter: what a Schema, a plan and a run show in a notebook, and the table the wings build on.

Compact tables with inline styles only (no external assets, no script). Colours are inherited and
rules are a half-transparent grey, so the same HTML reads in light and dark themes. The classes
call these from their ``_repr_html_``; nothing here is imported until a notebook asks.
"""

from __future__ import annotations

import math
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
    rows = [[s.step, s.columns_shown(), s.action, s.reason] for s in plan.steps]
    return table(
        f"preprocessing plan (recipe {plan.recipe}): {plan.n_features} features",
        ["step", "columns", "what", "why"],
        rows,
    )


def run_html(run) -> str:
    manifest = run.manifest
    rows = [[key, str(manifest.get(key, ""))] for key in ("task", "target", "metric", "best", "seed")]
    rows.append(["rows", manifest.get("data", {}).get("rows", "")])
    rows.append(["trained on", ", ".join(manifest.get("trained_on", {}).get("sets", []))])
    return table(f"run {run.path}", ["", ""], rows)
