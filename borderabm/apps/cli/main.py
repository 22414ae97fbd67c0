"""The ``borderabm`` command line: run, validate and list scenarios, and draw the world.

Bad input (a scenario, an override, an output path, a results store, a command-line option) is
reported on stderr as one line ``error: FILE: key: what is wrong (allowed: ...)``, with exit code 2
and no traceback. User text (names, descriptions, keys) is always printed as plain text, never
read as console markup. ``--json`` output is strict JSON: a value that is not a number (NaN, an
infinity) is written as ``null``.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from borderabm import __version__

try:  # Typer >= 0.20 ships its own copy of Click; its exceptions are the ones raised
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older Typer on top of Click
    from click import exceptions as click_errors
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

EXIT_BAD_INPUT = 2


def one_line(text: str, keep_newlines: bool = False) -> str:
    r"""Text made safe for a terminal: control characters and line breaks escaped.

    The one sanitiser of user text on its way to the console. Escape sequences (``\x1b[2J``,
    ``\x1b]0;title\x07``), carriage returns and the bidirectional overrides (U+202E) would
    otherwise act on the terminal instead of being shown; they are written as ``\x1b``,
    ``\u202e`` and so on. Unicode calls all of them not printable.

    Args:
        text: Any text.
        keep_newlines: Keep ``\n`` (a table cell of two lines), escape every other control.
    """
    return "".join(
        c if c.isprintable() or c == " " or (keep_newlines and c == "\n")
        else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text
    )  # fmt: skip


class PlainConsole(Console):
    """A rich console that shows user text as text: every piece goes through :func:`one_line`.

    Sanitising where segments become output covers table titles and cells, progress
    descriptions and "wrote ..." lines alike, whoever built them. Rich's own control segments
    (cursor moves of a progress bar) and the colour codes of styles are added after this, so
    they still work.
    """

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(one_line(segment.text, keep_newlines=True),
                                                    segment.style)
            for segment in buffer
        )  # fmt: skip


def error_line(problems: Sequence[str], source: str | None = None) -> str:
    """The one ``error: SOURCE: problem[; problem...]`` line that reports bad input."""
    prefix = f"{source}: " if source else ""
    return one_line(f"error: {prefix}{'; '.join(problems)}")


class _OneLineErrors(TyperGroup):
    """The command group, reporting command-line mistakes as one ``error:`` line (exit 2).

    Click would print a usage block or a boxed panel; a script reading stderr gets one line, in
    the same form as every other bad input.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the command line; see :class:`click.Command`."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        for arg in args or ():
            if "\x00" in arg:  # only possible in-process: an operating system cannot pass one
                _exit_with(error_line(["contains a null byte"], repr(arg)))
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as error:
            sys.stdout.write(error.ctx.get_help() + "\n")
            commands = ", ".join(self.list_commands(error.ctx))
            _exit_with(error_line([f"a command is needed (allowed: {commands})"], "borderabm"))
        except click_errors.UsageError as error:
            _exit_with(_usage_error_line(error))
        except click_errors.ClickException as error:
            _exit_with(error_line([error.format_message()], "borderabm"), error.exit_code)
        except typer.Abort:
            _exit_with("Aborted!", 1)
        sys.exit(code if isinstance(code, int) else 0)


