"""Presentation: tables, charts, maps and Markdown/HTML reports made from analysis results."""
