"""Reports a park manager can hand on: one self-contained HTML file, or an Excel workbook."""

from symbiolink.report.build import ReportData, collect, park_subset
from symbiolink.report.writers import render_html, write_html, write_report, write_xlsx

__all__ = [
    "ReportData",
    "collect",
    "park_subset",
    "render_html",
    "write_html",
    "write_report",
    "write_xlsx",
]
