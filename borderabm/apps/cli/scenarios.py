"""``borderabm scenarios`` and ``borderabm validate``: list the shipped scenarios, check files."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from borderabm.apps.cli.common import (
    EXIT_BAD_INPUT,
    error_line,
    fail,
    one_line,
    scenario_path,
    stdout,
)
from borderabm.scenario import ScenarioError, load_scenario, shipped_scenarios_dir


def scenarios() -> None:
    """List the shipped scenarios with their descriptions."""
    from borderabm.report.tables import scenarios_table

    folder = shipped_scenarios_dir()
    files = sorted(folder.glob("*.toml"))
    if not files:
        fail([f"no scenario files found in {folder}"])
    stdout.print(scenarios_table(folder, files))


def validate(
    files: Annotated[list[str], typer.Argument(help="Scenario files (or shipped names).")],
) -> None:
    """Check scenario files without running them."""
    bad = 0
    for name in files:
        path = scenario_path(name)
        try:
            settings = load_scenario(path)
        except ScenarioError as error:
            bad += 1
            sys.stderr.write(error_line(error.problems, error.source) + "\n")
            continue
        late = settings.events_after_end()
        note = (f"; note: {len(late)} dated event(s) after the last day, {settings.end_date}, "
                f"apply only with more --days: {', '.join(late)}") if late else ""  # fmt: skip
        stdout.print(one_line(f"ok: {path} ({settings.name}, {settings.horizon_days} days{note})"),
                     soft_wrap=True)  # fmt: skip
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)
