"""The ``borderabm`` command line: run, validate and list scenarios, and draw the world.

Bad input (a scenario, an override, an output path) is reported on stderr as ``error: ...`` lines
naming the file and key, with exit code 2 and no traceback.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from borderabm import __version__
from borderabm.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_override,
    resolve_relative,
    resolve_scenario_path,
    resolve_shipped_file,
    shipped_scenarios_dir,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="borderabm: what-if simulations of border policy on the Durand Line.",
)
stdout = Console()
stderr = Console(stderr=True, highlight=False)

EXIT_BAD_INPUT = 2


def fail(problems: list[str], source: str | None = None) -> None:
    """Print problems as ``error:`` lines and exit with code 2."""
    for problem in problems:
        prefix = f"{source}: " if source else ""
        stderr.print(f"[bold red]error:[/] {prefix}{problem}", soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def load_or_fail(scenario: str, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario, turning a ScenarioError into a clean exit."""
    try:
        return load_scenario(resolve_scenario_path(scenario), overrides)
    except ScenarioError as error:
        fail(error.problems, error.source)
        raise  # unreachable: fail() exits


def parse_overrides(items: list[str], days: int | None, seed: int | None) -> dict[str, Any]:
    """``--set`` items plus ``--days``/``--seed`` as one dotted-key mapping."""
    overrides: dict[str, Any] = {}
    try:
        for item in items:
            key, value = parse_override(item)
            overrides[key] = value
    except ScenarioError as error:
        fail(error.problems, error.source)
    if days is not None:
        overrides["horizon_days"] = days
    if seed is not None:
        overrides["seed"] = seed
    return overrides


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


@app.command()
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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write timeseries.parquet and summary.json here.")
    ] = None,
) -> None:
    """Run one scenario and print its summary."""
    from borderabm.runner import prepare_output_dir, run_scenario, write_outputs

    settings = load_or_fail(scenario, parse_overrides(set_ or [], days, seed))
    if out is not None:
        try:
            prepare_output_dir(out)
        except OSError as error:
            fail([f"cannot write output directory: {error.strerror or error}"], str(out))
    result = run_scenario(settings)
    if as_json:
        sys.stdout.write(json.dumps(result.record()) + "\n")
    else:
        _print_summary(result.record())
    if out is not None:
        try:
            written = write_outputs(result, out)
        except OSError as error:
            # The summary is already printed above, so nothing computed is lost.
            fail([f"cannot write outputs: {error.strerror or error}"], str(out))
        if not as_json:
            stderr.print("wrote " + ", ".join(str(p) for p in written))


def _print_summary(record: dict) -> None:
    table = Table(title=f"{record['scenario']} — seed {record['seed']}, {record['days']} days")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in record["summary"].items():
        table.add_row(name, f"{value:,.2f}" if isinstance(value, float) else str(value))
    stdout.print(table)