def _exit_with(line: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    sys.exit(code)


def _usage_error_line(error: click_errors.UsageError) -> str:
    """``error: --port: -1 is not in the range ...``: the option or argument, then the problem."""
    ctx = error.ctx
    # The program's own name, whatever it was started as (a test runner calls it "root").
    where = " ".join(["borderabm", *(ctx.command_path.split(" ")[1:] if ctx is not None else [])])
    message = error.message.strip().rstrip(".")
    if isinstance(error, click_errors.BadParameter) and error.param is not None:
        param = error.param
        is_option = getattr(param, "param_type_name", "") == "option" and param.opts
        name = param.opts[0] if is_option else str(param.name).upper()
        if isinstance(error, click_errors.MissingParameter):
            message = f"missing {'option' if is_option else 'argument'}"
        low, high = getattr(param, "min", None), getattr(param, "max", None)
        if low is not None or high is not None:
            bounds = [
                f">= {low}" if low is not None else "",
                f"<= {high}" if high is not None else "",
            ]
            message += f" (allowed: {' and '.join(b for b in bounds if b)})"
        return error_line([message], f"{where} {name}")
    if isinstance(error, click_errors.NoSuchOption):
        allowed = [o for p in (ctx.command.params if ctx else []) for o in p.opts if o[:2] == "--"]
        return error_line([f"no such option (allowed: {', '.join(allowed)})"],
                          f"{where} {error.option_name}")  # fmt: skip
    if ctx is not None and isinstance(ctx.command, TyperGroup) and "command" in message:
        message += f" (allowed: {', '.join(ctx.command.list_commands(ctx))})"
    return error_line([message], where)


app = typer.Typer(
    cls=_OneLineErrors,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="borderabm: what-if simulations of border policy on the Durand Line.",
)
# Markup and emoji codes are off: names and descriptions come from users' files and must print
# as written (a scenario named "[/]" is a name, not a closing tag).
stdout = PlainConsole(markup=False, emoji=False)
stderr = PlainConsole(stderr=True, highlight=False, markup=False, emoji=False)


def fail(problems: list[str], source: str | None = None) -> NoReturn:
    """Print problems as one ``error:`` line on stderr and exit with code 2."""
    sys.stderr.write(error_line(problems, source) + "\n")
    sys.stderr.flush()
    raise typer.Exit(EXIT_BAD_INPUT)


def dump_json(value: Any) -> str:
    """Strict JSON on one line: NaN and infinities as null (the model loads only when needed)."""
    from borderabm.experiments.run import dump_json as strict_dump

    return strict_dump(value)


def scenario_path(name: str) -> Path:
    """A scenario argument as a path (a file, or a shipped name); bad names are an error line."""
    if "\x00" in name:
        fail(["the file name contains a null byte"], repr(name))
    try:
        return resolve_scenario_path(name)
    except (OSError, ValueError) as error:
        fail([f"cannot use this path: {_reason(error)}"], name)


def input_path(name: str | Path, kind: str) -> Path:
    """A sweep or spec argument as a path (a file, or a shipped name); bad ones are an error line."""
    try:
        return resolve_shipped_file(name, kind)
    except (OSError, ValueError) as error:  # e.g. a file name too long for the file system
        fail([f"cannot use this path: {_reason(error)}"], str(name))


def load_or_fail(scenario: str, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario, turning a ScenarioError into a clean exit."""
    try:
        return load_scenario(scenario_path(scenario), overrides)
    except ScenarioError as error:
        fail(error.problems, error.source)


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

    settings = load_or_fail(scenario, parse_overrides(set_ or [], days, seed))
    if out is not None:
        _prepare_output(out)
    result = run_one(settings)
    if as_json:
        sys.stdout.write(dump_json(result.record()) + "\n")
    else:
        _print_summary(result.record())
    if out is not None:
        try:
            written = write_outputs(result, out)
        except (OSError, ValueError) as error:
            # The summary is already printed above, so nothing computed is lost.
            fail([f"cannot write outputs: {_reason(error)}"], str(out))
        if not as_json:
            stderr.print("wrote " + ", ".join(str(p) for p in written), soft_wrap=True)


def _reason(error: Exception) -> str:
    """What went wrong with a file operation, in a few words."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "no space left on the device"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def refuse_package_data(out: Path | None, option: str = "--out") -> None:
    """Refuse an output folder inside the installed package's data (shipped scenarios, sweeps).

    Results written there would mix with the files borderabm ships, and be taken for shipped
    scenarios or lost on reinstall.
    """
    if out is None:
        return
    import borderabm

    data = Path(borderabm.__file__).resolve().parent / "data"
    try:
        inside = Path(os.path.abspath(out)).resolve().is_relative_to(data)
    except (OSError, ValueError, RuntimeError):  # a path the system refuses: reported later
        return
    if inside:
        fail([f"{option}: inside the installed package data {data} (allowed: a folder outside "
              "it, e.g. results/)"], str(out))  # fmt: skip


def _prepare_output(out: Path) -> None:
    """Create an output folder before computing anything; a bad one is an error line."""
    from borderabm.experiments.run import prepare_output_dir

    try:
        prepare_output_dir(out)
    except (OSError, ValueError) as error:  # ValueError: a null byte in the path
        fail([f"cannot write output directory: {_reason(error)}"], repr(str(out)) if "\x00" in
             str(out) else str(out))  # fmt: skip


def _print_summary(record: dict) -> None:
    """The run's summary for a person: labels with units (``--json`` keeps the raw names)."""
    from borderabm.metrics import format_value, metric_label

    table = Table(title=f"{record['scenario']} — seed {record['seed']}, {record['days']} days")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in record["summary"].items():
        shown = format_value(name, value) if isinstance(value, int | float) else str(value)
        table.add_row(metric_label(name), shown)
    stdout.print(table)


@app.command()
def compare(
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
    workers: Annotated[int | None, typer.Option(min=1, max=1024, help="Local workers.")] = None,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address, or 'local'.")] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write an HTML + Markdown report with charts here.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the table as strict JSON (NaN as null).")
    ] = False,
) -> None:
    """Compare scenarios on common seeds: means, 95% intervals, paired differences vs the first."""
    from borderabm.analysis.compare import HEADLINE_METRICS, sector_names
    from borderabm.experiments.engines import SchedulerUnreachable, engine_for
    from borderabm.experiments.store import ResultsStore, StoreError, default_results_dir
    from borderabm.experiments.sweep import comparison_sweep, run_sweep

    if sweep_dir is not None:
        store = ResultsStore(sweep_dir)
    else:
        names = scenario_files or []
        if len(names) < 2:
            fail(["SCENARIO_FILES: compare needs at least two scenarios (or --sweep DIR)"],
                 "borderabm compare")  # fmt: skip
        paths = [scenario_path(name) for name in names]
        try:
            loaded = comparison_sweep(paths, replicates, seed, days)
        except ScenarioError as error:
            fail(error.problems, error.source)
        refuse_package_data(out := out or default_results_dir(loaded.spec.name))
        store = ResultsStore(out)
        try:
            run_sweep(loaded, store, engine=engine_for(workers, dask))
        except StoreError as error:
            fail([str(error)])
        except SchedulerUnreachable as error:
            fail([f"cannot use the Dask scheduler: {_reason(error)} (finished runs are kept in "
                  f"{store.root})"], f"--dask {dask}")  # fmt: skip
    comparison = _stored_comparison(store)
    missing = [m for m in HEADLINE_METRICS if m not in comparison.runs]
    if missing:
        fail([f"runs: the stored runs lack the metrics {', '.join(missing)} (made by other "
              "model code?)"], str(store.root))  # fmt: skip
    table = comparison.table()
    if as_json:
        sys.stdout.write(dump_json(table.to_dict(orient="records")) + "\n")
    else:
        _print_comparison(table, comparison.replicates)
    if report is not None:
        from borderabm.report.compare import write_report

        try:
            series = comparison.series()
        except StoreError as error:
            fail([str(error)])
        if series.empty:
            fail(["series: no daily series stored (sweep with series = false)"], str(store.root))
        title = "Comparison: " + " vs ".join(comparison.order)
        _prepare_output(report)
        try:
            written = write_report(table, comparison.runs, series, sector_names(series), report,
                                   title, comparison.replicates)  # fmt: skip
        except (OSError, ValueError) as error:  # the table is printed above: nothing is lost
            fail([f"cannot write the report: {_reason(error)}"], str(report))
        stderr.print(f"wrote {written[0]} (and report.md, charts)", soft_wrap=True)


