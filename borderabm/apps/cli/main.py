"""The ``borderabm`` command line: the app and its commands, in the order ``--help`` lists them.

Each command lives in the module of its group and is a thin shell: it parses its options, calls a
service (:mod:`borderabm.experiments`, :mod:`borderabm.analysis`), builds the output with
:mod:`borderabm.report` and prints it. What they share (the app, bad-input lines, the consoles,
path options) is in :mod:`borderabm.apps.cli.common`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from borderabm import __version__
from borderabm.apps.cli import (
    browser,
    compare,
    hindcast,
    run,
    scenarios,
    studies,
    sweep,
    world_map,
)
from borderabm.apps.cli.common import app, stdout

__all__ = ["app"]


def _version_callback(value: bool) -> None:
    if value:
        stdout.print(f"borderabm {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """borderabm: what-if simulations of border policy on the Durand Line."""


app.command()(run.run)
app.command()(compare.compare)
app.command()(sweep.sweep)
app.command()(studies.sensitivity)
app.command()(studies.discover)
app.command()(studies.calibrate)
app.command()(sweep.results)
app.command()(scenarios.scenarios)
app.command()(scenarios.validate)
app.command("validate-model")(studies.validate_model)
app.command()(hindcast.hindcast)
app.command("map")(world_map.draw_map)
app.command()(browser.ui)


if __name__ == "__main__":  # pragma: no cover
    app()
