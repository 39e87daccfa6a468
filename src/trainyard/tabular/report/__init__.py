"""The run report: one self-contained HTML page (and report.md) per run."""

from trainyard.report.render import write_report
from trainyard.report.summary import summarise

__all__ = ["summarise", "write_report"]