def _stored_comparison(store):
    """The finished runs of a results directory as a comparison; a bad store is an error line."""
    from borderabm.analysis.compare import load_comparison
    from borderabm.experiments.store import StoreError

    try:
        return load_comparison(store)
    except StoreError as error:  # no manifest, a damaged file, no finished runs
        fail([str(error)])


def _stored_runs(store):
    """The finished runs of a results directory; a missing, corrupt or empty one is an error line."""
    from borderabm.experiments.store import MANIFEST, StoreError

    try:
        manifest = store.manifest()
        if manifest is None:
            fail([f"not a results directory (no {MANIFEST})"], str(store.root))
        runs = store.runs()
    except StoreError as error:
        fail([str(error)])
    if runs.empty:
        fail(["runs: no finished runs yet"], str(store.root))
    return runs


def _print_comparison(table, replicates: int) -> None:
    from borderabm.metrics import metric_label

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
        out.add_row(metric_label(metric), *cells)
    # Four scenarios need room: use at least 150 columns even when output goes to a log.
    PlainConsole(width=max(stdout.width, 150), markup=False, emoji=False).print(out)


def _short(value: float, signed: bool = False) -> str:
    from borderabm.report.format import short_number

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

    from borderabm.analysis.compare import point_table
    from borderabm.experiments.engines import SchedulerUnreachable, engine_for
    from borderabm.experiments.store import ResultsStore, StoreError, default_results_dir
    from borderabm.experiments.sweep import load_sweep, run_sweep

    try:
        loaded = load_sweep(input_path(sweep_file, "sweeps"), resolve_relative)
    except ScenarioError as error:
        fail(error.problems, error.source)
    refuse_package_data(out := out or default_results_dir(loaded.spec.name))
    store = ResultsStore(out)
    done_before = len(store.done() & {r.run_id for r in loaded.runs})
    engine = engine_for(workers, dask)
    # The description is the sweep's name: user text, so plain (markup=False).
    columns = (TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
               MofNCompleteColumn(), TextColumn("{task.fields[rate]:.2f} runs/s"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    started = time.perf_counter()
    # Only on a terminal, and transient: stderr then holds just the error line on failure, and the
    # summary line after a success says what ran.
    with Progress(*columns, console=stderr, transient=True,
                  disable=not stderr.is_terminal) as progress:  # fmt: skip
        task = progress.add_task(loaded.spec.name, total=len(loaded.runs), completed=done_before,
                                 rate=0.0)  # fmt: skip
        counter = {"n": 0}

        def on_done(result: dict) -> None:
            counter["n"] += 1
            rate = counter["n"] / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=1, rate=rate)

        try:
            executed = run_sweep(loaded, store, engine=engine, on_done=on_done)
        except StoreError as error:
            progress.stop()
            fail([str(error)])
        except SchedulerUnreachable as error:
            progress.stop()
            fail([f"cannot use the Dask scheduler: {_reason(error)} (finished runs are kept in "
                  f"{store.root})"], f"--dask {dask}")  # fmt: skip
    table = point_table(_stored_runs(store), loaded.spec.metrics)  # a damaged row: one error line
    stderr.print(f"{executed} runs executed, {done_before} already done; results in {store.root}",
                 soft_wrap=True)  # fmt: skip
    _print_results(table, loaded.spec.name)


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
        fail([f"cannot use the Dask scheduler: {_reason(error)}"], f"--dask {dask}")


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


@app.command()
def results(
    results_dir: Annotated[Path, typer.Argument(help="A results directory written by sweep.")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Metrics to show (default: headline).")
    ] = None,
    csv: Annotated[Path | None, typer.Option(help="Also write the summary as CSV.")] = None,
) -> None:
    """Summarise a sweep: mean and 95% interval per scenario and design point."""
    from borderabm.analysis.compare import point_table
    from borderabm.experiments.store import ResultsStore

    store = ResultsStore(results_dir)
    runs = _stored_runs(store)
    unknown = [m for m in metric or () if m not in runs]
    if unknown:
        known = sorted(c for c in runs.columns if c not in ("run_id", "scenario", "point",
                       "replicate", "seed") and "." not in c)  # fmt: skip
        fail([f"--metric: unknown metric {', '.join(unknown)} (allowed: {', '.join(known)})"],
             str(results_dir))  # fmt: skip
    table = point_table(runs, metric or ())
    name = store.sweep_name(store.manifest() or {})
    _print_results(table, name)
    if csv is not None:
        try:
            table.to_csv(csv, index=False)
        except (OSError, ValueError) as error:  # the table is printed above: nothing is lost
            fail([f"cannot write: {_reason(error)}"], str(csv))
        stderr.print(f"wrote {csv}", soft_wrap=True)


def _print_results(table, title: str) -> None:
    from borderabm.metrics import metric_label

    if table.empty:
        return
    metrics = [c[: -len("_low")] for c in table.columns if c.endswith("_low")]
    fixed = {"scenario", "point", "replicates", *metrics}
    parameters = [c for c in table.columns if c not in fixed and not c.endswith(("_low", "_high"))]
    out = Table(title=f"{title}: mean [95% interval] per design point")
    for column in ("scenario", "point", *parameters, "n"):
        out.add_column(column, justify="left" if column == "scenario" else "right")
    for metric in metrics:  # labels with units; the CSV keeps the raw names
        out.add_column(metric_label(metric), justify="right")
    for _, row in table.iterrows():
        cells = [str(row["scenario"]), str(row["point"])]
        cells += [f"{row[p]:.4g}" if isinstance(row[p], float) else str(row[p]) for p in parameters]
        cells.append(str(row["replicates"]))
        cells += [f"{_short(row[m])} [{_short(row[m + '_low'])} – {_short(row[m + '_high'])}]"
                  for m in metrics]  # fmt: skip
        out.add_row(*cells)
    # Room for every label on one line even when the output goes to a log.
    width = max(stdout.width, 40 + 12 * len(parameters) + 30 * len(metrics))
    PlainConsole(width=width, markup=False, emoji=False).print(out)


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
            table.add_row(path.stem, "", Text(f"invalid: {error.problems[0]}", style="red"))
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
        path = scenario_path(name)
        try:
            settings = load_scenario(path)
        except ScenarioError as error:
            bad += 1
            sys.stderr.write(error_line(error.problems, error.source) + "\n")
            continue
        stdout.print(one_line(f"ok: {path} ({settings.name}, {settings.horizon_days} days)"),
                     soft_wrap=True)  # fmt: skip
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
    dask: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:8786), or 'local' for a LocalCluster."
        ),
    ] = None,
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
) -> None:
    """Check the model against stylized facts on paired replicates; exit 1 if any fact fails."""
    from borderabm.apps.cli.validate import ValidationInputError, validate_and_report

    try:
        code = validate_and_report(replicates=replicates, days=days, workers=workers, only=only, out=out,
                       seed=seed, store=store, scenarios=shipped_scenarios_dir(),
                       stdout=stdout, stderr=stderr, dask=dask)  # fmt: skip
    except ValidationInputError as error:
        fail(error.problems, error.source or "borderabm validate-model")
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
    from borderabm.report.worldmap import draw_world
    from borderabm.world import build_world

    # Check the picture format before the world is built (matplotlib decides by the extension).
    formats = ("png", "pdf", "svg", "jpg", "jpeg", "tif", "tiff", "webp", "eps", "ps")
    if out.suffix and out.suffix[1:].lower() not in formats:
        fail([f"--out: unknown picture format {out.suffix!r} (allowed: .{', .'.join(formats)})"],
             str(out))  # fmt: skip
    if not out.suffix:  # matplotlib would add ".png": name the file that is written
        out = out.with_name(out.name + ".png")
    world = build_world(resolution)
    try:
        draw_world(world, out)
    except (OSError, ValueError) as error:
        fail([f"cannot write map: {_reason(error)}"], str(out))
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
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
) -> None:
    """Start the browser UI (Solara), offline, and print its URL."""
    import subprocess

    # Check the address first: a port in use (or a host that does not exist) is an error line,
    # not a banner followed by the server's traceback.
    problem = _cannot_listen(host, port)
    if problem:
        fail([problem], f"{host}:{port}")
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    command = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "borderabm.apps.ui.app",
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


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the UI could not listen on ``host:port``, or None if it can (checked by binding)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as error:
        return f"--host: cannot use this address: {getattr(error, 'strerror', None) or error}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return "--port: the port is in use (allowed: a free port, e.g. --port 8766)"
            return f"--host: cannot listen here: {error.strerror or error}"
    return None


if __name__ == "__main__":  # pragma: no cover
    app()
