"""Each class of bad input that used to crash the command line, and what it gives now.

The contract: exit 0, or exit 2 with exactly one line ``error: SOURCE: key: what is wrong`` on
stderr; no traceback, no hang, no write outside the chosen folder, strict JSON.
"""

from __future__ import annotations

import errno
import json
import math
import re
import socket
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.cli import app
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
    monkeypatch.setattr("borderabm.cli.shipped_scenarios_dir", lambda: folder)
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


def test_an_output_folder_that_is_a_file_is_an_error_line(tmp_path):
    blocker = write(tmp_path / "file", "x")
    line = error_of(invoke("sweep", sweep_file(tmp_path), "--out", blocker / "sub", "--workers",
                           "1"))  # fmt: skip
    assert "cannot write" in line and "resume" in line


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
    [(["ui", "--port", "-1"], "error: borderabm ui --port: "),
     (["ui", "--port", "70000"], "(allowed: >= 1 and <= 65535)"),
     (["run", "baseline", "--days", "abc"], "error: borderabm run --days: "),
     (["run", "baseline", "--bogus"], "error: borderabm run --bogus: no such option (allowed: "),
     (["run"], "error: borderabm run SCENARIO: missing argument"),
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
    assert "error: borderabm compare --seed: " in error_of(invoke(*args))


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
