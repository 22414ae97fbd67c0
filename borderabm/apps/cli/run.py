"""``borderabm run``: run one scenario, print its summary, write its outputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from borderabm.apps.cli.common import (
    dump_json,
    fail,
    load_or_fail,
    parse_overrides,
    prepare_output,
    reason,
    stderr,
    stdout,
)


def run(
    scenario: Annotated[str, typer.Argument(help="Scenario TOML file, or a shipped name.")],
    days: Annotated[int | None, typer.Option(help="Days to simulate (overrides horizon).")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (overrides the scenario's).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a field: dotted.key=value (TOML literal)."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one strict JSON object (NaN and infinities as null)."),
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write timeseries.parquet and summary.json here.")
    ] = None,
) -> None:
    """Run one scenario and print its summary."""
    from borderabm.experiments.run import run_one, write_outputs
    from borderabm.report.tables import summary_table

    settings = load_or_fail(scenario, parse_overrides(set_ or [], days, seed))
    if out is not None:
        prepare_output(out)
    result = run_one(settings)
    if as_json:
        sys.stdout.write(dump_json(result.record()) + "\n")
    else:
        stdout.print(summary_table(result.record()))
    if out is not None:
        try:
            written = write_outputs(result, out)
        except (OSError, ValueError) as error:
            # The summary is already printed above, so nothing computed is lost.
            fail([f"cannot write outputs: {reason(error)}"], str(out))
        if not as_json:
            stderr.print("wrote " + ", ".join(str(p) for p in written), soft_wrap=True)
