"""The run report: one self-contained HTML page (and report.md) per run."""

from trainyard.tabular.report.render import write_report
from trainyard.tabular.report.summary import summarise

__all__ = ["summarise", "write_report"]
