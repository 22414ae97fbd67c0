"""Bad input to sweeps and comparisons found by the bad-input audit of 2026-12-03, and what it gives now.

Each case used to be accepted (exit 0) with a wrong or silently ignored result, or to lose work:
a table written over a results store's manifest, draws overwriting the lever being compared, an
unknown metric or a fixed key in a sweep file, a variant on other dates, run options ignored with
``--sweep``, and a report folder that could not be written found only after every run.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from borderabm.apps.cli.main import app
from borderabm.experiments.store import MANIFEST, ResultsStore
from borderabm.scenario import resolve_scenario_path
from tests.test_bad_input_cli import error_of

runner = CliRunner()
BASELINE = resolve_scenario_path("baseline")

TINY_SWEEP = """name = "tiny"
scenarios = ["baseline"]
replicates = 1
seed = 1
days = 3
{extra}
[design]
kind = "factorial"

[parameters.{key}]
levels = {levels}
"""


def sweep_file(tmp_path, extra: str = "", key: str = '"fence.coverage"', levels: str = "[0.5]"):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SWEEP.format(extra=extra, key=key, levels=levels))
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A finished sweep of one 3-day run."""
    folder = tmp_path_factory.mktemp("tiny")
    out = folder / "store"
    result = runner.invoke(app, ["sweep", str(sweep_file(folder)), "--out", str(out),
                                 "--workers", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_a_csv_is_never_written_over_the_stores_own_files(store, tmp_path):
    manifest = (store / MANIFEST).read_bytes()
    for target in (store / MANIFEST, store / "runs" / "x.csv"):
        line = error_of(runner.invoke(app, ["results", str(store), "--csv", str(target)]))
        assert line.startswith(f"error: {target}: --csv: a file of the results store {store} ")
    assert (store / MANIFEST).read_bytes() == manifest  # the store still reads
    beside = store / "summary.csv"
    result = runner.invoke(app, ["results", str(store), "--csv", str(beside)])
    assert result.exit_code == 0 and beside.read_text().startswith("scenario,")
    assert len(ResultsStore(store).runs()) == 1


def test_draws_may_not_overwrite_the_lever_the_scenarios_differ_in(tmp_path):
    worlds = tmp_path / "worlds.csv"
    worlds.write_text("fence.coverage\n0.5\n0.9\n")
    result = runner.invoke(app, ["compare", "baseline", "no_fence", "--uncertainty", str(worlds),
                                 "--draws", "2", "--days", "3", "--out", str(tmp_path / "o")])  # fmt: skip
    assert error_of(result) == (
        f"error: {worlds}: fence.coverage: drawn across worlds, but the scenarios compared differ "
        "in it (baseline 0.94, no_fence 0.0; allowed: draws of parameters the policies share)"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("extra", "key", "expected"),
    [
        ('metrics = ["attacks", "nosuch"]', '"fence.coverage"', "metrics: unknown metric 'nosuch' "
         "(allowed: "),
        ("", "seed", 'parameters: "seed": the seeds come from the sweep\'s seed and replicates'),
        ("", "horizon_days", 'parameters: "horizon_days": every run lasts the sweep\'s days'),
    ],
)  # fmt: skip
def test_a_sweep_file_names_an_unknown_metric_or_a_key_it_may_not_vary(tmp_path, extra, key,
                                                                        expected):  # fmt: skip
    path = sweep_file(tmp_path, extra, key, "[2, 3]" if key != '"fence.coverage"' else "[0.5]")
    line = error_of(runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "o")]))
    assert line.startswith(f"error: {path}: {expected}")
    assert not (tmp_path / "o").exists()


def test_a_breakdown_metric_is_a_known_metric(tmp_path):
    path = sweep_file(tmp_path, 'metrics = ["attacks", "gate_people.Torkham"]')
    result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "o"),
                                 "--workers", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_variant_may_not_move_the_dates(tmp_path):
    result = runner.invoke(app, ["compare", "baseline", "--variant", "", "--variant",
                                 "start_date=2024-01-01", "--out", str(tmp_path / "o")])  # fmt: skip
    assert error_of(result) == (
        f"error: {BASELINE}: variant 2: start_date: every variant runs the same dates "
        "(allowed: levers and parameters)"
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["baseline", "no_fence"], "SCENARIO_FILES"),
        (["--days", "5"], "--days"),
        (["--replicates", "3", "--seed", "4"], "--replicates, --seed"),
        (["--uncertainty", "x.csv"], "--uncertainty"),
    ],
)
def test_options_that_make_runs_are_refused_with_a_stored_sweep(store, args, named):
    result = runner.invoke(app, ["compare", *args, "--sweep", str(store)])
    assert error_of(result) == (
        f"error: borderabm compare: {named}: not used with --sweep, which compares the stored "
        "runs as they are (allowed: --sweep DIR with --report and --json)"
    )
    assert runner.invoke(app, ["compare", "--sweep", str(store), "--json"]).exit_code == 0


