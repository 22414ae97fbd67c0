"""What every ``borderabm`` command shares: the Typer app, bad-input lines, consoles, path options.

Bad input (a scenario, an override, an output path, a results store, a command-line option) is
reported on stderr as one line ``error: FILE: key: what is wrong (allowed: ...)``, with exit code 2
and no traceback. User text (names, descriptions, keys) is always printed as plain text, never
read as console markup. ``--json`` output is strict JSON: a value that is not a number (NaN, an
infinity) is written as ``null``.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console, RenderableType
from rich.segment import Segment
from typer.core import TyperGroup

try:  # Typer >= 0.20 ships its own copy of Click; its exceptions are the ones raised
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older Typer on top of Click
    from click import exceptions as click_errors  # type: ignore[no-redef]  # the same module's API
from borderabm.report.format import one_line  # re-exported: the one sanitiser of user text
from borderabm.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_override,
    replaced_dated_settings,
    resolve_scenario_path,
    resolve_shipped_file,
)

EXIT_BAD_INPUT = 2


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

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; see :class:`click.Command`."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        for arg in args or ():
            if "\x00" in arg:  # only possible in-process: an operating system cannot pass one
                _exit_with(error_line(["contains a null byte"], repr(arg)))
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
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
    """``error: borderabm ui: --port: -1 is not in the range ...``: command, option, problem.

    The form of every other bad input: the source, the key, what is wrong.
    """
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
        return error_line([f"{name}: {message}"], where)
    if isinstance(error, click_errors.NoSuchOption):
        allowed = [o for p in (ctx.command.params if ctx else []) for o in p.opts if o[:2] == "--"]
        return error_line([f"{error.option_name}: no such option (allowed: {', '.join(allowed)})"],
                          where)  # fmt: skip
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


def print_notes(lines: Iterable[str], source: str) -> None:
    """Print ``note: SOURCE: line`` lines on stderr: what a command does that a reader may not expect."""
    for line in lines:
        sys.stderr.write(f"note: {one_line(source)}: {one_line(line)}\n")
    sys.stderr.flush()


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
        fail([f"cannot use this path: {reason(error)}"], name)


def input_path(name: str | Path, kind: str) -> Path:
    """A sweep or spec argument as a path (a file, or a shipped name); bad ones are an error line."""
    try:
        return resolve_shipped_file(name, kind)
    except (OSError, ValueError) as error:  # e.g. a file name too long for the file system
        fail([f"cannot use this path: {reason(error)}"], str(name))


def load_or_fail(scenario: str, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario, turning a ScenarioError into a clean exit."""
    path = scenario_path(scenario)
    try:
        settings = load_scenario(path, overrides)
        if overrides:  # a value given holds for the run: say which dated settings it replaces
            print_notes(replaced_dated_settings(load_scenario(path), overrides), str(path))
    except ScenarioError as error:
        fail(error.problems, error.source)
    return settings


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


def reason(error: Exception) -> str:
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


def refuse_store_file(path: Path, option: str) -> None:
    """Refuse an output file that is one of a results store's own files.

    ``results sw --csv sw/manifest.json`` would replace the store's record of its runs with a
    table, and the store could not be read or resumed any more. A file beside them in the store's
    folder (``sw/summary.csv``) is fine.
    """
    from borderabm.experiments.store import MANIFEST

    try:
        target = Path(os.path.abspath(path)).resolve()
    except (OSError, ValueError, RuntimeError):  # a path the system refuses: reported later
        return
    for folder in target.parents:
        if not (folder / MANIFEST).is_file():
            continue
        inside = target.relative_to(folder).parts
        if inside == (MANIFEST,) or len(inside) > 1:
            fail([f"{option}: a file of the results store {folder} (allowed: a file outside its "
                  f"{MANIFEST} and subfolders, e.g. {folder / 'summary.csv'})"], str(path))  # fmt: skip
        return


def prepare_output(out: Path) -> None:
    """Create an output folder before computing anything; a bad one is an error line."""
    from borderabm.experiments.run import prepare_output_dir

    try:
        prepare_output_dir(out)
    except (OSError, ValueError) as error:  # ValueError: a null byte in the path
        fail([f"cannot write output directory: {reason(error)}"], repr(str(out)) if "\x00" in
             str(out) else str(out))  # fmt: skip


def print_wide(renderable: RenderableType, min_width: int) -> None:
    """Print to stdout at least ``min_width`` columns wide, even when the output goes to a log."""
    PlainConsole(width=max(stdout.width, min_width), markup=False, emoji=False).print(renderable)


@contextmanager
def store_problems_as_bad_input(
    store_root: Path | None = None, dask: str | None = None
) -> Iterator[None]:
    """Report a results store that cannot be used, or a lost Dask scheduler, as an error line.

    Args:
        store_root: The results directory being filled (named when the scheduler is lost: the
            runs finished before are kept there).
        dask: The ``--dask`` address, named when it cannot be used.
    """
    from borderabm.experiments.engines import SchedulerUnreachable
    from borderabm.experiments.store import StoreError

    try:
        yield
    except StoreError as error:  # names its folder or file
        fail([str(error)])
    except SchedulerUnreachable as error:
        fail([f"cannot use the Dask scheduler: {reason(error)} (finished runs are kept in "
              f"{store_root})"], f"--dask {dask}")  # fmt: skip


# The engine options of every many-run command (sweep, compare, sensitivity, calibrate, validate-model).
WorkersOption = Annotated[
    int | None, typer.Option(min=1, max=1024, help="Local worker processes (default: cores).")
]
DaskOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address (tcp://host:8786), or 'local' for a LocalCluster."),
]