@app.command()
def compare(
    scenario_files: Annotated[
        list[str] | None, typer.Argument(help="Two or more scenarios; the first is the reference.")
    ] = None,
    replicates: Annotated[int, typer.Option(min=1, max=10_000, help="Runs per scenario.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of replicate 1 (k-th uses seed + k - 1).")] = 1,
    days: Annotated[int | None, typer.Option(help="Days to simulate (overrides horizons).")] = None,
    sweep_dir: Annotated[
        Path | None,
        typer.Option("--sweep", help="Compare the runs of an existing sweep instead of running."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Results directory (default: results/compare-...).")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=1024, help="Local workers.")] = None,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address, or 'local'.")] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write an HTML + Markdown report with charts here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Compare scenarios on common seeds: means, 95% intervals, paired differences vs the first."""
    from borderabm.compare import compare_table
    from borderabm.experiments.engines import default_workers
    from borderabm.experiments.runner import run_sweep
    from borderabm.experiments.store import ResultsStore, StoreError
    from borderabm.experiments.sweep import comparison_sweep

    if sweep_dir is not None:
        store = ResultsStore(sweep_dir)
        if store.manifest() is None:
            fail([f"{sweep_dir}: not a results directory (no manifest.json)"])
        runs = store.runs()
        if runs.empty:
            fail([f"{sweep_dir}: no finished runs yet"])
        if runs["point"].nunique() > 1:
            runs["scenario"] = runs["scenario"] + "@" + runs["point"].astype(str)
        order = list(dict.fromkeys(runs["scenario"]))
        replicates = int(runs.groupby("scenario").size().min())
    else:
        names = scenario_files or []
        if len(names) < 2:
            fail(["compare needs at least two scenarios (or --sweep DIR)"])
        paths = [resolve_scenario_path(name) for name in names]
        try:
            loaded = comparison_sweep(paths, replicates, seed, days)
        except ScenarioError as error:
            fail(error.problems, error.source)
        store = ResultsStore(out or Path("results") / loaded.spec.name)
        try:
            run_sweep(loaded, store, workers=workers or default_workers(), dask=dask)
        except StoreError as error:
            fail([str(error)])
        runs = store.runs()
        order = list(loaded.scenario_files)
    runs = runs.set_index("scenario").loc[order].reset_index()
    table = compare_table(runs)
    if as_json:
        sys.stdout.write(table.to_json(orient="records") + "\n")
    else:
        _print_comparison(table, replicates)
    if report is not None:
        from borderabm.experiments.report import write_report

        series = store.series()
        if series.empty:
            fail([f"{store.root}: no daily series stored (sweep with series = false)"])
        series = series.merge(runs[["run_id", "scenario"]], on="run_id")
        sectors = [c.split(".", 1)[1] for c in series.columns
                   if c.startswith("militant_crossings.")]  # fmt: skip
        title = "Comparison: " + " vs ".join(order)
        written = write_report(table, runs, series, sectors, report, title, replicates)
        stderr.print(f"wrote {written[0]} (and report.md, charts)")


def _print_comparison(table, replicates: int) -> None:
    names = list(dict.fromkeys(table["scenario"]))
    out = Table(
        title=f"{' vs '.join(names)} — {replicates} replicates on common seeds "
        f"(mean [95% interval]; Δ = paired difference vs {names[0]}, * = clear)"
    )
    out.add_column("metric")
    for name in names:
        out.add_column(name, justify="right")
    for metric in dict.fromkeys(table["metric"]):
        cells = []
        for name in names:
            row = table[(table["scenario"] == name) & (table["metric"] == metric)].iloc[0]
            text = f"{_short(row['mean'])} [{_short(row['low'])} – {_short(row['high'])}]"
            if name != names[0]:
                mark = "*" if row["clear"] else ""
                text += f"\nΔ {_short(row['diff'], signed=True)}{mark}"
            cells.append(text)
        out.add_row(metric, *cells)
    # Four scenarios need room: use at least 150 columns even when output goes to a log.
    Console(width=max(stdout.width, 150)).print(out)


def _short(value: float, signed: bool = False) -> str:
    from borderabm.compare import short_number

    return short_number(value, signed)


@app.command()
def sweep(
    sweep_file: Annotated[
        Path, typer.Argument(help="Sweep TOML file, or the name of a shipped sweep.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Results directory (default: results/<sweep name>).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=1024, help="Local worker processes (default: cores).")
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:8786), or 'local' for a LocalCluster."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip finished runs (also the default when re-run).")
    ] = True,
) -> None:
    """Run a parameter sweep into a crash-safe results store; re-running resumes it."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from borderabm.experiments.engines import default_workers
    from borderabm.experiments.runner import run_sweep, summarise
    from borderabm.experiments.store import ResultsStore, StoreError
    from borderabm.experiments.sweep import load_sweep

    try:
        loaded = load_sweep(resolve_shipped_file(sweep_file, "sweeps"), resolve_relative)
    except ScenarioError as error:
        fail(error.problems, error.source)
    store = ResultsStore(out or Path("results") / loaded.spec.name)
    done_before = len(store.done() & {r.run_id for r in loaded.runs})
    workers = workers or default_workers()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]:.2f} runs/s"), TimeElapsedColumn(),
               TimeRemainingColumn())  # fmt: skip
    started = time.perf_counter()
    with Progress(*columns, console=stderr) as progress:
        task = progress.add_task(loaded.spec.name, total=len(loaded.runs), completed=done_before,
                                 rate=0.0)  # fmt: skip
        counter = {"n": 0}

        def on_done(result: dict) -> None:
            counter["n"] += 1
            rate = counter["n"] / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=1, rate=rate)

        try:
            executed = run_sweep(loaded, store, workers=workers, dask=dask, on_done=on_done)
        except StoreError as error:
            fail([str(error)])
    stderr.print(f"{executed} runs executed, {done_before} already done; results in {store.root}")
    _print_results(summarise(store.runs(), loaded.spec.metrics), loaded.spec.name)


