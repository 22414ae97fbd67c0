"""``validate-model`` on every engine: Dask gives the results local processes give."""

from __future__ import annotations

import dask
import pandas as pd
from typer.testing import CliRunner

from borderabm.apps.cli.main import app
from borderabm.experiments.store import ResultsStore

runner = CliRunner()
# Two facts that share an arm, five pairs, five days: 15 short runs, some with series.
FEW = ["--only", "fence_cuts_family_visits", "--only", "fence_draws_breaches", "--replicates", "5",
       "--days", "5"]  # fmt: skip


def validate(tmp_path, name, *engine):
    result = runner.invoke(app, ["validate-model", *FEW, *engine, "--store", str(tmp_path / name),
                                 "--out", str(tmp_path / f"{name}-report")], terminal_width=200)  # fmt: skip
    return result


def test_dask_local_gives_the_same_results_as_local_processes(tmp_path):
    processes = validate(tmp_path, "processes", "--workers", "2")
    on_dask = validate(tmp_path, "dask", "--dask", "local", "--workers", "2")
    for result in (processes, on_dask):
        assert result.exit_code in (0, 1), result.output
        assert "fence_cuts_family_visits" in result.stdout and "Traceback" not in result.output
    assert on_dask.exit_code == processes.exit_code
    assert on_dask.stdout == processes.stdout  # the table: every value, p and verdict
    stored = {name: ResultsStore(tmp_path / name).runs() for name in ("processes", "dask")}
    assert len(stored["dask"]) == 3 * 5
    pd.testing.assert_frame_equal(stored["dask"], stored["processes"])
    report = (tmp_path / "dask-report" / "validation.md").read_text()
    assert "on 2 workers" in report


def test_an_unreachable_scheduler_is_one_error_line_and_finished_runs_are_kept(tmp_path):
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = validate(tmp_path, "store", "--dask", "tcp://127.0.0.1:1")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: --dask tcp://127.0.0.1:1: cannot use the Dask scheduler: ")
    assert lines[0].endswith(f"(finished runs are kept in {tmp_path / 'store'})")
    assert ResultsStore(tmp_path / "store").read_manifest().finished is None
    assert not (tmp_path / "store-report" / "validation.md").exists()


def test_validate_model_offers_the_same_dask_option_as_sweep():
    import typer.main

    commands = typer.main.get_command(app).commands

    def dask_option(command: str):
        return next(p for p in commands[command].params if p.name == "dask")

    ours, sweeps = dask_option("validate-model"), dask_option("sweep")
    assert (ours.opts, ours.help, ours.default) == (sweeps.opts, sweeps.help, sweeps.default)
    assert "'local' for a LocalCluster" in ours.help
