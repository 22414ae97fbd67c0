"""Each class of bad input that used to crash the command line, and what it gives now.

The contract: exit 0, or exit 2 with exactly one line ``error: SOURCE: key: what is wrong`` on
stderr; no traceback, no hang, no write outside the chosen folder, strict JSON.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.apps.cli.main import app
from borderabm.experiments.store import ResultsStore
from tests.conftest import SCENARIOS

runner = CliRunner()
ERROR_LINE = re.compile(r"^error: .+: .+$")


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def error_of(result) -> str:
    """The one error line of a result that must have failed cleanly."""
    assert result.exit_code == 2, (result.exit_code, result.exception, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def ok(result):
    assert result.exit_code == 0, (result.exception, result.stderr)
    return result


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def sweep_file(folder: Path, name: str = "tiny", replicates: int = 1) -> Path:
    """A sweep of two design points x ``replicates`` two-day runs of the baseline."""
    baseline = json.dumps(str(SCENARIOS / "baseline.toml"))
    text = (f"name = {json.dumps(name)}\nscenarios = [{baseline}]\nreplicates = {replicates}\n"
            'days = 2\nmetrics = ["attacks"]\n[design]\nkind = "lhs"\nsamples = 2\n'
            '[parameters."fence.coverage"]\nlow = 0.5\nhigh = 1.0\n')  # fmt: skip
    return write(folder / "sweep.toml", text)


# ---- user text is plain text ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["[/]", "[bold]", "[red]x[/red]", ":smile:"])
def test_markup_in_a_scenario_name_is_printed_as_written(tmp_path, name):
    path = write(tmp_path / "s.toml", f"name = {json.dumps(name)}\nhorizon_days = 2\n")
    assert f"({name}, 2 days)" in ok(invoke("validate", path)).stdout
    assert name in ok(invoke("run", path)).stdout  # the table's title


def test_markup_in_an_unknown_sector_is_one_error_line(tmp_path):
    path = write(tmp_path / "s.toml", '[fence.sectors]\n"[/]" = 0.5\n')
    assert "unknown sector '[/]'" in error_of(invoke("validate", path))


def test_markup_in_a_description_lists_as_written(tmp_path, monkeypatch):
    folder = tmp_path / "scenarios"
    write(folder / "odd.toml", 'description = "[/] and [bold]"\nhorizon_days = 2\n')
    write(folder / "broken.toml", "[fence]\ncoverage = '[/]'\n")
    monkeypatch.setattr("borderabm.apps.cli.scenarios.shipped_scenarios_dir", lambda: folder)
    listed = ok(runner.invoke(app, ["scenarios"], terminal_width=200)).stdout
    assert "[/] and [bold]" in listed
    assert "invalid: fence.coverage" in listed


def test_markup_in_a_sweep_name_runs(tmp_path):
    out = tmp_path / "out"
    result = ok(invoke("sweep", sweep_file(tmp_path, "[/]sweep"), "--out", out, "--workers", "1"))
    assert "[/]sweep" in result.stdout


# ---- strict JSON ------------------------------------------------------------------------------
def test_json_summaries_never_hold_nan_or_infinity(tmp_path, monkeypatch):
    from borderabm.model import BorderModel

    summary = BorderModel.summary
    monkeypatch.setattr(BorderModel, "summary",
                        lambda self: {**summary(self), "attacks": math.nan, "odd": math.inf})  # fmt: skip
    result = ok(invoke("run", "baseline", "--days", "2", "--json", "--out", tmp_path / "run"))

    def reject(constant):
        raise AssertionError(f"{constant} in JSON")

    printed = json.loads(result.stdout, parse_constant=reject)
    assert printed["summary"]["attacks"] is None and printed["summary"]["odd"] is None
    saved = json.loads((tmp_path / "run" / "summary.json").read_text(), parse_constant=reject)
    assert saved["summary"]["attacks"] is None


# ---- calendar, nesting, huge and null values --------------------------------------------------
def test_a_horizon_past_the_calendar_is_an_error_line(tmp_path):
    path = write(tmp_path / "s.toml", "start_date = 9999-12-01\nhorizon_days = 10\n")
    assert ok(invoke("validate", path))
    line = error_of(invoke("run", path, "--days", "100"))
    assert "horizon_days: 100 days from start_date 9999-12-01 run past the end" in line
    assert "(allowed: at most 30 days from that date)" in line


def test_deep_nesting_is_an_error_line(tmp_path):
    path = write(tmp_path / "s.toml", "x = " + "[" * 3000 + "]" * 3000 + "\n")
    assert "nested too deeply (allowed: at most 32 levels)" in error_of(invoke("validate", path))
    deep = "[" * 3000 + "]" * 3000
    assert "--set" in error_of(invoke("run", "baseline", "--set", f"fence.coverage={deep}"))


def test_an_integer_too_long_to_read_is_an_error_line(tmp_path):
    path = write(tmp_path / "s.toml", "seed = " + "9" * 5000 + "\n")
    assert "cannot read a value" in error_of(invoke("validate", path))


def test_null_bytes_in_arguments_and_sweep_entries_are_error_lines(tmp_path):
    assert "contains a null byte" in error_of(invoke("validate", "a\x00b.toml"))
    sweep = write(tmp_path / "sweep.toml", 'scenarios = ["base\\u0000line"]\nreplicates = 1\n')
    assert "null byte" in error_of(invoke("sweep", sweep, "--out", tmp_path / "out"))


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("militants.targets=[]", "militants.targets: at least one province is needed"),
     ("refugees.community_range_km=0.001", "refugees.community_range_km: 0.001 km is less than "
                                           "one grid cell")],
)  # fmt: skip
def test_empty_choices_that_reached_numpy_are_error_lines(setting, expected):
    assert expected in error_of(invoke("run", "baseline", "--days", "2", "--set", setting))


# ---- names that become file names -------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../escape", "a" * 300, "nul\x00name", ".hidden"])
def test_scenario_and_sweep_names_never_leave_the_results_folder(tmp_path, monkeypatch, name):
    work = tmp_path / "work"
    scenario = write(tmp_path / "in" / "s.toml", f"name = {json.dumps(name)}\nhorizon_days = 2\n")
    sweep = write(tmp_path / "in" / "sweep.toml",
                  f"name = {json.dumps(name)}\nscenarios = [{json.dumps(str(scenario))}]\n"
                  "replicates = 1\n")  # fmt: skip
    work.mkdir()
    monkeypatch.chdir(work)
    before = files_under(tmp_path)
    ok(invoke("sweep", sweep, "--workers", "1"))  # default folder: results/<sweep name>
    written = files_under(tmp_path) - before
    assert written and all(p.is_relative_to(work / "results") for p in written), written
    assert all(len(p.name.encode()) <= 255 for p in written)
    store = next(work.glob("results/*"))
    assert len(ResultsStore(store).series()) == 2  # the series is found under its safe name


# ---- corrupt stores ---------------------------------------------------------------------------
@pytest.fixture()
def store(tmp_path) -> Path:
    out = tmp_path / "store"
    ok(invoke("sweep", sweep_file(tmp_path), "--out", out, "--workers", "1"))
    return out


@pytest.mark.parametrize("command", ["results", "compare", "discover"])
def test_a_garbage_manifest_is_an_error_line_naming_it(store, command):
    (store / "manifest.json").write_bytes(b"\x00garbage{")
    args = {"results": ["results", store], "compare": ["compare", "--sweep", store],
            "discover": ["discover", store, "--metric", "attacks", "--threshold", "0"]}[command]  # fmt: skip
    assert f"error: {store / 'manifest.json'}: cannot read" in error_of(invoke(*args))


def test_a_truncated_run_row_is_named_and_redone_on_resume(store, tmp_path):
    victim = sorted((store / "runs").glob("*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:29])
    assert f"error: {victim}: not a readable Parquet file" in error_of(invoke("results", store))
    assert str(victim) in error_of(invoke("compare", "--sweep", store))
    resumed = ok(invoke("sweep", tmp_path / "sweep.toml", "--out", store, "--workers", "1"))
    assert "1 runs executed, 1 already done" in resumed.stderr
    assert len(ResultsStore(store).runs()) == 2


def test_a_run_row_missing_columns_is_named(store):
    victim = sorted((store / "runs").glob("*.parquet"))[0]
    pd.read_parquet(victim).drop(columns=["scenario"]).to_parquet(victim)
    line = error_of(invoke("results", store))
    assert f"error: {victim}: not a run row of borderabm sweep (missing columns scenario)" in line


# ---- full disk and no permission mid-sweep ----------------------------------------------------
@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "no space left on the device"), (errno.EACCES, "Permission denied")],
)
def test_a_write_failure_mid_sweep_is_an_error_line_and_the_sweep_resumes(
    tmp_path, monkeypatch, code, reason
):
    sweep, out = sweep_file(tmp_path, replicates=2), tmp_path / "store"
    write_run = ResultsStore.write_run
    calls = {"n": 0}

    def failing_write_run(self, run_id, *args):
        calls["n"] += 1
        if calls["n"] == 2:  # the first run is stored, the second hits the full disk
            raise OSError(code, reason, str(self.root / "runs" / f"{run_id}.parquet"))
        return write_run(self, run_id, *args)

    monkeypatch.setattr(ResultsStore, "write_run", failing_write_run)
    line = error_of(invoke("sweep", sweep, "--out", out, "--workers", "1"))
    assert reason in line and "run the same command again to resume" in line
    assert len(ResultsStore(out).runs()) == 1  # readable, with the run finished before
    assert not list(out.rglob(".*.tmp"))
    monkeypatch.setattr(ResultsStore, "write_run", write_run)
    resumed = ok(invoke("sweep", sweep, "--out", out, "--workers", "1"))
    assert "3 runs executed, 1 already done" in resumed.stderr


@pytest.mark.parametrize("below", [False, True])
@pytest.mark.parametrize("command", ["sweep", "compare"])
def test_an_output_folder_that_is_a_file_says_so(tmp_path, command, below):
    blocker = write(tmp_path / "file", "x")
    out = blocker / "sub" if below else blocker
    args = {
        "sweep": ["sweep", sweep_file(tmp_path), "--workers", "1"],
        "compare": ["compare", "baseline", "no_fence", "--days", "2", "--replicates", "1"],
    }
    line = error_of(invoke(*args[command], "--out", out))  # fmt: skip
    assert line == f"error: {blocker}: is a file, not a folder (allowed: a results folder, new " \
                   "or written by borderabm)"  # fmt: skip
    assert blocker.read_text() == "x"


# ---- hangs become bounds ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "extra",
    ["replicates = 100000\n[design]\nkind = 'lhs'\nsamples = 1000000\n"
     "[parameters.'fence.coverage']\nlow = 0.0\nhigh = 1.0",
     "\n".join(f"[parameters.'fence.sectors.S{i}']\nlevels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
               for i in range(12))],
)  # fmt: skip
def test_huge_sweeps_are_refused_at_once(tmp_path, extra):
    sweep = write(tmp_path / "sweep.toml", f"scenarios = ['baseline']\n{extra}\n")
    started = time.perf_counter()
    line = error_of(invoke("sweep", sweep, "--out", tmp_path / "out"))
    assert time.perf_counter() - started < 10
    assert "is too many for one sweep (allowed: at most 100,000" in line
    assert not (tmp_path / "out").exists()


# ---- the command line itself ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "expected"),
    [(["ui", "--port", "-1"], "error: borderabm ui: --port: "),
     (["ui", "--port", "70000"], "(allowed: >= 1 and <= 65535)"),
     (["run", "baseline", "--days", "abc"], "error: borderabm run: --days: "),
     (["run", "baseline", "--bogus"], "error: borderabm run: --bogus: no such option (allowed: "),
     (["run"], "error: borderabm run: SCENARIO: missing argument"),
     (["nonsense"], "error: borderabm: No such command"),
     (["compare", "baseline"], "compare needs at least two scenarios")],
)  # fmt: skip
def test_usage_mistakes_are_one_error_line(args, expected):
    assert expected in error_of(invoke(*args))


def test_ui_on_a_port_in_use_fails_before_printing_its_banner():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("ui", "--port", str(port))
    assert "the port is in use" in error_of(result)
    assert "borderabm UI" not in result.stdout


def test_an_unknown_picture_format_is_refused_before_the_world_is_built(tmp_path):
    line = error_of(invoke("map", "--out", tmp_path / "world.xyz"))
    assert "--out: unknown picture format '.xyz' (allowed: .png" in line
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("seed", ["-5", str(2**63)])
def test_a_compare_seed_out_of_range_is_a_usage_error(tmp_path, seed):
    args = ["compare", "baseline", "no_fence", "--days", "2", "--seed", seed, "--out", tmp_path]
    assert "error: borderabm compare: --seed: " in error_of(invoke(*args))


def test_an_unreachable_dask_scheduler_is_an_error_line(tmp_path):
    import dask
    import distributed  # noqa: F401 - load its config defaults first, or leaving the `with` drops them

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        line = error_of(invoke("compare", "baseline", "no_fence", "--days", "2", "--dask",
                               "tcp://127.0.0.1:1", "--out", tmp_path / "c"))  # fmt: skip
    assert line.startswith("error: --dask tcp://127.0.0.1:1: cannot use the Dask scheduler")


def test_validate_model_options_name_the_command():
    line = error_of(invoke("validate-model", "--replicates", "3"))
    assert line.startswith("error: borderabm validate-model: replicates: 3 is too few")


def test_pipes_and_devices_are_refused_instead_of_read_forever(tmp_path):
    import os

    pipe = tmp_path / "pipe.toml"
    os.mkfifo(pipe)  # opening it to read would wait for a writer that never comes
    assert "not a regular file (allowed: a scenario file on disk)" in error_of(
        invoke("validate", pipe))  # fmt: skip
    assert "not a regular file" in error_of(invoke("sweep", "/dev/zero"))


def test_a_huge_file_is_refused_unread(tmp_path):
    big = tmp_path / "big.toml"
    with big.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: no disk used
    assert "is too large for a scenario file" in error_of(invoke("validate", big))


@pytest.mark.parametrize("command", ["validate", "sweep", "calibrate", "sensitivity", "results"])
def test_a_file_name_too_long_for_the_file_system_is_an_error_line(tmp_path, command):
    line = error_of(invoke(command, tmp_path / ("a" * 300 + ".toml")))
    assert "File name too long" in line and "Errno" not in line


# ---- pipes, devices and huge files inside a results store -------------------------------------
@pytest.fixture(scope="module")
def clean_store(tmp_path_factory) -> Path:
    """A real store of the tiny sweep, made once; tests damage copies of it."""
    root = tmp_path_factory.mktemp("clean")
    ok(invoke("sweep", sweep_file(root), "--out", root / "store", "--workers", "1"))
    return root / "store"


@pytest.fixture()
def store_copy(clean_store, tmp_path) -> Path:
    import shutil

    shutil.copy(clean_store.parent / "sweep.toml", tmp_path / "sweep.toml")
    return Path(shutil.copytree(clean_store, tmp_path / "store"))


@contextlib.contextmanager
def pipe_feeder(pipe: Path):
    """Keep opening ``pipe`` for writing and closing it, so a reader that opens it never waits.

    Without this, code that opens a named pipe would hang the test instead of failing it.
    """
    stop = threading.Event()

    def feed() -> None:
        while not stop.wait(0.05):
            with contextlib.suppress(OSError):  # ENXIO: nobody is reading yet
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("where", ["manifest.json", "runs/aaa.parquet"])
def test_a_named_pipe_in_a_store_is_refused_unopened(store_copy, where):
    pipe = store_copy / where
    pipe.unlink(missing_ok=True)
    os.mkfifo(pipe)
    with pipe_feeder(pipe):
        line = error_of(invoke("results", store_copy))
        resumed = error_of(invoke("sweep", store_copy.parent / "sweep.toml", "--out", store_copy,
                                  "--workers", "1"))  # fmt: skip
    expected = f"error: {pipe}: cannot read: not a regular file but a named pipe"
    assert line.startswith(expected) and resumed.startswith(expected)


def test_a_device_as_manifest_is_refused_unread(store_copy):
    manifest = store_copy / "manifest.json"
    manifest.unlink()
    manifest.symlink_to("/dev/null")  # a device like /dev/zero, but harmless if it were read
    for args in (["results", store_copy], ["compare", "--sweep", store_copy],
                 ["discover", store_copy, "--metric", "attacks", "--threshold", "0"]):  # fmt: skip
        assert "not a regular file but a device or socket" in error_of(invoke(*args))


def test_dev_zero_as_manifest_is_an_error_line_not_out_of_memory(store_copy):
    import resource
    import subprocess
    import sys

    manifest = store_copy / "manifest.json"
    manifest.unlink()
    manifest.symlink_to("/dev/zero")

    def limit_memory() -> None:  # so a regression fails fast instead of filling the machine
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    exe = Path(sys.executable).parent / "borderabm"
    done = subprocess.run([exe, "results", store_copy], capture_output=True, text=True,
                          timeout=120, preexec_fn=limit_memory)  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr == f"error: {manifest}: cannot read: not a regular file but a device or " \
                          "socket (allowed: the files that borderabm sweep writes)\n"  # fmt: skip


def test_a_huge_manifest_is_refused_unread(store_copy):
    manifest = store_copy / "manifest.json"
    with manifest.open("wb") as handle:
        handle.truncate(17 * 2**20)  # sparse: no disk used
    assert "cannot read: larger than 4 MiB" in error_of(invoke("results", store_copy))


# ---- run rows with the right columns but the wrong types --------------------------------------
@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [("point", "x", "point: 'x' is not a whole number"),
     ("replicate", 1.5, "replicate: 1.5 is not a whole number"),
     ("scenario", 5, "scenario: 5 is not text"),
     ("attacks", "lots", "attacks: 'lots' is not a number")],
)  # fmt: skip
def test_a_run_row_of_the_wrong_types_is_named(store_copy, column, value, problem):
    victim = sorted((store_copy / "runs").glob("*.parquet"))[0]
    frame = pd.read_parquet(victim)
    frame[column] = [value]
    frame.to_parquet(victim)
    expected = f"not a run row of borderabm sweep ({problem})"
    for args in (["results", store_copy], ["compare", "--sweep", store_copy, "--json"],
                 ["discover", store_copy, "--metric", "attacks", "--threshold", "0"],
                 ["sweep", store_copy.parent / "sweep.toml", "--out", store_copy]):  # fmt: skip
        line = error_of(invoke(*args))
        assert line.startswith(f"error: {victim}: ") and expected in line, args


# ---- validate-model --store reads its runs through the store ----------------------------------
VALIDATE = ["validate-model", "--only", "fence_cuts_family_visits", "--replicates", "5", "--days",
            "3", "--workers", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def validation_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("validation")
    result = invoke(*VALIDATE, "--store", root / "store", "--out", root / "report")
    assert result.exit_code in (0, 1), result.output  # 1: the fact fails over three days
    return root / "store"


@pytest.mark.parametrize("damage", ["junk", "nan"])
def test_validate_model_names_a_damaged_stored_run(validation_store, tmp_path, damage):
    import shutil

    store = Path(shutil.copytree(validation_store, tmp_path / "store"))
    victim = sorted((store / "runs").glob("*.parquet"))[0]
    if damage == "junk":
        victim.write_bytes(b"junk")
    else:
        frame = pd.read_parquet(victim)
        numbers = frame.select_dtypes("float").columns
        frame[numbers] = math.nan
        frame.to_parquet(victim)
    line = error_of(invoke(*VALIDATE, "--store", store, "--out", tmp_path / "report"))
    assert str(victim) in line
    assert (
        "not a readable Parquet file" if damage == "junk" else "the metric is not finite"
    ) in line


# ---- compare options out of range -------------------------------------------------------------
@pytest.mark.parametrize("days", ["40000", "0", "-5"])
def test_compare_days_out_of_range_is_a_usage_error(tmp_path, days):
    line = error_of(invoke("compare", "baseline", "no_fence", f"--days={days}", "--out", tmp_path))
    assert line.startswith("error: borderabm compare: --days: ")
    assert "(allowed: >= 1 and <= 36500)" in line


def test_a_comparison_sweep_checks_its_options_and_size():
    from borderabm.experiments.sweep import comparison_sweep
    from borderabm.scenario import ScenarioError

    baseline = SCENARIOS / "baseline.toml"
    with pytest.raises(ScenarioError, match=r"days: .*36500"):
        comparison_sweep([baseline, SCENARIOS / "no_fence.toml"], 5, 1, 40_000)
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match="110,000 runs .* is too many for one sweep"):
        comparison_sweep([baseline] * 11, 10_000, 1, 2)
    assert time.perf_counter() - started < 5  # refused before a run is listed


def test_compare_of_too_many_runs_is_refused_at_once(tmp_path):
    names = ["baseline", "no_fence", *[f"s{i}.toml" for i in range(9)]]
    for name in names[2:]:
        write(tmp_path / name, f"name = {json.dumps(name)}\nhorizon_days = 2\n")
    line = error_of(invoke("compare", *[n if "." not in n else tmp_path / n for n in names],
                           "--replicates", "10000", "--out", tmp_path / "out"))  # fmt: skip
    assert "error: borderabm compare: replicates: 110,000 runs" in line
    assert not (tmp_path / "out").exists()


# ---- escape sequences in user text never reach the terminal -----------------------------------
EVIL = "evil\u001b[31mRED\u001b]0;pwned\u0007\u202e"


def no_raw_controls(text: str) -> bool:
    """Whether printed text holds no escape, bell, carriage return or bidi override as such."""
    return not any(c in text for c in "\x1b\x07\r\x9b\u202e\u2066")


def test_an_evil_scenario_name_is_shown_escaped(tmp_path):
    path = write(tmp_path / "s.toml", f"name = {json.dumps(EVIL)}\nhorizon_days = 2\n")
    shown = ok(invoke("run", path)).stdout
    assert "evil\\x1b[31mRED\\x1b]0;pwned" in shown and "\\u202e" in shown
    assert no_raw_controls(shown)
    validated = ok(invoke("validate", path)).stdout
    assert no_raw_controls(validated)


def test_an_evil_sweep_name_is_shown_escaped_in_titles_and_cells(tmp_path):
    evil = "sw\u001b[2J\u202e"
    sweep = sweep_file(tmp_path, evil)
    result = ok(invoke("sweep", sweep, "--out", tmp_path / "store", "--workers", "1"))
    assert "sw\\x1b[2J\\u202e" in result.stdout
    assert no_raw_controls(result.stdout + result.stderr)
    assert no_raw_controls(ok(invoke("results", tmp_path / "store")).stdout)
    out = tmp_path / "out\u001b[2J"
    wrote = ok(invoke("results", tmp_path / "store", "--csv", out))
    assert "out\\x1b[2J" in wrote.stderr and no_raw_controls(wrote.stderr)


def test_an_evil_map_path_is_reported_escaped(tmp_path):
    out = tmp_path / "m\u001b[2J.png"  # a picture file name (D8: no extension is refused)
    result = ok(invoke("map", "--out", out, "--resolution", "20"))
    assert "m\\x1b[2J" in result.stdout and no_raw_controls(result.stdout)


def test_the_console_escapes_user_text_but_keeps_its_own_colours_and_cursor_moves():
    import io

    from rich.progress import Progress, TextColumn
    from rich.table import Table
    from rich.text import Text

    from borderabm.apps.cli.common import PlainConsole

    buffer = io.StringIO()
    console = PlainConsole(file=buffer, force_terminal=True, color_system="standard", width=100)
    table = Table(title=EVIL)
    table.add_column(EVIL)
    table.add_row(Text(EVIL, style="red"), "two\nlines")
    console.print(table)
    console.print(Text(EVIL))
    with Progress(TextColumn("{task.description}", markup=False), console=console) as progress:
        progress.add_task(EVIL, total=1)
    shown = buffer.getvalue()
    assert "\x1b[31m" in shown  # rich's own colours still reach the terminal
    assert "\x1b[2K" in shown or "\x1b[?25l" in shown  # and the progress bar's cursor control
    assert "\x1b[31mRED" not in shown and "\x1b]0;" not in shown and "\u202e" not in shown
    assert "evil\\x1b[31mRED" in shown and "\nΔ" not in shown and "lines" in shown


# ---- infinities, file names and folders that are not for results ------------------------------
@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_an_infinite_setting_is_an_error_line(tmp_path, value):
    line = error_of(invoke("run", "baseline", "--days", "2", "--set",
                           f"traders.time_cost_usd_per_day={value}", "--out", tmp_path / "run"))  # fmt: skip
    assert "traders.time_cost_usd_per_day: Input should be a finite number" in line
    assert not (tmp_path / "run" / "summary.json").exists()


def test_a_sweep_with_an_infinite_bound_is_refused_before_a_manifest(tmp_path):
    sweep = sweep_file(tmp_path)
    sweep.write_text(sweep.read_text().replace("high = 1.0", "high = inf"))
    line = error_of(invoke("sweep", sweep, "--out", tmp_path / "store"))
    assert 'parameters."fence.coverage".high: Input should be a finite number' in line
    assert not (tmp_path / "store").exists()


def test_a_manifest_is_strict_json(tmp_path):
    from borderabm.experiments.store import StoreError

    with pytest.raises(StoreError, match="manifest.json: cannot write: Out of range float"):
        ResultsStore(tmp_path / "store").write_manifest({"high": math.inf})
    assert not (tmp_path / "store" / "manifest.json").exists()


def test_a_map_without_an_extension_is_refused_before_drawing(tmp_path, monkeypatch):
    # Audit D8: "noext" used to be written as noext.png, a file the user did not name.
    monkeypatch.chdir(tmp_path)
    line = error_of(invoke("map", "--out", "noext", "--resolution", "20"))
    assert line.startswith("error: noext: --out: has no picture extension (allowed: a .png file")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["sweep", "compare", "calibrate", "sensitivity"])
def test_an_output_folder_in_the_package_data_is_refused(tmp_path, command):
    import borderabm

    data = Path(borderabm.__file__).resolve().parent / "data"
    out = data / "scenarios" / "results-here"
    args = {"sweep": ["sweep", sweep_file(tmp_path)],
            "compare": ["compare", "baseline", "no_fence", "--days", "2"],
            "calibrate": ["calibrate", "baseline"],
            "sensitivity": ["sensitivity", "sensitivity_morris"]}[command]  # fmt: skip
    line = error_of(invoke(*args, "--out", out))
    assert f"--out: inside the installed package data {data}" in line
    assert not out.exists()
