"""``borderabm run``: run one scenario, print its summary, write its outputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

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

    # The options are checked as options: a bad --days is not the file's horizon_days.
    check_option("--days", days, "horizon_days")
    check_option("--seed", seed, "seed")
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


def check_option(option: str, value: int | None, field: str) -> None:
    """Refuse an option value the scenario field it overrides would refuse, naming the option.

    The words are those of ``borderabm compare --days``: pydantic's, with the field's bounds.
    """
    if value is None:
        return
    from pydantic import TypeAdapter, ValidationError

    from borderabm.scenario import Scenario
    from borderabm.scenario.errors import bounds_text, schema_at

    annotation, constraints = schema_at(Scenario, (field,))
    try:
        checked: Any = Annotated[annotation, *constraints]  # a type made at run time
        TypeAdapter(checked).validate_python(value)
    except ValidationError as error:
        message = error.errors()[0]["msg"]
        fail([f"{option}: {message} (allowed: {bounds_text(Scenario, (field,))})"], "borderabm run")