@app.command()
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
    workers: Annotated[int | None, typer.Option(min=1, max=1024, help="Local workers.")] = None,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address, or 'local'.")] = None,
) -> None:
    """Morris screening or Sobol indices (SALib): run the sweep, then a table and a bar chart."""
    from borderabm.experiments import sensitivity as analysis
    from borderabm.experiments.store import StoreError

    try:
        analysis.command(resolve_shipped_file(sweep_file, "sweeps"), out, metric or [], workers,
                         dask, stdout)  # fmt: skip
    except ScenarioError as error:
        fail(error.problems, error.source)
    except (ValueError, StoreError) as error:
        fail([str(error)], str(sweep_file))


@app.command()
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
    from borderabm.experiments.discovery import DiscoveryError, command

    try:
        command(sweep_dir, metric, threshold, below=below, scenario=scenario,
                relative_to=relative_to, unit=cases, out=out, console=stdout, max_boxes=boxes,
                min_coverage=min_coverage, min_density=min_density, peel_alpha=peel_alpha,
                paste_alpha=paste_alpha, paste=paste, min_mass=min_mass, objective=objective,
                max_quasi_p=max_quasi_p)  # fmt: skip
    except DiscoveryError as error:
        fail([str(error)], error.source or str(sweep_dir))


@app.command()
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
    workers: Annotated[int | None, typer.Option(min=1, max=1024, help="Local workers.")] = None,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address, or 'local'.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Report and results directory (default: results/calibration-<name>)."),
    ] = None,
) -> None:
    """Fit uncertain parameters to published figures (ABC + surrogate); report and fitted TOML."""
    from borderabm.experiments import calibration
    from borderabm.experiments.store import StoreError

    try:
        spec = resolve_shipped_file(spec_file, "calibration")
        calibration.command(spec, out, samples, replicates, workers, dask, stdout, stderr,
                            resolve_scenario=resolve_relative)  # fmt: skip
    except ScenarioError as error:
        fail(error.problems, error.source)
    except StoreError as error:
        fail([str(error)], str(out) if out else None)
    except calibration.CalibrationError as error:
        fail([str(error)], error.source or str(spec_file))


@app.command()
def results(
    results_dir: Annotated[Path, typer.Argument(help="A results directory written by sweep.")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Metrics to show (default: headline).")
    ] = None,
    csv: Annotated[Path | None, typer.Option(help="Also write the summary as CSV.")] = None,
) -> None:
    """Summarise a sweep: mean and 95% interval per scenario and design point."""
    from borderabm.experiments.runner import summarise
    from borderabm.experiments.store import ResultsStore

    store = ResultsStore(results_dir)
    manifest = store.manifest()
    if manifest is None:
        fail([f"{results_dir}: not a results directory (no manifest.json)"])
    table = summarise(store.runs(), metric or ())
    if table.empty:
        fail([f"{results_dir}: no finished runs yet"])
    _print_results(table, manifest["sweep"]["name"])
    if csv is not None:
        table.to_csv(csv, index=False)
        stderr.print(f"wrote {csv}")


def _print_results(table, title: str) -> None:
    if table.empty:
        return
    metrics = [c[: -len("_low")] for c in table.columns if c.endswith("_low")]
    fixed = {"scenario", "point", "replicates", *metrics}
    parameters = [c for c in table.columns if c not in fixed and not c.endswith(("_low", "_high"))]
    out = Table(title=f"{title}: mean [95% interval] per design point")
    for column in ("scenario", "point", *parameters, "n", *metrics):
        out.add_column(column, justify="left" if column == "scenario" else "right")
    for _, row in table.iterrows():
        cells = [str(row["scenario"]), str(row["point"])]
        cells += [f"{row[p]:.4g}" if isinstance(row[p], float) else str(row[p]) for p in parameters]
        cells.append(str(row["replicates"]))
        cells += [f"{_short(row[m])} [{_short(row[m + '_low'])} – {_short(row[m + '_high'])}]"
                  for m in metrics]  # fmt: skip
        out.add_row(*cells)
    Console(width=max(stdout.width, 160)).print(out)


