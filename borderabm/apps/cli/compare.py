"""``borderabm compare``: run scenarios on common seeds (or open a sweep), print and report them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from borderabm.apps.cli.common import (
    DaskOption,
    WorkersOption,
    dump_json,
    fail,
    prepare_output,
    print_notes,
    print_wide,
    reason,
    refuse_package_data,
    scenario_path,
    stderr,
    store_problems_as_bad_input,
)
from borderabm.scenario import ScenarioError

if TYPE_CHECKING:
    import pandas as pd

    from borderabm.analysis.compare import Comparison
    from borderabm.experiments.store import ResultsStore
    from borderabm.experiments.sweep import Sweep
    from borderabm.experiments.uncertainty import Draws


def compare(
    context: typer.Context,
    scenario_files: Annotated[
        list[str] | None, typer.Argument(help="Two or more scenarios; the first is the reference.")
    ] = None,
    replicates: Annotated[int, typer.Option(min=1, max=10_000, help="Runs per scenario.")] = 5,
    seed: Annotated[
        int,
        typer.Option(min=0, max=2**62, help="Seed of replicate 1 (k-th uses seed + k - 1)."),
    ] = 1,
    days: Annotated[
        int | None, typer.Option(min=1, max=36_500, help="Days to simulate (overrides horizons).")
    ] = None,
    sweep_dir: Annotated[
        Path | None,
        typer.Option("--sweep", help="Compare the runs of an existing sweep instead of running."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Results directory (default: results/compare-...).")
    ] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    report: Annotated[
        Path | None, typer.Option(help="Write an HTML + Markdown report with charts here.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the table as strict JSON (NaN as null).")
    ] = False,
    uncertainty: Annotated[
        Path | None,
        typer.Option(
            help="Compare across plausible worlds: a posterior CSV (e.g. "
            "docs/calibration/posterior.csv) or a calibration spec / sweep file whose "
            "[parameters] give ranges."
        ),
    ] = None,
    draws: Annotated[
        int, typer.Option(min=1, max=10_000, help="Parameter draws (worlds) from --uncertainty.")
    ] = 50,
    variants: Annotated[
        list[str] | None,
        typer.Option(
            "--variant",
            help="Lever variants of ONE scenario (2-4; the first is the reference): "
            "'fence.coverage=0.5 patrols.units=400' (--set items separated by spaces); '' is the "
            "file as written.",
        ),
    ] = None,
) -> None:
    """Compare scenarios on common seeds: means, 95% intervals, paired differences vs the first.

    With --uncertainty, every scenario runs on the same parameter draws x the same seeds, and the
    table says in what share of plausible worlds each policy beats the first, its regret and
    where the ranking flips.

    With --variant (2-4 times), ONE scenario runs under each variant of its levers on the same
    seeds: ``compare baseline --variant "" --variant "fence.coverage=1.0"``; nothing is written to
    the scenario folders. With --uncertainty as well, the variants are compared across worlds.
    """
    from borderabm.analysis.compare import load_comparison
    from borderabm.analysis.results import check_metrics_stored
    from borderabm.report.tables import COMPARISON_WIDTH, comparison_table

    if report is not None:  # a folder that cannot be written is an error line before any run
        prepare_output(report)
    if sweep_dir is not None and variants is None:  # (variants name --sweep themselves)
        _refuse_run_options_with_sweep(scenario_files or [], context)
    store = _store_to_compare(scenario_files or [], variants, sweep_dir, uncertainty, draws,
                              replicates, seed, days, out, workers, dask)  # fmt: skip
    if _is_robust(store):
        _robust(store, report, as_json)
        return
    with store_problems_as_bad_input():  # no manifest, a damaged file, no finished runs
        comparison = load_comparison(store)
        check_metrics_stored(comparison)
    table = comparison.table()
    if as_json:
        sys.stdout.write(dump_json(table.to_dict(orient="records")) + "\n")
    else:
        print_wide(comparison_table(table, comparison.replicates), COMPARISON_WIDTH)
    if report is not None:
        _write_report(comparison, table, report)


def _store_to_compare(names: list[str], variants: list[str] | None, sweep_dir: Path | None,
                      uncertainty: Path | None, draws: int, replicates: int, seed: int,
                      days: int | None, out: Path | None, workers: int | None,
                      dask: str | None) -> ResultsStore:  # fmt: skip
    """The results store to compare: lever variants run, a sweep opened, or scenarios run."""
    from borderabm.experiments.store import ResultsStore

    if variants is not None:
        return _run_variants(names, variants, replicates, seed, days, out, workers, dask,
                             sweep_dir, _load_draws(uncertainty, draws, seed))  # fmt: skip
    if sweep_dir is not None:
        return ResultsStore(sweep_dir)
    return _run_comparison(names, replicates, seed, days, out, workers, dask,
                           _load_draws(uncertainty, draws, seed))  # fmt: skip


# What makes runs: with --sweep the stored runs are compared as they are, so these would be ignored.
RUN_OPTIONS = ("replicates", "seed", "days", "out", "workers", "dask", "uncertainty", "draws")


def _refuse_run_options_with_sweep(names: list[str], context: typer.Context) -> None:
    """Refuse scenarios and run options given with ``--sweep`` (they would be silently ignored)."""
    given = ["--" + name for name in RUN_OPTIONS
             if getattr(context.get_parameter_source(name), "name", "") == "COMMANDLINE"]  # fmt: skip
    if names:
        given.insert(0, "SCENARIO_FILES")
    if given:
        fail([f"{', '.join(given)}: not used with --sweep, which compares the stored runs as they "
              "are (allowed: --sweep DIR with --report and --json)"], "borderabm compare")  # fmt: skip


def _load_draws(path: Path | None, draws: int, seed: int) -> Draws | None:
    """The parameter draws of a robust comparison (None without ``--uncertainty``)."""
    from borderabm.experiments.uncertainty import load_draws

    if path is None:
        return None
    try:
        return load_draws(path, draws, seed)
    except ScenarioError as error:
        fail(error.problems, error.source)


def _is_robust(store: ResultsStore) -> bool:
    """Whether the store holds a comparison over parameter draws."""
    with store_problems_as_bad_input():
        manifest = store.read_manifest()
    return manifest is not None and manifest.design is not None and manifest.design.kind == "draws"


def _robust(store: ResultsStore, report: Path | None, as_json: bool) -> None:
    """Print (and report) the comparison across plausible worlds."""
    from borderabm.analysis.robust import load_robust
    from borderabm.report.robust import ROBUST_WIDTH, robust_terminal_table, write_robust_report

    with store_problems_as_bad_input():
        robust = load_robust(store)
    if as_json:
        record = {"worlds": robust.worlds, "seeds": robust.seeds, "source": robust.source,
                  "parameters": robust.parameters,
                  "table": robust.table.to_dict(orient="records"),
                  "flips": robust.flips.to_dict(orient="records")}  # fmt: skip
        sys.stdout.write(dump_json(record) + "\n")
    else:
        print_wide(robust_terminal_table(robust), ROBUST_WIDTH)
    if report is not None:
        prepare_output(report)
        try:
            written = write_robust_report(robust, report)
        except (OSError, ValueError) as error:  # the table is printed above: nothing is lost
            fail([f"cannot write the report: {reason(error)}"], str(report))
        stderr.print(f"wrote {written[0]} (and robust.md, chart, CSV tables)", soft_wrap=True)


def _run_comparison(names: list[str], replicates: int, seed: int, days: int | None,
                    out: Path | None, workers: int | None, dask: str | None,
                    draws: Draws | None = None) -> ResultsStore:  # fmt: skip
    """Run the scenarios on common seeds (and draws) into a results store (resuming it)."""
    from borderabm.experiments.sweep import comparison_sweep

    if len(names) < 2:
        fail(["SCENARIO_FILES: compare needs at least two scenarios (or --sweep DIR)"],
             "borderabm compare")  # fmt: skip
    paths = [scenario_path(name) for name in names]
    try:
        loaded = comparison_sweep(paths, replicates, seed, days, draws)
    except ScenarioError as error:
        fail(error.problems, error.source)
    return _run_into_store(loaded, out, workers, dask)


def _run_variants(names: list[str], lines: list[str], replicates: int, seed: int,
                  days: int | None, out: Path | None, workers: int | None, dask: str | None,
                  sweep_dir: Path | None, draws: Draws | None) -> ResultsStore:  # fmt: skip
    """Run one scenario under each lever variant on common seeds (and draws) into a results store.

    ``sweep_dir`` is a ``--sweep`` given as well: refused.
    """
    from borderabm.experiments.sweep import parse_variant, variant_sweep

    if sweep_dir is not None:
        fail(["--variant: runs lever variants of one scenario on common seeds (allowed: "
              "without --sweep)"], "borderabm compare")  # fmt: skip
    if len(names) != 1:
        fail([f"SCENARIO_FILES: lever variants run one scenario (got {len(names)}; allowed: one "
              "scenario and 2-4 --variant)"], "borderabm compare")  # fmt: skip
    path = scenario_path(names[0])
    try:
        parsed = [parse_variant(line, number, str(path)) for number, line in
                  enumerate(lines, start=1)]  # fmt: skip
        loaded = variant_sweep(path, parsed, replicates, seed, days, draws=draws)
    except ScenarioError as error:
        fail(error.problems, error.source)
    print_notes(loaded.notes, str(path))
    return _run_into_store(loaded, out, workers, dask)


def _write_report(comparison: Comparison, table: pd.DataFrame, folder: Path) -> None:
    """Write the comparison's HTML + Markdown report with charts (the table is printed already)."""
    from borderabm.analysis.compare import sector_names
    from borderabm.analysis.results import stored_series
    from borderabm.report.compare import write_report

    with store_problems_as_bad_input():
        series = stored_series(comparison)
    title = "Comparison: " + " vs ".join(comparison.order)
    prepare_output(folder)
    try:
        written = write_report(table, comparison.runs, series, sector_names(series),
                               folder, title, comparison.replicates)  # fmt: skip
    except (OSError, ValueError) as error:  # the table is printed above: nothing is lost
        fail([f"cannot write the report: {reason(error)}"], str(folder))
    stderr.print(f"wrote {written[0]} (and report.md, charts)", soft_wrap=True)


def _run_into_store(
    loaded: Sweep, out: Path | None, workers: int | None, dask: str | None
) -> ResultsStore:
    """Run a comparison's runs into ``out`` (default: the results folder named after it)."""
    from borderabm.experiments.engines import engine_for
    from borderabm.experiments.store import ResultsStore, default_results_dir
    from borderabm.experiments.sweep import run_sweep

    refuse_package_data(out := out or default_results_dir(loaded.spec.name))
    store = ResultsStore(out)
    with store_problems_as_bad_input(store.root, dask):
        run_sweep(loaded, store, engine=engine_for(workers, dask))
    return store
