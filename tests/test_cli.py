"""The command line, end to end: real subprocesses for the exit-code and no-traceback contract."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from borderabm.apps.cli.main import app
from borderabm.scenario import load_scenario
from tests.conftest import REPO, SCENARIOS

runner = CliRunner()
REQUIRED_JSON_KEYS = {"scenario", "seed", "agents", "days", "summary"}


def borderabm(*args, cwd=REPO):
    """Run the installed console script as a user would."""
    exe = os.path.join(os.path.dirname(sys.executable), "borderabm")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_run_json_prints_one_object():
    done = borderabm("run", "closures_oct2025", "--json", "--days", "60", "--set", "triggers=[]")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert set(record) >= REQUIRED_JSON_KEYS
    assert record["scenario"] == "closures_oct2025"
    assert record["days"] == 60
    assert record["seed"] == 1
    # Traders + refugee groups (communities included) + militant cells + patrol units, as the
    # scenario file sets them,
    # + gate travellers (each catchment's people, times people_scale, in agents of people_per_agent).
    settings = load_scenario(SCENARIOS / "closures_oct2025.toml")
    people = settings.population
    scale = settings.scale.people_per_agent / settings.gate_travellers.people_scale
    travellers = sum(round(c.people / scale) for c in settings.gate_travellers.catchments.values())
    assert record["agents"] == (people.traders + people.refugee_agents + people.militants
                                + settings.patrols.units + travellers)  # fmt: skip
    summary = record["summary"]
    assert all(isinstance(v, int | float) for v in summary.values())
    # Five gates closed from day 41: 19 closed days each within 60 days.
    assert summary["crossing_closed_days"] == 5 * 19


def test_run_is_deterministic_and_seed_is_reported():
    first = runner.invoke(app, ["run", "baseline", "--json", "--days", "20", "--seed", "7"])
    second = runner.invoke(app, ["run", "baseline", "--json", "--days", "20", "--seed", "7"])
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    assert json.loads(first.stdout)["seed"] == 7


def test_set_overrides_change_the_run():
    def summary(*extra):
        result = runner.invoke(app, ["run", "baseline", "--json", "--days", "10", *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["summary"]

    assert summary("--set", "fence.coverage=1.0")["fence_share_mean"] == pytest.approx(1.0)
    assert summary("--set", "fence.coverage=0.25")["fence_share_mean"] == pytest.approx(0.25)
    closed = summary(
        "--set", "crossings.Torkham.open=false", "--set", "crossings.Chaman.open=false"
    )
    assert closed["crossing_closed_days"] == 20


def test_run_writes_parquet_and_summary(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["run", "closures_oct2025", "--out", str(out), "--set", "triggers=[]"]
    )
    assert result.exit_code == 0, result.output
    series = pd.read_parquet(out / "timeseries.parquet")
    assert len(series) == 150
    assert series["day"].tolist() == list(range(150))
    assert series.loc[40, "open.Torkham"] == 1 and series.loc[41, "open.Torkham"] == 0
    assert series.loc[90, "open.Torkham"] == 1
    assert {f"fence_share.{s}" for s in ("Khyber", "Chagai")} <= set(series.columns)
    saved = json.loads((out / "summary.json").read_text())
    assert set(saved) >= REQUIRED_JSON_KEYS
    assert saved["summary"]["crossing_closed_days"] == 5 * 49
    assert json.loads((out / "scenario.json").read_text())["name"] == "closures_oct2025"
    assert not list(out.glob(".*tmp"))  # no temporary files left behind
    assert (out / "summary.json").stat().st_mode & 0o044  # readable by others, like any file


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["run", "baseline", "--set", "fence.coverge=1"],
            "fence.coverge: unknown key; did you mean 'coverage'",
        ),
        (["run", "baseline", "--set", "fence.coverage=1.5"], "fence.coverage: 1.5 is out of range"),
        (["run", "baseline", "--set", 'corridor.gates=["Torkam"]'], "did you mean 'Torkham'"),
        (["run", "baseline", "--set", "nonsense"], "--set: 'nonsense' is not of the form"),
        (
            ["run", "baseline", "--days", "0"],
            "borderabm run: --days: Input should be greater than or equal to 1",
        ),
        (
            ["run", "no_such_scenario"],
            "no_such_scenario: not a scenario file or a shipped scenario (allowed: baseline, ",
        ),
    ],
)
def test_bad_input_exits_2_without_traceback(args, expected):
    done = borderabm(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert expected in " ".join(done.stderr.split())


def test_syntax_error_reports_file_line_and_column(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text('name = "x"\n[fence]\ncoverage = 0.5 0.6\n')
    done = borderabm("validate", str(bad))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    message = " ".join(done.stderr.split())
    assert f"{bad}: line 3, column 16: TOML syntax error" in message


def test_validate_mixed_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[patrols]\nstrategy = 'clever'\n")
    done = borderabm("validate", str(SCENARIOS / "baseline.toml"), str(bad))
    assert done.returncode == 2
    assert "ok: " in done.stdout and "baseline" in done.stdout
    assert "patrols.strategy" in done.stderr


def test_unwritable_output_fails_before_running(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = borderabm("run", "baseline", "--out", str(blocker / "sub"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "cannot write output directory" in done.stderr
    assert "metric" not in done.stdout  # nothing was run


def test_scenarios_lists_the_shipped_ones():
    result = runner.invoke(app, ["scenarios"], terminal_width=200)
    assert result.exit_code == 0
    for path in SCENARIOS.glob("*.toml"):
        assert path.stem in result.stdout


def test_version():
    done = borderabm("--version")
    assert done.returncode == 0
    assert done.stdout.strip().startswith("borderabm 0.")


def test_map_writes_a_real_picture(tmp_path):
    from PIL import Image

    out = tmp_path / "world.png"
    result = runner.invoke(app, ["map", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2,244.7 km" in result.stdout
    image = Image.open(out).convert("RGB")
    assert image.size[0] > 1000 and image.size[1] > 700
    colours = image.resize((64, 48)).getcolors(64 * 48)
    assert len(colours) > 200  # shaded terrain, not a blank canvas


def test_human_tables_show_labels_with_units_while_json_and_csv_keep_the_names(tmp_path):
    table = runner.invoke(app, ["run", "baseline", "--days", "3"], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "Formal trade (US$)" in table.stdout and "Border deaths (people)" in table.stdout
    assert "formal_trade_usd" not in table.stdout
    out = tmp_path / "cmp"
    args = [
        "compare",
        "baseline",
        "no_fence",
        "--replicates",
        "2",
        "--days",
        "3",
        "--out",
        str(out),
    ]
    compared = runner.invoke(app, args)
    assert compared.exit_code == 0, compared.output
    assert "Formal trade (US$)" in compared.stdout and "formal_trade_usd" not in compared.stdout
    as_json = json.loads(runner.invoke(app, ["compare", "--sweep", str(out), "--json"]).stdout)
    assert {row["metric"] for row in as_json} >= {"formal_trade_usd", "border_deaths"}
    csv = tmp_path / "summary.csv"
    listed = runner.invoke(app, ["results", str(out), "--csv", str(csv)], terminal_width=250)
    assert listed.exit_code == 0, listed.output
    assert "Formal trade (US$)" in listed.stdout
    assert "formal_trade_usd" in pd.read_csv(csv).columns