@app.command()
def scenarios() -> None:
    """List the shipped scenarios with their descriptions."""
    folder = shipped_scenarios_dir()
    files = sorted(folder.glob("*.toml"))
    if not files:
        fail([f"no scenario files found in {folder}"])
    table = Table(title=f"Scenarios in {folder}")
    table.add_column("name")
    table.add_column("days", justify="right")
    table.add_column("description")
    for path in files:
        try:
            settings = load_scenario(path)
        except ScenarioError as error:
            table.add_row(path.stem, "", f"[red]invalid: {error.problems[0]}[/]")
            continue
        table.add_row(path.stem, str(settings.horizon_days), settings.description)
    stdout.print(table)


@app.command()
def validate(
    files: Annotated[list[str], typer.Argument(help="Scenario files (or shipped names).")],
) -> None:
    """Check scenario files without running them."""
    bad = 0
    for name in files:
        path = resolve_scenario_path(name)
        try:
            settings = load_scenario(path)
        except ScenarioError as error:
            bad += 1
            for problem in error.problems:
                stderr.print(f"[bold red]error:[/] {error.source}: {problem}", soft_wrap=True)
            continue
        stdout.print(f"ok: {path} ({settings.name}, {settings.horizon_days} days)")
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("validate-model")
def validate_model(
    replicates: Annotated[int, typer.Option(help="Paired replicates per fact (>= 5).")] = 20,
    days: Annotated[
        int | None, typer.Option(help="Horizon of every fact (default: each fact's own).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=1024, help="Local worker processes (default: cores).")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this fact id (repeatable).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for validation.md/.html.")] = Path(
        "out/validation"
    ),
    seed: Annotated[int, typer.Option(help="Seed of replicate 1 (k-th uses seed + k - 1).")] = 1,
    store: Annotated[
        Path | None, typer.Option(help="Keep the runs here and reuse them (default: temporary).")
    ] = None,
) -> None:
    """Check the model against stylized facts on paired replicates; exit 1 if any fact fails."""
    from borderabm.experiments.engines import default_workers
    from borderabm.validation.command import ValidationInputError, command

    workers = workers or default_workers()
    try:
        code = command(replicates=replicates, days=days, workers=workers, only=only, out=out,
                       seed=seed, store=store, scenarios=shipped_scenarios_dir(),
                       stdout=stdout, stderr=stderr)  # fmt: skip
    except ValidationInputError as error:
        fail(error.problems, error.source)
    except ScenarioError as error:
        fail(error.problems, error.source)
    raise typer.Exit(code)


@app.command("map")
def draw_map(
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("world.png"),
    resolution: Annotated[
        float, typer.Option(min=2.0, max=20.0, help="Cell size in km (2-20).")
    ] = 5.0,
) -> None:
    """Draw the world (terrain, border, sectors, crossings, towns, roads) to a PNG."""
    from borderabm.geography import build_world
    from borderabm.viz.worldmap import draw_world

    world = build_world(resolution)
    try:
        draw_world(world, out)
    except OSError as error:
        fail([f"cannot write map: {error.strerror or error}"], str(out))
    stdout.print(
        f"wrote {out}: {world.grid.width} x {world.grid.height} cells of {resolution:g} km; "
        f"border {world.border_length_km:,.1f} km on the grid "
        f"(Natural Earth geodesic {world.border_geodesic_km:,.1f} km; "
        f"cited 2,611-2,640 km)"
    )


@app.command()
def ui(
    host: Annotated[
        str, typer.Option(help="Address to bind; expose beyond this machine deliberately.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
) -> None:
    """Start the browser UI (Solara), offline, and print its URL."""
    import subprocess

    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    command = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "borderabm.ui.app",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
    ]
    stdout.print(f"borderabm UI: http://{host}:{port}/  (Ctrl-C to stop)")
    try:
        raise typer.Exit(subprocess.call(command, env=env))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


if __name__ == "__main__":  # pragma: no cover
    app()
