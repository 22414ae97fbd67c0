"""The study commands: ``sensitivity``, ``discover``, ``calibrate`` and ``validate-model``.

Each parses its options and calls its ``..._and_report`` service in its own module
(:mod:`~borderabm.apps.cli.sensitivity`, :mod:`~borderabm.apps.cli.discover`,
:mod:`~borderabm.apps.cli.calibrate`, :mod:`~borderabm.apps.cli.validate`), imported when the
command runs: the analysis stack is slow to import, and ``borderabm --help`` should not wait.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from borderabm.apps.cli.common import (
    DaskOption,
    WorkersOption,
    fail,
    input_path,
    reason,
    refuse_package_data,
    stderr,
    stdout,
)
from borderabm.scenario import ScenarioError, shipped_scenarios_dir


def sensitivity(
    sweep_file: Annotated[
        Path,
        typer.Argument(
            help="Sweep TOML file (or a shipped sweep's name) with a morris or sobol design."
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Results directory (default: results/<sweep name>).")
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="Metrics to analyse (default: the sweep's)."),
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
) -> None:
    """Morris screening or Sobol indices (SALib): run the sweep, then a table and a bar chart."""
    from borderabm.apps.cli.sensitivity import analyse_sensitivity_and_report
    from borderabm.experiments.store import StoreError

    path = input_path(sweep_file, "sweeps")
    refuse_package_data(out)
    try:
        analyse_sensitivity_and_report(path, out, metric or [], workers, dask, stdout, stderr)
    except ScenarioError as error:
        fail(error.problems, error.source)
    except StoreError as error:  # names its file
        fail([str(error)])
    except ValueError as error:  # some messages name the file already
        fail([str(error).removeprefix(f"{path}: ")], str(path))
    except OSError as error:  # run_sweep lets through only a scheduler it cannot reach
        fail([f"cannot use the Dask scheduler: {reason(error)}"], f"--dask {dask}")


def discover(
    sweep_dir: Annotated[Path, typer.Argument(help="A results directory written by sweep.")],
    metric: Annotated[str, typer.Option(help="Summary metric that defines the outcome.")],
    threshold: Annotated[
        float, typer.Option(help="Cases of interest: outcome > threshold (<= with --below).")
    ],
    below: Annotated[
        bool, typer.Option("--below", help="Look for outcome <= threshold instead.")
    ] = False,
    scenario: Annotated[
        str | None, typer.Option(help="Use this scenario's runs (needed if the store has several).")
    ] = None,
    relative_to: Annotated[
        str | None,
        typer.Option(help="Outcome = scenario - this reference, paired by design point and seed."),
    ] = None,
    cases: Annotated[
        str, typer.Option(help="One case per design point (mean over replicates) or per run.")
    ] = "point",
    boxes: Annotated[int, typer.Option(min=1, max=10, help="Boxes to find (covering).")] = 1,
    min_coverage: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Choose the densest box with this coverage.")
    ] = 0.5,
    min_density: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Choose the widest box with this density instead."),
    ] = None,
    peel_alpha: Annotated[float, typer.Option(help="Share of cases cut per peel.")] = 0.05,
    paste_alpha: Annotated[float, typer.Option(help="Share of cases added per paste.")] = 0.05,
    paste: Annotated[bool, typer.Option(help="Paste after choosing a box.")] = True,
    min_mass: Annotated[float, typer.Option(help="Smallest box, as a share of cases.")] = 0.05,
    objective: Annotated[
        str, typer.Option(help="Peeling objective: original, lenient1 or lenient2.")
    ] = "original",
    max_quasi_p: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Open box limits less significant than this.")
    ] = 0.05,
    out: Annotated[
        Path | None, typer.Option(help="Write boxes.csv, trajectory.csv/.png, discovery.md here.")
    ] = None,
) -> None:
    """Scenario discovery (PRIM): which parameter ranges lead to an outcome, and how surely."""
    from borderabm.analysis.discovery import DiscoveryError
    from borderabm.apps.cli.discover import discover_and_report

    try:
        discover_and_report(sweep_dir, metric, threshold, below=below, scenario=scenario,
                            relative_to=relative_to, unit=cases, out=out, console=stdout,
                            max_boxes=boxes, min_coverage=min_coverage, min_density=min_density,
                            peel_alpha=peel_alpha, paste_alpha=paste_alpha, paste=paste,
                            min_mass=min_mass, objective=objective,
                            max_quasi_p=max_quasi_p)  # fmt: skip
    except DiscoveryError as error:
        fail([str(error)], error.source or str(sweep_dir))


def calibrate(
    spec_file: Annotated[
        Path, typer.Argument(help="Calibration spec TOML file, or the name of a shipped spec.")
    ],
    samples: Annotated[
        int | None,
        typer.Option(min=4, max=1_000_000, help="Latin hypercube points (default: the spec's)."),
    ] = None,
    replicates: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Replicates per point (default: spec's).")
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Report and results directory (default: results/calibration-<name>)."),
    ] = None,
) -> None:
    """Fit uncertain parameters to published figures (ABC + surrogate); report and fitted TOML."""
    from borderabm.analysis.calibration.spec import CalibrationError
    from borderabm.apps.cli.calibrate import calibrate_and_report
    from borderabm.experiments.store import StoreError

    try:
        spec = input_path(spec_file, "calibration")
        refuse_package_data(out)
        calibrate_and_report(spec, out, samples, replicates, workers, dask, stdout, stderr)
    except ScenarioError as error:
        fail(error.problems, error.source)
    except StoreError as error:
        fail([str(error)])
    except CalibrationError as error:
        fail([str(error)], error.source or str(spec_file))


def validate_model(
    replicates: Annotated[int, typer.Option(help="Paired replicates per fact (>= 5).")] = 20,
    days: Annotated[
        int | None, typer.Option(help="Horizon of every fact (default: each fact's own).")
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this fact id (repeatable).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for validation.md/.html.")] = Path(
        "out/validation"
    ),
    seed: Annotated[
        int,
        typer.Option(min=0, max=2**62, help="Seed of replicate 1 (k-th uses seed + k - 1)."),
    ] = 1,
    store: Annotated[
        Path | None, typer.Option(help="Keep the runs here and reuse them (default: temporary).")
    ] = None,
    hindcast: Annotated[
        Path | None,
        typer.Option(help="A hindcast's hindcast.csv: its held-out years join the report."),
    ] = None,
) -> None:
    """Check the model against stylized facts on paired replicates; exit 1 if any fact fails."""
    from borderabm.apps.cli.validate import ValidationInputError, validate_and_report

    try:
        code = validate_and_report(replicates=replicates, days=days, workers=workers, only=only, out=out,
                       seed=seed, store=store, scenarios=shipped_scenarios_dir(),
                       stdout=stdout, stderr=stderr, dask=dask, hindcast=hindcast)  # fmt: skip
    except ValidationInputError as error:
        fail(error.problems, error.source or "borderabm validate-model")
    except ScenarioError as error:
        fail(error.problems, error.source)
    raise typer.Exit(code)
