"""Render a run summary with autoescaped Jinja2 templates: report.html (self-contained) and report.md."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from trainyard.io import atomic_path
from trainyard.tabular.report.summary import summarise
from trainyard.tabular.runs.store import Run


def _number(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    return str(value)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("trainyard.tabular", "report/templates"),
        autoescape=select_autoescape(["html", "html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _number
    env.filters["pct"] = lambda v: "" if v is None else f"{v:.1%}"
    return env


def write_report(
    run: Run | Path | str,
    out: Path | str | None = None,
    *,
    trust_types: tuple[str, ...] = (),
    deadline: float | None = None,
) -> tuple[Path, Path]:
    """Write ``report.html`` (or ``out``) and ``report.md`` beside it; return both paths. ``run``: a loaded
    ``Run`` (not read again) or its folder. ``trust_types``: as for ``load_run``; ``deadline``: as for
    ``summarise``."""
    summary = summarise(run, trust_types=trust_types, deadline=deadline)
    folder = run.path if isinstance(run, Run) else Path(run)
    html_path = Path(out) if out else folder / "report.html"
    md_path = html_path.with_suffix(".md")
    env = _environment()
    with atomic_path(html_path) as tmp:
        tmp.write_text(env.get_template("report.html.j2").render(**summary), encoding="utf-8")
    with atomic_path(md_path) as tmp:
        tmp.write_text(env.get_template("report.md.j2").render(**summary), encoding="utf-8")
    return html_path, md_path