def test_a_report_folder_that_cannot_be_written_is_refused_before_any_run(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    result = runner.invoke(app, ["compare", "baseline", "no_fence", "--days", "3",
                                 "--replicates", "1", "--out", str(tmp_path / "o"),
                                 "--report", str(blocker)])  # fmt: skip
    assert error_of(result).startswith(f"error: {blocker}: cannot write output directory")
    assert not (tmp_path / "o").exists()  # nothing was run
    assert result.stdout == ""  # no table printed either


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("fence.coverage=true", "fence.coverage: a switch (true/false), not a number (got True)"),
        ('fence.coverage="0.5"', "fence.coverage: quoted text, not a number (got '0.5')"),
        ('patrols.units="400"', "patrols.units: quoted text, not a number (got '400')"),
    ],
)
def test_a_switch_or_quoted_text_is_not_taken_for_a_number(item, expected, tmp_path):
    line = error_of(runner.invoke(app, ["run", "baseline", "--days", "2", "--set", item]))
    assert line.startswith(f"error: {BASELINE}: {expected} (allowed: >= 0")
    variant = runner.invoke(app, ["compare", "baseline", "--variant", "", "--variant", item,
                                  "--out", str(tmp_path / "o")])  # fmt: skip
    assert f"variant 2: {expected}" in error_of(variant)
    scenario = tmp_path / "quoted.toml"
    key, value = item.split("=")
    section, field = key.split(".")
    scenario.write_text(f'name = "quoted"\n[{section}]\n{field} = {value}\n')
    assert error_of(runner.invoke(app, ["validate", str(scenario)])).startswith(
        f"error: {scenario}: {expected}"
    )


def test_validate_names_dated_events_after_the_last_day(tmp_path):
    # Not an error (a run with more --days reaches them), but a reader of the file is told.
    late = tmp_path / "late.toml"
    late.write_text(BASELINE.read_text() + '\n[[changes]]\ndate = 2040-01-01\nset = { "fence.coverage" = 0.5 }\n'
                    '\n[crossings.Torkham]\nclosures = [{ start = 500, end = 900, reason = "x" }]\n')  # fmt: skip
    result = runner.invoke(app, ["validate", str(late)])
    assert result.exit_code == 0, result.output
    assert (
        "note: 2 dated event(s) after the last day, 2025-12-31, apply only with more --days: "
        "changes[0] (2040-01-01), crossings.Torkham.closures[0] (2026-05-16)"
    ) in " ".join(result.stdout.split())
    plain = runner.invoke(app, ["validate", str(BASELINE)])
    assert plain.exit_code == 0 and "note:" not in plain.stdout


def test_results_reads_the_manifest_as_sweep_does(store, tmp_path):
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(store, edited)
    manifest = json.loads((edited / MANIFEST).read_text())
    (edited / MANIFEST).write_text(json.dumps({**manifest, "seeds": ["x"]}))
    line = error_of(runner.invoke(app, ["results", str(edited)]))
    assert line.startswith(f"error: {edited / MANIFEST}: ") and "seeds.0" in line


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('\n[[changes]]\nday = 5\nset = {}\n', "changes: changes[0] sets nothing"),
        ('\n[[changes]]\nday = 5\nset = { "fence.coverage" = 0.5 }\n'
         '\n[[changes]]\nday = 5\nset = { "fence.coverage" = 0.7 }\n',
         "changes: changes[1] sets fence.coverage on the day changes[0] sets it"),
        ('\n[conditions]\nactive = ["ceasefire", "ceasefire"]\n',
         "conditions.active: ceasefire listed twice (allowed: each condition once)"),
    ],
)  # fmt: skip
def test_a_scenario_says_which_event_or_condition_is_ambiguous(tmp_path, extra, expected):
    path = tmp_path / "ambiguous.toml"
    path.write_text('name = "ambiguous"\n' + extra)
    assert error_of(runner.invoke(app, ["validate", str(path)])).startswith(
        f"error: {path}: {expected}"
    )


def test_a_scenario_needs_a_name_to_label_its_results():
    line = error_of(runner.invoke(app, ["run", "baseline", "--days", "2", "--set", 'name=""']))
    assert line.startswith(f"error: {BASELINE}: name: ")


def test_an_unknown_key_without_a_close_name_reads_cleanly(tmp_path):
    line = error_of(runner.invoke(app, ["run", "baseline", "--days", "2", "--set", "nosuch.key=1"]))
    assert line.startswith(f"error: {BASELINE}: nosuch: unknown key (allowed: name, description,")
    path = sweep_file(tmp_path, "replicatez = 2")
    line = error_of(runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "o")]))
    assert "replicatez: unknown key; did you mean 'replicates'? (allowed: name," in line
    path.write_text(path.read_text().replace("replicatez = 2", "zzz = 2"))
    line = error_of(runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "o")]))
    assert "zzz: unknown key (allowed: name," in line
